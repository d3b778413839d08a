// Placing a pose (or an already rendered skeleton image) on an output canvas of another size: the
// evaluation transform of the official loader without its randomness (smallest side resized to cover the
// canvas, then a centre crop; stable-pose.md §9.1), or a plain stretch.
#pragma once

#include <string>

#include <opencv2/core.hpp>

#include "stablepose/pose/pose.h"

namespace stablepose {

enum class CanvasFit {
    kCover,    // scale = max(W / w, H / h), centre crop; joints cropped away become missing (default)
    kStretch,  // x * W / w, y * H / h: the aspect ratio changes
};
CanvasFit parse_canvas_fit(const std::string& name);  // "cover" | "stretch"
std::string to_string(CanvasFit fit);

// The pose in canvas pixels. Missing joints stay missing; with kCover a joint outside [0, W) x [0, H) after
// the crop becomes missing (-1, -1, 0), as albumentations' remove_invisible does.
Pose fit_pose_to_canvas(const Pose& pose, int width, int height, CanvasFit fit);

// The same geometry for an image (RGB uint8). Nearest-neighbour sampling, so a rendered skeleton keeps its
// exact limb colours.
cv::Mat fit_image_to_canvas(const cv::Mat& image, int width, int height, CanvasFit fit);

}  // namespace stablepose
