// PCE, the person count error: HumanSD utils/metrics/pose_metrics.py (HND), evaluation.md §6.
#pragma once

#include <string>
#include <vector>

#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

// Which images PCE averages over.
//   every_image (default): every image of the ground truth once.
//   reference_index_shift: the reference's loop over image indices 0 ... n-1, where n is the number of
//     images with at least one counted GT person and an image's index is its position in the GT's "images"
//     list (the reference's image id, the batch position). An image without GT below n counts with 0 GT;
//     the last images are skipped.
enum class PceLoop { every_image, reference_index_shift };

std::string to_string(PceLoop loop);

// Mean over images of |#GT persons - #detections|. A GT person counts when at least one joint has x > 0;
// every detection counts (any score, any category). Lower is better. NaN for the reference loop when no image
// has GT (the reference's np.mean of an empty list).
double person_count_error(const CocoKeypointGroundTruth& gt,
                          const std::vector<CocoKeypointDetection>& detections,
                          PceLoop loop = PceLoop::every_image);

}  // namespace stablepose
