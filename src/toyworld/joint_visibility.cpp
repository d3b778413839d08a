// Keypoint visibility of toy-world mannequins from their sphere-built solids (hand-built, analytic).
#include "stablepose/toyworld/joint_visibility.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace stablepose::toyworld {
namespace {

constexpr double kMargin = 0.04;              // model units added to every depth tolerance
constexpr double kFacingThreshold = -0.1;     // head-surface keypoints need normal z above this

// How far in front of the joint the body's surface may lie while the joint still counts as visible.
double depth_tolerance(int joint, const BodyShape& b) {
    if (joint <= 4) return 0.25 * b.head_radius + 0.01;  // on the surface already
    if (joint <= 6 || joint == 11 || joint == 12) return b.torso_radius + kMargin + 0.01;
    if (joint <= 8) return b.upper_arm_radius + kMargin;
    if (joint <= 10) return b.hand_radius + kMargin;
    if (joint <= 14) return b.thigh_radius + kMargin;
    return b.shin_radius + kMargin;
}

}  // namespace

double front_depth(const PlacedFigure& figure, double u, double v) {
    const Placement& pl = figure.placement;
    // Back to model units: the orthographic ray through the pixel is x = (u - u0) / scale, y = (v0 - v) / scale.
    const double x = (u - pl.u0) / pl.scale, y = (pl.v0 - v) / pl.scale;
    double best = -std::numeric_limits<double>::infinity();
    for (const auto& part : figure.parts)
        for (const auto& sp : part.spheres) {
            const double dx = x - sp.centre[0], dy = y - sp.centre[1];
            const double h = sp.radius * sp.radius - dx * dx - dy * dy;
            if (h >= 0) best = std::max(best, sp.centre[2] + std::sqrt(h));
        }
    return best;
}

std::vector<Joint> figure_keypoints(const std::vector<PlacedFigure>& far_to_near, size_t index, int width,
                                    int height) {
    const PlacedFigure& f = far_to_near.at(index);
    std::vector<Joint> out(17);
    for (int j = 0; j < 17; ++j) {
        const cv::Vec3d& p = f.skeleton.coco[j];
        const cv::Vec2d uv = f.placement.project(p);
        Joint& k = out[j];
        k.x = static_cast<float>(uv[0]);
        k.y = static_cast<float>(uv[1]);
        if (uv[0] < 0 || uv[1] < 0 || uv[0] >= width || uv[1] >= height) {
            k.confidence = kOutsideConfidence;
            continue;
        }
        bool visible = front_depth(f, uv[0], uv[1]) <= p[2] + depth_tolerance(j, f.shape);
        if (visible && j <= 4) {
            const cv::Vec3d normal = cv::normalize(p - f.skeleton.head_centre);
            visible = normal[2] > kFacingThreshold;
        }
        for (size_t g = index + 1; visible && g < far_to_near.size(); ++g)
            visible = !std::isfinite(front_depth(far_to_near[g], uv[0], uv[1]));
        k.confidence = visible ? kVisibleConfidence : kOccludedConfidence;
    }
    return out;
}

}  // namespace stablepose::toyworld
