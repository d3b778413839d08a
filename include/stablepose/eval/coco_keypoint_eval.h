// COCO keypoint evaluation end to end: xtcocotools COCOeval(gt, dt, 'keypoints') evaluate / accumulate /
// summarize (pycocotools' with CocoConvention::pycocotools), OKS or CAP as the similarity (evaluation.md
// §4-§5). Hand-written: there is no C++ COCO evaluator to build on.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "stablepose/eval/coco_accumulate.h"
#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

struct CocoKeypointEvaluation {
    std::array<double, 10> stats{};  // COCO order (coco_keypoint_stat_names()); -1 where no GT counts
    CocoAccumulation accumulation;   // precision [T, R, K, A] and recall [T, K, A]
    int64_t images = 0;              // GT images (all are evaluated)
    int64_t categories = 0;
    int64_t gt_annotations = 0;
    int64_t gt_ignored = 0;            // crowd or unlabelled under the convention (before area ranges)
    int64_t detections = 0;            // in the results
    int64_t detections_evaluated = 0;  // after the drops below, before the per-image cut to maxDets
    int64_t detections_no_positive_score = 0;  // dropped by xtcocotools (no joint score > 0)
    int64_t detections_other_category = 0;     // category not in the GT (the COCO API skips them)
};

// Evaluates `detections` against `gt`. The images are the GT's (sorted by id), the categories the GT's
// (sorted); a detection on an image the GT does not list is an error (loadRes asserts the same). Under
// CocoConvention::pycocotools every GT annotation needs num_keypoints.
CocoKeypointEvaluation evaluate_coco_keypoints(const CocoKeypointGroundTruth& gt,
                                               const std::vector<CocoKeypointDetection>& detections,
                                               const CocoEvalOptions& options = {});

}  // namespace stablepose
