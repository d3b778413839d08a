// Per-image matching of detections to GT for one category and one area range: xtcocotools
// COCOeval.evaluateImg (pycocotools' under CocoConvention::pycocotools), evaluation.md §4.4.
#pragma once

#include <optional>
#include <vector>

#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

// What evaluate() holds for one (image, category) before the area ranges: the inputs of evaluateImg.
struct ImageCategoryInput {
    std::vector<const CocoKeypointAnnotation*> gts;  // [G] file order
    std::vector<bool> gt_ignore;                     // [G] crowd, or unlabelled (the convention's rule)
    std::vector<const CocoKeypointDetection*> dts;   // [D] stable-sorted by descending score, at most maxDets
    std::vector<double> similarity;                  // [D x G] row-major (OKS or CAP); empty if G or D is 0
};

// evaluateImg's record: detections in score order, GT with ignored ones last.
struct ImageEvaluation {
    std::vector<double> scores;       // [D]
    std::vector<int64_t> dt_matches;  // [T x D] id of the matched GT, or unmatched_id(convention)
    std::vector<bool> dt_ignore;      // [T x D]
    std::vector<bool> gt_ignore;      // [G] after the area range, in the sorted GT order
};

// Greedy matching per threshold (§4.4): each detection in score order takes the eligible GT with the highest
// similarity >= min(t, 1 - 1e-10), ties going to the later GT, crowd GT reusable, a non-ignored match never
// given up for an ignored one; unmatched detections outside the area range are ignored. std::nullopt when the
// image has neither GT nor detections (evaluateImg's None).
std::optional<ImageEvaluation> evaluate_image(const ImageCategoryInput& input, const AreaRange& range,
                                              CocoConvention convention);

}  // namespace stablepose
