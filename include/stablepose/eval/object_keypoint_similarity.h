// Object keypoint similarity between one detection and one GT person: xtcocotools COCOeval.computeOks with
// use_area=True, the same as pycocotools' (evaluation.md §4.2).
#pragma once

#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

// OKS in [0, 1]. With k1 > 0 labelled GT joints (v > 0): mean over those joints of exp(-e_i), where
// e_i = (dx_i^2 + dy_i^2) / (2 sigma_i)^2 / (area + eps) / 2. With none: the distance of each detected joint
// to the GT box grown by one box size on every side, averaged over all 17 joints. The detection's joint
// scores are unused.
double object_keypoint_similarity(const CocoKeypoints& detection, const CocoKeypointAnnotation& gt);

}  // namespace stablepose
