// CAP's pose similarity: HumanSD utils/metrics/coco_similarity.py computeSimilarity, evaluation.md §5.
#pragma once

#include "stablepose/eval/coco_eval_params.h"
#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

// The "weightedCosineSimilarity" strategy: over the joints with GT v > 0, coordinates divided by their
// sigma, each axis of each pose min-max normalised and then L2-normalised; s = g.d / (|g| |d|) with
// g = [xg, yg] and d = [xd, yd] ([2n] each for n selected joints).
// - CapForm::corrected: yd from the detection's y. An undefined similarity (one labelled joint, or an axis
//   with zero range: NaN) and a GT without labelled joint give -infinity, which matches nothing.
// - CapForm::reference: yd := (normalised xd) / |min-max normalised yd|, as the published code; NaN stays
//   NaN (the matching then takes it as a match, §5.6). A GT with no labelled joint makes the reference
//   raise (np.max of an empty array): this throws stablepose::Error.
double pose_cosine_similarity(const CocoKeypoints& detection, const CocoKeypointAnnotation& gt, CapForm form);

}  // namespace stablepose
