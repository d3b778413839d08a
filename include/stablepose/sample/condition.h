// A job's pose source turned into what the adapter sees: the skeleton image on the output canvas, plus the
// fitted keypoints (the ground truth that `stablepose eval` compares detections with).
#pragma once

#include <optional>

#include <torch/types.h>

#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/pose/skeleton_renderer.h"
#include "stablepose/sample/job_file.h"

namespace stablepose {

// How the skeleton is drawn: the Stable-Pose/HumanSD style of the schema, or OpenPose-18 as diffusers'
// ControlNet openpose checkpoints expect (COCO-17 keypoints converted).
enum class SkeletonDrawing { kSchema, kOpenPose };
SkeletonDrawing parse_skeleton_drawing(const std::string& name);  // "humansd" | "openpose"

struct PreparedCondition {
    torch::Tensor skeleton;        // [3, H, W] float32 in [-1, 1], background -1
    std::optional<Pose> pose;      // keypoints in canvas pixels (none for a skeleton image source)
    std::string schema_name;       // of `pose`
    int people_total = 0;
    int people_drawn = 0;
};

// The source's keypoints in the pixels of the image they were made for (not for skeleton images).
// Throws Error naming the file for missing or malformed sources.
Pose load_source_pose(const PoseSource& source, const KeypointSchema& schema);

// Loads the source, fits it to settings.width x settings.height (settings.fit) and renders the skeleton with
// `schema` and `style` (a skeleton image is fitted as it is).
PreparedCondition prepare_condition(const PoseSource& source, const GenerationSettings& settings,
                                    const KeypointSchema& schema, const SkeletonStyle& style,
                                    SkeletonDrawing drawing = SkeletonDrawing::kSchema);

}  // namespace stablepose
