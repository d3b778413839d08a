// Accumulation of the per-image records into precision/recall and the ten keypoint summary stats: xtcocotools
// COCOeval.accumulate and summarize (_summarizeKps), evaluation.md §4.5-§4.6.
#pragma once

#include <array>
#include <optional>
#include <vector>

#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/coco_image_evaluation.h"

namespace stablepose {

struct CocoAccumulation {
    int thresholds = 0, recall_points = 0, categories = 0, area_ranges = 0;  // T, R, K, A
    std::vector<double> precision;  // [T, R, K, A] C order (COCOeval's [T, R, K, A, M] with M = 1); -1: no GT
    std::vector<double> recall;     // [T, K, A]; -1: no GT
};

// records: [K, A, I] C order, the evalImgs list of evaluate() (categories sorted, the three area ranges,
// images sorted by id). For each (k, a): the detections of all images, stable-sorted by descending score;
// tp/fp cumulated per threshold; recall = tp / (non-ignored GT); precision made monotone from the right and
// read at the first index whose recall reaches each of the 101 recall points (0 beyond the last detection).
CocoAccumulation accumulate(const std::vector<std::optional<ImageEvaluation>>& records, int categories,
                            int images, CocoConvention convention);

// The ten stats in COCO order: AP, AP@.5, AP@.75, AP medium, AP large, AR, AR@.5, AR@.75, AR medium, AR
// large. Each is the mean of the entries > -1 of its slice (thresholds x recall points x categories for AP),
// or -1.
std::array<double, 10> summarize(const CocoAccumulation& accumulation);

}  // namespace stablepose
