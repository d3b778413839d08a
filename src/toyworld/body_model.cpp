// The toy-world mannequin's solid parts (hand-built; spheres make silhouettes and depths exact and cheap).
#include "stablepose/toyworld/body_model.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace stablepose::toyworld {
namespace {

// Spheres along a bone from a (radius ra) to b (radius rb), spaced at most a third of the smaller radius so
// the union's outline is smooth.
std::vector<Sphere> sweep(const cv::Vec3d& a, const cv::Vec3d& b, double ra, double rb) {
    const double length = cv::norm(b - a);
    const int n = std::max(2, static_cast<int>(std::ceil(length / (std::min(ra, rb) / 3.0))) + 1);
    std::vector<Sphere> out;
    out.reserve(n);
    for (int i = 0; i < n; ++i) {
        const double t = static_cast<double>(i) / (n - 1);
        out.push_back({a + (b - a) * t, ra + (rb - ra) * t});
    }
    return out;
}

// Rows of spheres from the hips to the shoulders in the chest frame: wide at the shoulders, narrow at the
// waist, a little wider at the hips.
std::vector<Sphere> torso_spheres(const Skeleton3d& s, const BodyShape& b) {
    constexpr int kRows = 10, kColumns = 5;
    std::vector<Sphere> out;
    const double y_bottom = -b.hip_drop, y_top = b.shoulder_height;
    for (int r = 0; r < kRows; ++r) {
        const double t = static_cast<double>(r) / (kRows - 1);  // 0 = hips, 1 = shoulders
        const double y = y_bottom + (y_top - y_bottom) * t;
        // Half width of the row's centres: hips 0.09, waist (t = 0.4) 0.07, shoulders 0.14.
        const double half = t < 0.4 ? 0.09 - 0.05 * t : 0.07 + (t - 0.4) / 0.6 * 0.07;
        for (int c = 0; c < kColumns; ++c) {
            const double x = half * (2.0 * c / (kColumns - 1) - 1.0);
            out.push_back({s.chest * cv::Vec3d{x, y, 0}, b.torso_radius});
        }
    }
    return out;
}

}  // namespace

double BodyPart::depth() const {
    double z = 0;
    for (const auto& sp : spheres) z += sp.centre[2];
    return spheres.empty() ? 0.0 : z / static_cast<double>(spheres.size());
}

std::vector<BodyPart> body_parts(const Skeleton3d& s, const BodyShape& b) {
    std::vector<BodyPart> parts;
    parts.push_back({PartKind::kTorso, -1, torso_spheres(s, b)});
    parts.push_back({PartKind::kNeck, -1, sweep(s.neck, s.head_centre, b.neck_radius, b.neck_radius)});
    parts.push_back({PartKind::kHead, -1, {{s.head_centre, b.head_radius}}});
    for (int side = 0; side < 2; ++side) {
        const auto& k = s.coco;
        parts.push_back({PartKind::kUpperArm, side,
                         sweep(k[5 + side], k[7 + side], b.upper_arm_radius, b.upper_arm_radius * 0.85)});
        parts.push_back({PartKind::kForearm, side,
                         sweep(k[7 + side], k[9 + side], b.forearm_radius, b.forearm_radius * 0.85)});
        parts.push_back({PartKind::kHand, side, {{s.hands[side], b.hand_radius}}});
        parts.push_back(
            {PartKind::kThigh, side, sweep(k[11 + side], k[13 + side], b.thigh_radius, b.thigh_radius * 0.8)});
        parts.push_back(
            {PartKind::kShin, side, sweep(k[13 + side], k[15 + side], b.shin_radius, b.shin_radius * 0.85)});
        parts.push_back(
            {PartKind::kFoot, side, sweep(s.heels[side], s.toes[side], b.foot_radius, b.foot_radius * 0.9)});
    }
    return parts;
}

Extent body_extent(const std::vector<BodyPart>& parts) {
    constexpr double kInf = std::numeric_limits<double>::infinity();
    Extent e{kInf, -kInf, kInf, -kInf};
    for (const auto& part : parts)
        for (const auto& sp : part.spheres) {
            e.x_min = std::min(e.x_min, sp.centre[0] - sp.radius);
            e.x_max = std::max(e.x_max, sp.centre[0] + sp.radius);
            e.y_min = std::min(e.y_min, sp.centre[1] - sp.radius);
            e.y_max = std::max(e.y_max, sp.centre[1] + sp.radius);
        }
    return e;
}

Placement place_figure(const Extent& e, double height_px, double centre_u, double top_v) {
    Placement p;
    p.scale = height_px / (e.y_max - e.y_min);
    p.u0 = centre_u - p.scale * 0.5 * (e.x_min + e.x_max);
    p.v0 = top_v + p.scale * e.y_max;
    return p;
}

}  // namespace stablepose::toyworld
