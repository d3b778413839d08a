// PCE (evaluation.md §6) against the Python transcription on every golden case, both image loops, and a
// hand-counted example of the reference's index shift.
#include <cmath>

#include <gtest/gtest.h>

#include "eval/coco_golden.h"
#include "stablepose/eval/person_count_error.h"

namespace stablepose {
namespace {

TEST(Pce, MatchesTranscriptionOnGoldenCases) {
    int compared = 0;
    double worst = 0;
    for (const auto& [name, golden_case] : testing::coco_golden()["cases"].items()) {
        const auto gt = testing::coco_case_gt(name);
        const auto dt = testing::coco_case_dt(name);
        for (const auto loop : {PceLoop::every_image, PceLoop::reference_index_shift}) {
            const double want = testing::golden_number(golden_case["pce"][to_string(loop)]);
            const double got = person_count_error(gt, dt, loop);
            const double diff = testing::number_diff(got, want);
            EXPECT_LE(diff, 1e-12) << name << " " << to_string(loop) << ": " << got << " vs " << want;
            worst = std::max(worst, diff);
            ++compared;
        }
    }
    EXPECT_GE(compared, 20);
    std::printf("PCE: %d values, max |diff| %.3g\n", compared, worst);
}

CocoKeypointAnnotation person_on(int64_t image, bool any_positive_x) {
    CocoKeypointAnnotation a;
    a.image_id = image;
    for (int j = 0; j < kCocoJoints; ++j) a.keypoints[3 * j] = any_positive_x && j == 3 ? 12.0 : -1.0;
    return a;
}

TEST(Pce, ReferenceLoopShiftsOverImagesWithoutGt) {
    // Images (by position) 0: 2 GT, 1: none, 2: 1 GT + one GT without x > 0 (not counted); detections 0: 1,
    // 1: 3, 2: 0. Every image: (|2-1| + |0-3| + |1-0|) / 3. Reference: n = 2 images with GT, so positions 0
    // and 1 only: (|2-1| + |0-3|) / 2.
    CocoKeypointGroundTruth gt;
    gt.image_ids = {10, 11, 12};
    gt.category_ids = {1};
    gt.annotations = {person_on(10, true), person_on(10, true), person_on(12, true), person_on(12, false)};
    std::vector<CocoKeypointDetection> dt(4);
    dt[0].image_id = 10;
    dt[1].image_id = dt[2].image_id = dt[3].image_id = 11;
    EXPECT_DOUBLE_EQ(person_count_error(gt, dt), 5.0 / 3.0);
    EXPECT_DOUBLE_EQ(person_count_error(gt, dt, PceLoop::reference_index_shift), 2.0);
    gt.annotations.clear();
    EXPECT_TRUE(std::isnan(person_count_error(gt, dt, PceLoop::reference_index_shift)));
    EXPECT_DOUBLE_EQ(person_count_error(gt, dt), 4.0 / 3.0);
}

}  // namespace
}  // namespace stablepose
