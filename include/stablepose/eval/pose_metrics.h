// The pose-accuracy metrics of a sample set (AP or CAP stats, PCE) with the aggregation of evaluation.md §7:
// one evaluation over the whole set, or the reference protocol's mean over consecutive batches.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/coco_keypoints.h"
#include "stablepose/eval/person_count_error.h"

namespace stablepose {

//   dataset (default): one COCO evaluation over all images, PCE over all images.
//   batch_mean: Stable-Pose's eval_pose.py (batch 4, drop_last; HumanSD uses 10): consecutive batches of the
//     GT's "images" list, incomplete last batch dropped, each evaluated alone with its image ids replaced by
//     the batch positions 0..B-1 and its detections numbered 1..n; the mean of the per-batch values. A batch
//     with no detection (where the reference's loadRes fails) is defined to have all ten stats 0 (§3).
enum class Aggregation { dataset, batch_mean };

std::string to_string(Aggregation aggregation);
Aggregation parse_aggregation(const std::string& name);  // "dataset" | "batch-mean"

struct PoseMetricsOptions {
    CocoEvalOptions coco;  // convention, metric (OKS or CAP), CAP form
    PceLoop pce_loop = PceLoop::every_image;
    Aggregation aggregation = Aggregation::dataset;
    int batch_size = 4;  // batch_mean only
};

struct PoseMetrics {
    std::array<double, 10>
        stats{};     // AP/AR (OKS) or CAP stats, COCO order; the batch mean in batch_mean mode
    double pce = 0;  // NaN when undefined (reference loop without GT)
    int64_t images = 0, images_evaluated = 0, gt_annotations = 0, detections = 0;
    int64_t detections_no_positive_score = 0, detections_other_category = 0;
    // batch_mean only
    int64_t batches = 0;
    int64_t batches_ap_minus_one = 0;        // batches whose stats[0] is -1 (no counted GT), kept in the mean
    int64_t batches_without_detections = 0;  // stats defined as 0
};

PoseMetrics evaluate_pose_metrics(const CocoKeypointGroundTruth& gt,
                                  const std::vector<CocoKeypointDetection>& detections,
                                  const PoseMetricsOptions& options = {});

// {"metric", "convention", "cap_form", "aggregation", "batch_size", "pce_loop", "stats", "stat_names", "pce",
//  counts...}: every setting that produced the numbers. NaN values are written as null.
nlohmann::json to_json(const PoseMetrics& metrics, const PoseMetricsOptions& options);

}  // namespace stablepose
