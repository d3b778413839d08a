#include "stablepose/pose/canvas_fit.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// Scale and offset of the cover fit along both axes: canvas = source * scale - offset.
struct CoverGeometry {
    double scale_x, scale_y, offset_x, offset_y;
};

CoverGeometry geometry(int src_w, int src_h, int width, int height, CanvasFit fit) {
    if (src_w <= 0 || src_h <= 0 || width <= 0 || height <= 0)
        fail("canvas fit: sizes must be positive", "source and canvas width/height > 0",
             std::to_string(src_w) + "x" + std::to_string(src_h) + " -> " + std::to_string(width) + "x" +
                 std::to_string(height));
    if (fit == CanvasFit::kStretch)
        return {static_cast<double>(width) / src_w, static_cast<double>(height) / src_h, 0.0, 0.0};
    const double s = std::max(static_cast<double>(width) / src_w, static_cast<double>(height) / src_h);
    const double scaled_w = std::round(src_w * s), scaled_h = std::round(src_h * s);
    return {scaled_w / src_w, scaled_h / src_h, std::floor((scaled_w - width) / 2.0),
            std::floor((scaled_h - height) / 2.0)};
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
            const float x = static_cast<float>(j.x * g.scale_x - g.offset_x);
            const float y = static_cast<float>(j.y * g.scale_y - g.offset_y);
            const bool inside = x >= 0 && y >= 0 && x < width && y < height;
            p.joints.push_back(inside || fit == CanvasFit::kStretch ? Joint{x, y, j.confidence} : Joint::missing());
        }
        out.people.push_back(std::move(p));
    }
    return out;
}

cv::Mat fit_image_to_canvas(const cv::Mat& image, int width, int height, CanvasFit fit) {
    const auto g = geometry(image.cols, image.rows, width, height, fit);
    const int scaled_w = static_cast<int>(std::lround(image.cols * g.scale_x));
    const int scaled_h = static_cast<int>(std::lround(image.rows * g.scale_y));
    cv::Mat scaled;
    cv::resize(image, scaled, cv::Size(scaled_w, scaled_h), 0, 0, cv::INTER_NEAREST);
    return scaled(cv::Rect(static_cast<int>(g.offset_x), static_cast<int>(g.offset_y), width, height)).clone();
}

}  // namespace stablepose
