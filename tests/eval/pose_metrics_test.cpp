// Aggregation of AP / CAP / PCE (evaluation.md §7): the reference protocol's mean over batches of 4 with
// drop_last against per-batch xtcocotools / pycocotools runs, and the dataset level against one evaluation.
#include <gtest/gtest.h>

#include "eval/coco_golden.h"
#include "stablepose/error.h"
#include "stablepose/eval/coco_keypoint_eval.h"
#include "stablepose/eval/pose_metrics.h"

namespace stablepose {
namespace {

struct Mode {
    const char* name;
    CocoEvalOptions options;
};

TEST(CocoAggregation, BatchMeanMatchesPerBatchReference) {
    const auto& expected = testing::coco_golden()["batches"]["reference_like"];
    const auto gt = testing::coco_case_gt("reference_like");
    const auto dt = testing::coco_case_dt("reference_like");
    const Mode modes[] = {
        {"oks_xtcocotools", {CocoConvention::xtcocotools, KeypointMetric::oks, CapForm::corrected}},
        {"oks_pycocotools", {CocoConvention::pycocotools, KeypointMetric::oks, CapForm::corrected}},
        {"cap_xtcocotools", {CocoConvention::xtcocotools, KeypointMetric::cap, CapForm::corrected}},
        {"cap_xtcocotools_reference", {CocoConvention::xtcocotools, KeypointMetric::cap, CapForm::reference}},
        {"cap_pycocotools_reference",
         {CocoConvention::pycocotools, KeypointMetric::cap, CapForm::reference}}};
    double worst = 0;
    for (const auto& mode : modes) {
        for (const auto loop : {PceLoop::every_image, PceLoop::reference_index_shift}) {
            PoseMetricsOptions options{mode.options, loop, Aggregation::batch_mean,
                                       expected["batch_size"].get<int>()};
            const auto m = evaluate_pose_metrics(gt, dt, options);
            EXPECT_EQ(m.batches, expected["batches"].get<int64_t>());
            EXPECT_EQ(m.images - m.images_evaluated, expected["images_dropped"].get<int64_t>());
            EXPECT_EQ(m.batches_without_detections, expected["batches_without_detections"].get<int64_t>());
            EXPECT_EQ(m.batches_ap_minus_one,
                      expected["modes"][mode.name]["batches_ap_minus_one"].get<int64_t>());
            const auto& want = expected["modes"][mode.name]["stats"];
            for (size_t s = 0; s < 10; ++s) {
                const double diff = std::abs(m.stats[s] - want[s].get<double>());
                EXPECT_LE(diff, 1e-12) << mode.name << " stat " << s;
                worst = std::max(worst, diff);
            }
            const double pce_diff =
                testing::number_diff(m.pce, testing::golden_number(expected["pce"][to_string(loop)]));
            EXPECT_LE(pce_diff, 1e-12) << to_string(loop);
            worst = std::max(worst, pce_diff);
        }
    }
    EXPECT_GT(expected["images_dropped"].get<int>(), 0);
    EXPECT_GT(expected["batches_without_detections"].get<int>(), 0);
    std::printf("batch mean: max |diff| %.3g\n", worst);
}

TEST(CocoAggregation, DatasetLevelIsOneEvaluation) {
    const auto gt = testing::coco_case_gt("reference_like");
    const auto dt = testing::coco_case_dt("reference_like");
    const auto m = evaluate_pose_metrics(gt, dt);
    const auto& want = testing::coco_golden()["cases"]["reference_like"];
    for (size_t s = 0; s < 10; ++s)
        EXPECT_LE(std::abs(m.stats[s] - want["modes"]["oks_xtcocotools"]["stats"][s].get<double>()), 1e-12);
    EXPECT_LE(std::abs(m.pce - want["pce"]["every_image"].get<double>()), 1e-12);
    EXPECT_EQ(m.images, m.images_evaluated);
    // The two aggregations differ on this set: the per-batch mean is not the dataset AP.
    PoseMetricsOptions batched;
    batched.aggregation = Aggregation::batch_mean;
    EXPECT_GT(std::abs(evaluate_pose_metrics(gt, dt, batched).stats[0] - m.stats[0]), 1e-3);
}

TEST(CocoAggregation, TooFewImagesForOneBatchIsAnError) {
    CocoKeypointGroundTruth gt;
    gt.image_ids = {1, 2, 3};
    gt.category_ids = {1};
    PoseMetricsOptions options;
    options.aggregation = Aggregation::batch_mean;
    EXPECT_THROW(evaluate_pose_metrics(gt, {}, options), Error);
}

TEST(CocoAggregation, JsonReportStatesEverySetting) {
    const auto gt = testing::coco_case_gt("reference_like");
    const auto dt = testing::coco_case_dt("reference_like");
    PoseMetricsOptions options;
    options.coco.metric = KeypointMetric::cap;
    options.aggregation = Aggregation::batch_mean;
    const auto j = to_json(evaluate_pose_metrics(gt, dt, options), options);
    EXPECT_EQ(j["metric"], "cap");
    EXPECT_EQ(j["cap_form"], "corrected");
    EXPECT_EQ(j["convention"], "xtcocotools");
    EXPECT_EQ(j["aggregation"], "batch-mean");
    EXPECT_EQ(j["batch_size"], 4);
    EXPECT_EQ(j["stats"].size(), 10u);
    EXPECT_EQ(j["stat_names"].size(), 10u);
    EXPECT_TRUE(j.contains("pce") && j.contains("batches_without_detections"));
}

}  // namespace
}  // namespace stablepose
