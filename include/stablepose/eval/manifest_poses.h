// Ground truth and detections of a sample set (a `stablepose sample` manifest), as COCO keypoint records
// (evaluation.md §3): image id = the manifest line (0-based); GT person s of image i has id i * 10 + s.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "stablepose/eval/coco_keypoints.h"
#include "stablepose/eval/image_set.h"
#include "stablepose/eval/pose_detector.h"

namespace stablepose {

// How the GT box and area are taken (evaluation.md §3): over the labelled joints (clean, default), or over
// all 17 entries including the (-1, -1) placeholders (the reference quirk, which inflates box and area).
enum class GtBoxMode { kLabelledJoints, kReferenceAllEntries };

struct ManifestPoses {
    ImageSet images;                  // the manifest's images, in line order
    CocoKeypointGroundTruth gt;       // image id = manifest line; only the images with keypoints
    std::vector<bool> has_pose;       // per image: the manifest has keypoints (not a skeleton-image source)
    std::vector<std::string> groups;  // per image: its "scenario" ("" when absent)
};

// Reads the manifest (or OUT/manifest.jsonl in a sample folder). The GT follows the official loader: the
// first 10 people, a joint with confidence <= 0.02 becomes (-1, -1, 0), a person counts when a joint has
// x > 0. Throws Error naming the file and line for malformed entries.
ManifestPoses read_manifest_poses(const std::filesystem::path& dir_or_manifest, GtBoxMode box = GtBoxMode::kLabelledJoints);

// Runs the detector on every image with keypoints (read from its PNG), numbering detections 1..N in image
// order.
std::vector<CocoKeypointDetection> detect_all(TorchScriptPoseDetector& detector, const ManifestPoses& poses,
                                              bool swap_channels, bool progress = true);

// The subset of GT and detections of the images whose group is `group`, renumbered 0..m-1 (per-view or
// per-scenario pose metrics).
std::pair<CocoKeypointGroundTruth, std::vector<CocoKeypointDetection>> select_group(
    const ManifestPoses& poses, const std::vector<CocoKeypointDetection>& detections, const std::string& group);

}  // namespace stablepose
