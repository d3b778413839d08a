// CAP's weighted pose cosine similarity against the Python transcription of evaluation.md §5
// (tests/reference/make_coco_golden.py cap_similarity), both forms, including the degenerate cases.
#include <cmath>

#include <gtest/gtest.h>

#include "eval/coco_golden.h"
#include "stablepose/error.h"
#include "stablepose/eval/pose_cosine_similarity.h"

namespace stablepose {
namespace {

CocoKeypoints keypoints_of(const nlohmann::json& values) {
    CocoKeypoints kp{};
    for (size_t i = 0; i < kp.size(); ++i) kp[i] = values.at(i).get<double>();
    return kp;
}

TEST(CapSimilarity, MatchesTranscriptionOnGoldenPairs) {
    const auto& pairs = testing::coco_golden()["cap_pairs"];
    ASSERT_GE(pairs.size(), 100u);
    int errors = 0, undefined = 0;
    double worst = 0;
    for (size_t i = 0; i < pairs.size(); ++i) {
        CocoKeypointAnnotation gt;
        gt.keypoints = keypoints_of(pairs[i]["gt"]);
        const auto dt = keypoints_of(pairs[i]["dt"]);
        for (const auto& [form, name] :
             {std::pair{CapForm::corrected, "corrected"}, {CapForm::reference, "reference"}}) {
            const auto& expected = pairs[i][name];
            if (expected == "error") {
                EXPECT_THROW(pose_cosine_similarity(dt, gt, form), Error) << "pair " << i;
                ++errors;
                continue;
            }
            const double want = testing::golden_number(expected);
            const double got = pose_cosine_similarity(dt, gt, form);
            undefined += !std::isfinite(want);
            const double diff = testing::number_diff(got, want);
            EXPECT_LE(diff, 1e-12) << "pair " << i << " " << name << ": " << got << " vs " << want;
            worst = std::max(worst, diff);
        }
    }
    EXPECT_GT(errors, 0);     // GT without labelled joint, reference form
    EXPECT_GT(undefined, 0);  // NaN (reference) and -inf (corrected) cases
    std::printf("CAP similarity: %zu pairs, max |diff| %.3g\n", pairs.size(), worst);
}

CocoKeypointAnnotation labelled(const CocoKeypoints& kp) {
    CocoKeypointAnnotation gt;
    gt.keypoints = kp;
    for (int j = 0; j < kCocoJoints; ++j) gt.keypoints[3 * j + 2] = 2;
    return gt;
}

CocoKeypoints spread_pose(double scale_x, double scale_y) {
    CocoKeypoints kp{};
    for (int j = 0; j < kCocoJoints; ++j) {
        kp[3 * j] = 50 + scale_x * ((j * 7) % 17);
        kp[3 * j + 1] = 80 + scale_y * ((j * 5) % 17);
        kp[3 * j + 2] = 1;
    }
    return kp;
}

TEST(CapSimilarity, ScaleInvariantButNotShiftInvariant) {
    // Min-max normalisation removes a common scale; the division by per-joint sigmas happens first, so a
    // shift of the whole pose (x + c becomes x / sigma + c / sigma) changes the similarity.
    const auto gt = labelled(spread_pose(3, 4));
    auto scaled = spread_pose(3, 4);
    for (int j = 0; j < kCocoJoints; ++j) {
        scaled[3 * j] *= 2.5;
        scaled[3 * j + 1] *= 2.5;
    }
    EXPECT_NEAR(pose_cosine_similarity(scaled, gt, CapForm::corrected), 1.0, 1e-12);
    auto shifted = spread_pose(3, 4);
    for (int j = 0; j < kCocoJoints; ++j) shifted[3 * j] += 40;
    EXPECT_LT(pose_cosine_similarity(shifted, gt, CapForm::corrected), 1.0 - 1e-3);
}

TEST(CapSimilarity, ReferenceFormIgnoresTheDetectionsYShape) {
    // "y := x": the detection's y coordinates only enter through the norm of their min-max normalised vector.
    // Permuting the detection's y / sigma values over the joints keeps that norm, so the reference form does
    // not see it, while the corrected form does.
    const auto gt = labelled(spread_pose(3, 4));
    auto a = spread_pose(3, 4), b = spread_pose(3, 4);
    for (int j = 0; j < kCocoJoints; ++j) {
        const int from = kCocoJoints - 1 - j;
        b[3 * j + 1] = kCocoSigmas[j] * (a[3 * from + 1] / kCocoSigmas[from]);
    }
    EXPECT_NEAR(pose_cosine_similarity(a, gt, CapForm::reference),
                pose_cosine_similarity(b, gt, CapForm::reference), 1e-12);
    EXPECT_GT(pose_cosine_similarity(a, gt, CapForm::corrected),
              pose_cosine_similarity(b, gt, CapForm::corrected) + 0.05);
}

TEST(CapSimilarity, SingleLabelledJointIsUndefined) {
    auto gt = labelled(spread_pose(3, 4));
    for (int j = 1; j < kCocoJoints; ++j) gt.keypoints[3 * j + 2] = 0;
    const auto dt = spread_pose(3, 4);
    EXPECT_EQ(pose_cosine_similarity(dt, gt, CapForm::corrected), -INFINITY);
    EXPECT_TRUE(std::isnan(pose_cosine_similarity(dt, gt, CapForm::reference)));
}

TEST(CapSimilarity, NoLabelledJointFailsOnlyInReferenceForm) {
    auto gt = labelled(spread_pose(3, 4));
    for (int j = 0; j < kCocoJoints; ++j) gt.keypoints[3 * j + 2] = 0;
    const auto dt = spread_pose(3, 4);
    EXPECT_EQ(pose_cosine_similarity(dt, gt, CapForm::corrected), -INFINITY);
    EXPECT_THROW(pose_cosine_similarity(dt, gt, CapForm::reference), Error);
}

}  // namespace
}  // namespace stablepose
