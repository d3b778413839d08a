// The skeleton image the model is conditioned on, drawn exactly as the official loader draws it.
// Reference: `ldm/data/dataset_pose.py::plot_kpts` (OpenCV line width 10, end circles radius 5, RGB, black).
#pragma once

#include <opencv2/core.hpp>
#include <torch/types.h>

#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/pose/pose.h"

namespace stablepose {

struct SkeletonStyle {
    int line_width = 10;                                      // cv2.line thickness; end circles get width / 2
    float confidence_threshold = kOfficialConfidenceThreshold;  // a joint needs confidence > this
    int max_people = kOfficialMaxPeople;                        // people past this are not drawn
};

// The official person filter: the sum of the person's whole [J, 3] slice (placeholders included) is > 0.
bool person_is_drawn(const Person& person);

// Returns pose.height x pose.width x 3 uint8 RGB on black. Per person (first max_people, only when the sum
// of its whole [J, 3] slice with (-1, -1, 0) placeholders is > 0), per limb in schema order: when both ends
// have int(x) != -1, int(y) != -1 and confidence > threshold, an 8-connected line of `line_width`, then
// filled circles of radius line_width / 2 at both ends, all in the limb colour. Later draws overwrite.
cv::Mat render_skeleton(const Pose& pose, const KeypointSchema& schema, const SkeletonStyle& style = {});

// The same as the model input: [3, H, W] float32 in [-1, 1] (background -1).
torch::Tensor render_skeleton_tensor(const Pose& pose, const KeypointSchema& schema, const SkeletonStyle& style = {});

// For visual checks: `base` (RGB, the pose's size) with every joint above the threshold marked by a dot
// in a per-joint colour with a dark outline and its index written beside it.
cv::Mat draw_joint_overlay(const cv::Mat& base, const Pose& pose, const KeypointSchema& schema,
                           const SkeletonStyle& style = {});

}  // namespace stablepose
