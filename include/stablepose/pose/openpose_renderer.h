// The OpenPose-18 body skeleton that diffusers' ControlNet openpose checkpoints (lllyasviel/sd-controlnet-
// openpose, control_v11p_sd15_openpose) were trained on, for running them as the ControlNet baseline.
// Reference: controlnet_aux 0.0.10, open_pose/util.py::draw_bodypose (tests/reference/make_openpose_golden.py
// transcribes it).
#pragma once

#include <opencv2/core.hpp>

#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/pose/pose.h"

namespace stablepose {

// 18 joints: nose, neck, right shoulder/elbow/wrist, left shoulder/elbow/wrist, right hip/knee/ankle, left
// hip/knee/ankle, right eye, left eye, right ear, left ear; the 17 drawn limbs with their colours.
const KeypointSchema& openpose18_schema();

// COCO-17 -> OpenPose-18: reordered; the neck is the midpoint of the shoulders when both have confidence >
// threshold (its confidence the smaller of the two), else missing. Joints at or below the threshold become
// missing.
Pose coco17_to_openpose18(const Pose& coco, float confidence_threshold);

// pose: OpenPose-18 keypoints in pixels. Returns pose.height x pose.width x 3 uint8 RGB on black: per person,
// each limb whose two joints are present as a filled ellipse polygon (cv::ellipse2Poly, half-width 4, colour
// x 0.6), then a filled circle of radius 4 in the joint's colour at each present joint.
cv::Mat render_openpose_skeleton(const Pose& pose, float confidence_threshold);

}  // namespace stablepose
