#include "stablepose/pose/canvas_fit.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// The cover fit as the official evaluation transform does it (albumentations SmallestMaxSize + CenterCrop,
// the geometry of data/augment.cpp with a centre crop): keypoints scaled by the exact factor, the image
// resized to round-half-even(size * factor) (py3round), then the crop offset (resized - canvas) / 2, rounded
// down.
struct CoverGeometry {
    double scale_x, scale_y;  // keypoints: canvas = source * scale - offset
    int scaled_w, scaled_h;   // the resized image
    int offset_x, offset_y;
};

int round_half_even(double x) { return static_cast<int>(std::nearbyint(x)); }  // default rounding mode

CoverGeometry geometry(int src_w, int src_h, int width, int height, CanvasFit fit) {
    if (src_w <= 0 || src_h <= 0 || width <= 0 || height <= 0)
        fail("canvas fit: sizes must be positive", "source and canvas width/height > 0",
             std::to_string(src_w) + "x" + std::to_string(src_h) + " -> " + std::to_string(width) + "x" +
                 std::to_string(height));
    if (fit == CanvasFit::kStretch)
        return {static_cast<double>(width) / src_w, static_cast<double>(height) / src_h, width, height, 0, 0};
    const double s = std::max(static_cast<double>(width) / src_w, static_cast<double>(height) / src_h);
    const int scaled_w = s == 1.0 ? src_w : round_half_even(src_w * s);
    const int scaled_h = s == 1.0 ? src_h : round_half_even(src_h * s);
    return {s, s, scaled_w, scaled_h, (scaled_w - width) / 2, (scaled_h - height) / 2};
}

}  // namespace

CanvasFit parse_canvas_fit(const std::string& name) {
    if (name == "cover") return CanvasFit::kCover;
    if (name == "stretch") return CanvasFit::kStretch;
    fail("unknown canvas fit", "\"cover\" (resize the smallest side, centre crop) or \"stretch\"", name);
}

std::string to_string(CanvasFit fit) { return fit == CanvasFit::kCover ? "cover" : "stretch"; }

Pose fit_pose_to_canvas(const Pose& pose, int width, int height, CanvasFit fit) {
    const auto g = geometry(pose.width, pose.height, width, height, fit);
    Pose out{width, height, {}};
    for (const auto& person : pose.people) {
        Person p;
        for (const auto& j : person.joints) {
            if (j == Joint::missing()) {
                p.joints.push_back(j);
                continue;
            }
            const double x = j.x * g.scale_x - g.offset_x;
            const double y = j.y * g.scale_y - g.offset_y;
            // albumentations drops a keypoint outside the image before and after each step.
            const bool in_source = j.x >= 0 && j.y >= 0 && j.x < pose.width && j.y < pose.height;
            const bool inside = in_source && x >= 0 && y >= 0 && x < width && y < height;
            p.joints.push_back(inside || fit == CanvasFit::kStretch
                                   ? Joint{static_cast<float>(x), static_cast<float>(y), j.confidence}
                                   : Joint::missing());
        }
        out.people.push_back(std::move(p));
    }
    return out;
}

cv::Mat fit_image_to_canvas(const cv::Mat& image, int width, int height, CanvasFit fit) {
    const auto g = geometry(image.cols, image.rows, width, height, fit);
    cv::Mat scaled;
    cv::resize(image, scaled, cv::Size(g.scaled_w, g.scaled_h), 0, 0, cv::INTER_NEAREST);
    return scaled(cv::Rect(g.offset_x, g.offset_y, width, height)).clone();
}

}  // namespace stablepose
