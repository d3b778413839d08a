// Reading standard COCO keypoint files: ground truth as xtcocotools' COCO(file) loads it, results as
// COCO.loadRes(file) completes them (ids 1..N, area from the keypoints or from "bbox"), evaluation.md §3.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

// {"images": [{"id"}...], "annotations": [{"id", "image_id", "category_id", "keypoints" (51 numbers), "bbox",
// "area", "iscrowd"?, "num_keypoints"?}...], "categories": [{"id"}...]}. Other keys are ignored, as the COCO
// API ignores them. Fails (stablepose::Error) on a missing file, malformed JSON, a missing or mistyped field,
// a keypoints array that is not 17 x 3, duplicate ids, and annotations naming an unknown image or category.
CocoKeypointGroundTruth read_coco_keypoint_ground_truth(const std::filesystem::path& path);
CocoKeypointGroundTruth parse_coco_keypoint_ground_truth(const nlohmann::json& doc,
                                                         const std::string& source);

// [{"image_id", "category_id", "keypoints" (51 numbers), "score"}...]. As loadRes: ids 1..N in file order;
// the area is that of the box around all 17 joints, unless the first result has a non-empty "bbox", in which
// case every result's area is bbox width x height. Results that are captions or segmentations are refused.
std::vector<CocoKeypointDetection> read_coco_keypoint_results(const std::filesystem::path& path);
std::vector<CocoKeypointDetection> parse_coco_keypoint_results(const nlohmann::json& doc,
                                                               const std::string& source);

}  // namespace stablepose
