// COCO keypoint evaluation against xtcocotools' and pycocotools' COCOeval
// (tests/reference/make_coco_golden.py): all ten stats and every precision / recall entry to 1e-12, OKS and
// CAP, on every generated fixture.
#include <gtest/gtest.h>

#include "eval/coco_golden.h"
#include "stablepose/error.h"
#include "stablepose/eval/coco_keypoint_eval.h"

namespace stablepose {
namespace {

using testing::coco_golden;

struct Mode {
    const char* name;
    CocoEvalOptions options;
};

const std::vector<Mode>& modes() {
    static const std::vector<Mode> list = {
        {"oks_xtcocotools", {CocoConvention::xtcocotools, KeypointMetric::oks, CapForm::corrected}},
        {"oks_pycocotools", {CocoConvention::pycocotools, KeypointMetric::oks, CapForm::corrected}},
        {"cap_xtcocotools", {CocoConvention::xtcocotools, KeypointMetric::cap, CapForm::corrected}},
        {"cap_xtcocotools_reference", {CocoConvention::xtcocotools, KeypointMetric::cap, CapForm::reference}},
        {"cap_pycocotools", {CocoConvention::pycocotools, KeypointMetric::cap, CapForm::corrected}},
        {"cap_pycocotools_reference",
         {CocoConvention::pycocotools, KeypointMetric::cap, CapForm::reference}}};
    return list;
}

double max_diff(const std::vector<double>& a, const nlohmann::json& expected) {
    EXPECT_EQ(a.size(), expected.size());
    double worst = 0;
    for (size_t i = 0; i < std::min(a.size(), expected.size()); ++i)
        worst = std::max(worst, std::abs(a[i] - expected[i].get<double>()));
    return worst;
}

// One mode over every golden case; returns how many cases were compared numerically.
int check_mode(const Mode& mode) {
    int compared = 0;
    double worst_stats = 0, worst_arrays = 0;
    for (const auto& [name, golden_case] : coco_golden()["cases"].items()) {
        const auto gt = testing::coco_case_gt(name);
        const auto dt = testing::coco_case_dt(name);
        const auto& expected = golden_case["modes"][mode.name];
        if (expected.contains("error")) {
            try {
                evaluate_coco_keypoints(gt, dt, mode.options);
                ADD_FAILURE() << name << " " << mode.name << ": the reference raises (" << expected["error"]
                              << ") but the evaluation succeeded";
            } catch (const Error& e) {
                EXPECT_NE(std::string(e.what()).find("no labelled joint"), std::string::npos) << e.what();
            }
            continue;
        }
        const auto result = evaluate_coco_keypoints(gt, dt, mode.options);
        const std::vector<double> stats(result.stats.begin(), result.stats.end());
        const double stats_diff = max_diff(stats, expected["stats"]);
        const double arrays_diff = std::max(max_diff(result.accumulation.precision, expected["precision"]),
                                            max_diff(result.accumulation.recall, expected["recall"]));
        EXPECT_LE(stats_diff, 1e-12) << name << " " << mode.name;
        EXPECT_LE(arrays_diff, 1e-12) << name << " " << mode.name;
        worst_stats = std::max(worst_stats, stats_diff);
        worst_arrays = std::max(worst_arrays, arrays_diff);
        ++compared;
    }
    std::printf("%s: %d cases, max |stats diff| %.3g, max |precision/recall diff| %.3g\n", mode.name,
                compared, worst_stats, worst_arrays);
    return compared;
}

TEST(CocoEval, OksMatchesXtcocotools) { EXPECT_GE(check_mode(modes()[0]), 10); }
TEST(CocoEval, OksMatchesPycocotools) { EXPECT_GE(check_mode(modes()[1]), 10); }
TEST(CocoEval, CapMatchesTranscriptionOnXtcocotools) { EXPECT_GE(check_mode(modes()[2]), 10); }
TEST(CocoEval, CapReferenceFormMatchesTranscriptionOnXtcocotools) { EXPECT_GE(check_mode(modes()[3]), 5); }
TEST(CocoEval, CapMatchesTranscriptionOnPycocotools) { EXPECT_GE(check_mode(modes()[4]), 10); }
TEST(CocoEval, CapReferenceFormMatchesTranscriptionOnPycocotools) { EXPECT_GE(check_mode(modes()[5]), 5); }

TEST(CocoEval, GoldenCasesExerciseTheConventions) {
    // The fixtures must tell the conventions apart, or the two parity tests would prove little.
    const auto& edge = coco_golden()["cases"]["edge"]["modes"];
    EXPECT_NE(edge["oks_xtcocotools"]["stats"], edge["oks_pycocotools"]["stats"]);
    const auto& ignored = coco_golden()["cases"]["all_ignored"]["modes"]["oks_xtcocotools"]["stats"];
    for (const auto& v : ignored) EXPECT_EQ(v.get<double>(), -1.0);
}

// Small hand-built cases whose answers follow from the rules alone.
CocoKeypointGroundTruth one_person(int64_t ann_id) {
    CocoKeypointGroundTruth gt;
    gt.image_ids = {7};
    gt.category_ids = {1};
    CocoKeypointAnnotation a;
    a.id = ann_id;
    a.image_id = 7;
    for (int j = 0; j < kCocoJoints; ++j) {
        a.keypoints[3 * j] = 100 + 7 * j;
        a.keypoints[3 * j + 1] = 200 - 5 * j;
        a.keypoints[3 * j + 2] = 2;
    }
    a.bbox = {100, 120, 112, 80};
    a.area = 5000;
    a.num_keypoints = 17;
    gt.annotations = {a};
    return gt;
}

CocoKeypointDetection exact_detection(const CocoKeypointGroundTruth& gt, double joint_score) {
    CocoKeypointDetection d;
    d.id = 1;
    d.image_id = 7;
    d.keypoints = gt.annotations[0].keypoints;
    for (int j = 0; j < kCocoJoints; ++j) d.keypoints[3 * j + 2] = joint_score;
    d.score = 0.9;
    d.area = keypoint_extent_area(d.keypoints);
    return d;
}

TEST(CocoEval, ExactDetectionScoresOne) {
    const auto gt = one_person(3);
    const auto r = evaluate_coco_keypoints(gt, {exact_detection(gt, 0.5)});
    EXPECT_DOUBLE_EQ(r.stats[0], 1.0);
    EXPECT_DOUBLE_EQ(r.stats[5], 1.0);
    EXPECT_DOUBLE_EQ(r.stats[3], 1.0);  // area 5000 is medium
    EXPECT_EQ(r.stats[4], -1.0);        // no large GT
}

TEST(CocoEval, AnnotationIdZeroMatchesOnlyUnderXtcocotools) {
    const auto gt = one_person(0);
    const auto dt = exact_detection(gt, 0.5);
    EXPECT_DOUBLE_EQ(evaluate_coco_keypoints(gt, {dt}).stats[0], 1.0);
    const auto py = evaluate_coco_keypoints(gt, {dt}, {CocoConvention::pycocotools});
    EXPECT_DOUBLE_EQ(py.stats[0], 0.0);  // dtm == 0 reads as "unmatched": a false positive
}

TEST(CocoEval, DetectionWithoutPositiveJointIsDroppedOnlyUnderXtcocotools) {
    const auto gt = one_person(3);
    const auto dt = exact_detection(gt, 0.0);
    const auto xt = evaluate_coco_keypoints(gt, {dt});
    EXPECT_EQ(xt.detections_no_positive_score, 1);
    EXPECT_DOUBLE_EQ(xt.stats[0], 0.0);
    EXPECT_DOUBLE_EQ(evaluate_coco_keypoints(gt, {dt}, {CocoConvention::pycocotools}).stats[0], 1.0);
}

TEST(CocoEval, DetectionOnUnlistedImageIsAnError) {
    const auto gt = one_person(3);
    auto dt = exact_detection(gt, 0.5);
    dt.image_id = 8;
    EXPECT_THROW(evaluate_coco_keypoints(gt, {dt}), Error);
}

TEST(CocoEval, PycocotoolsNeedsNumKeypoints) {
    auto gt = one_person(3);
    gt.annotations[0].num_keypoints.reset();
    const auto dt = exact_detection(gt, 0.5);
    EXPECT_NO_THROW(evaluate_coco_keypoints(gt, {dt}));
    try {
        evaluate_coco_keypoints(gt, {dt}, {CocoConvention::pycocotools});
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("num_keypoints"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace stablepose
