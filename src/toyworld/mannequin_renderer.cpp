// Painter's-algorithm rendering of toy-world mannequins (hand-built; OpenCV anti-aliased polygons).
#include "stablepose/toyworld/mannequin_renderer.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

namespace stablepose::toyworld {
namespace {

constexpr int kShift = 4;  // sub-pixel bits of the OpenCV polygon coordinates
constexpr double kOne = 1 << kShift;
constexpr int kCirclePoints = 20;

// Light from the upper left and in front; in the image (v down) the lit side is up and to the left.
const cv::Vec3d kLight = cv::normalize(cv::Vec3d{-0.5, 0.6, 0.65});
const cv::Vec2d kLightImage = cv::normalize(cv::Vec2d{-0.55, -0.83});

cv::Scalar scaled(const Rgb& c, double f) {
    return {std::min(255.0, c.r * f), std::min(255.0, c.g * f), std::min(255.0, c.b * f)};
}
cv::Scalar towards_white(const Rgb& c, double t) {
    return {c.r + (255 - c.r) * t, c.g + (255 - c.g) * t, c.b + (255 - c.b) * t};
}

struct Disc {
    cv::Point2d centre;  // canvas pixels
    double radius;
};

// Maps final-image pixels to canvas pixels.
struct CanvasMap {
    int s;
    cv::Point2d point(const cv::Vec2d& uv) const { return {s * uv[0] + (s - 1) / 2.0, s * uv[1] + (s - 1) / 2.0}; }
};

std::vector<Disc> project_part(const BodyPart& part, const Placement& pl, const CanvasMap& map) {
    std::vector<Disc> discs;
    discs.reserve(part.spheres.size());
    for (const auto& sp : part.spheres)
        discs.push_back({map.point(pl.project(sp.centre)), sp.radius * pl.scale * map.s});
    return discs;
}

// Fills the convex hull of the discs, each scaled by `factor`, grown by `grow` pixels and moved `offset`
// radii towards the light.
void fill_hull(cv::Mat& canvas, const std::vector<Disc>& discs, double factor, double grow, double offset,
               const cv::Scalar& colour) {
    std::vector<cv::Point> points;
    points.reserve(discs.size() * kCirclePoints);
    for (const auto& d : discs) {
        const double r = d.radius * factor + grow;
        const cv::Point2d c = d.centre + cv::Point2d(kLightImage[0], kLightImage[1]) * (offset * d.radius);
        for (int i = 0; i < kCirclePoints; ++i) {
            const double a = 2.0 * std::numbers::pi * i / kCirclePoints;
            points.emplace_back(static_cast<int>(std::lround((c.x + r * std::cos(a)) * kOne)),
                                static_cast<int>(std::lround((c.y + r * std::sin(a)) * kOne)));
        }
    }
    std::vector<cv::Point> hull;
    cv::convexHull(points, hull);
    cv::fillConvexPoly(canvas, hull, colour, cv::LINE_AA, kShift);
}

// Outline, shadowed body, lit band and highlight: reads as a rounded solid.
void draw_shaded(cv::Mat& canvas, const std::vector<Disc>& discs, const Rgb& colour, double outline) {
    fill_hull(canvas, discs, 1.0, outline, 0.0, scaled(colour, 0.35));
    fill_hull(canvas, discs, 1.0, 0.0, 0.0, scaled(colour, 0.7));
    fill_hull(canvas, discs, 0.72, 0.0, 0.2, scaled(colour, 1.0));
    fill_hull(canvas, discs, 0.3, 0.0, 0.45, towards_white(colour, 0.35));
}

void draw_disc(cv::Mat& canvas, const cv::Point2d& c, double r, const cv::Scalar& colour) {
    cv::circle(canvas, cv::Point(static_cast<int>(std::lround(c.x * kOne)), static_cast<int>(std::lround(c.y * kOne))),
               std::max(1, static_cast<int>(std::lround(r * kOne))), colour, cv::FILLED, cv::LINE_AA, kShift);
}

// Hair covers the top and back of the head down to the nape; `n` is a head-frame unit normal.
bool is_hair(const cv::Vec3d& n) {
    const double hairline = std::clamp(-0.55 + (n[2] + 0.3) * 1.1, -0.55, 0.45);
    return n[1] > hairline;
}

// The head sphere shaded per canvas pixel (3x3 samples per pixel for smooth edges), then blended in.
void draw_head_sphere(cv::Mat& canvas, const Disc& head, const cv::Matx33d& head_frame, const FigureStyle& style) {
    constexpr int kSub = 3;
    const cv::Matx33d to_head = head_frame.t();
    const int x0 = std::max(0, static_cast<int>(std::floor(head.centre.x - head.radius)));
    const int x1 = std::min(canvas.cols - 1, static_cast<int>(std::ceil(head.centre.x + head.radius)));
    const int y0 = std::max(0, static_cast<int>(std::floor(head.centre.y - head.radius)));
    const int y1 = std::min(canvas.rows - 1, static_cast<int>(std::ceil(head.centre.y + head.radius)));
    for (int y = y0; y <= y1; ++y)
        for (int x = x0; x <= x1; ++x) {
            cv::Vec3d sum{0, 0, 0};
            int covered = 0;
            for (int sy = 0; sy < kSub; ++sy)
                for (int sx = 0; sx < kSub; ++sx) {
                    const double dx = (x - 0.5 + (sx + 0.5) / kSub - head.centre.x) / head.radius;
                    const double dy = -(y - 0.5 + (sy + 0.5) / kSub - head.centre.y) / head.radius;
                    const double rr = dx * dx + dy * dy;
                    if (rr > 1.0) continue;
                    const cv::Vec3d n{dx, dy, std::sqrt(1.0 - rr)};  // camera frame, z towards the viewer
                    const bool hair = is_hair(to_head * n);
                    const Rgb& base = hair ? style.hair : style.skin;
                    const double lambert = std::max(0.0, n.dot(kLight));
                    const double shade = 0.42 + 0.68 * lambert;
                    const double spec = hair ? 0.0 : 40.0 * std::pow(lambert, 12.0);
                    sum += cv::Vec3d{base.r * shade + spec, base.g * shade + spec, base.b * shade + spec};
                    ++covered;
                }
            if (covered == 0) continue;
            const double alpha = static_cast<double>(covered) / (kSub * kSub);
            auto& px = canvas.at<cv::Vec3b>(y, x);
            for (int c = 0; c < 3; ++c)
                px[c] = cv::saturate_cast<uchar>(px[c] * (1.0 - alpha) + std::min(255.0, sum[c] / covered) * alpha);
        }
}

// Eyes, nose, mouth and ears, each drawn when it faces the camera.
void draw_face(cv::Mat& canvas, const PlacedFigure& f, const CanvasMap& map) {
    const auto& s = f.skeleton;
    const double r = f.shape.head_radius;
    const double px = f.placement.scale * map.s;  // canvas pixels per model unit
    auto at = [&](const cv::Vec3d& dir, double lift) {
        const cv::Vec3d n = s.head * cv::normalize(dir);
        return std::pair{map.point(f.placement.project(s.head_centre + n * (r * lift))), n[2]};
    };
    for (const double side : {1.0, -1.0}) {
        const auto [ear, nz] = at({side, 0, -0.05}, 0.97);
        if (nz > -0.1) draw_disc(canvas, ear, 0.036 * px, scaled(f.style.skin, 0.8));
    }
    for (const double side : {1.0, -1.0}) {
        const auto [eye, nz] = at({side * 0.35, 0.2, 0.915}, 1.0);
        if (nz > 0.12) draw_disc(canvas, eye, std::max(0.7, 0.026 * px), cv::Scalar(25, 20, 20));
    }
    const auto [mouth_l, nzl] = at({0.13, -0.42, 0.9}, 1.0);
    const auto [mouth_r, nzr] = at({-0.13, -0.42, 0.9}, 1.0);
    if (std::min(nzl, nzr) > 0.15)
        cv::line(canvas, mouth_l, mouth_r, cv::Scalar(140, 50, 50), std::max(1, static_cast<int>(0.022 * px)),
                 cv::LINE_AA);
    const auto [nose, nz] = at({0, -0.1, 1}, 1.04);
    if (nz > -0.35) draw_disc(canvas, nose, 0.032 * px, scaled(f.style.skin, 0.82));
}

Rgb part_colour(PartKind kind, const FigureStyle& style) {
    switch (kind) {
        case PartKind::kNeck:
        case PartKind::kHand:
        case PartKind::kHead: return style.skin;
        case PartKind::kFoot: return style.shoes;
        case PartKind::kThigh:
        case PartKind::kShin: {  // trousers a shade darker than the shirt, same hue
            const auto d = [](std::uint8_t v) { return static_cast<std::uint8_t>(v * 0.86); };
            return {d(style.clothing.r), d(style.clothing.g), d(style.clothing.b)};
        }
        default: return style.clothing;
    }
}

void draw_figure(cv::Mat& canvas, const PlacedFigure& f, const CanvasMap& map) {
    // The neck always goes just under the head: its sphere chain ends inside the head, and a head tilted
    // back or away would otherwise draw the neck across the face or the hair.
    std::vector<double> depth(f.parts.size());
    double head_depth = 0;
    for (size_t i = 0; i < f.parts.size(); ++i) {
        depth[i] = f.parts[i].depth();
        if (f.parts[i].kind == PartKind::kHead) head_depth = depth[i];
    }
    for (size_t i = 0; i < f.parts.size(); ++i)
        if (f.parts[i].kind == PartKind::kNeck) depth[i] = std::min(depth[i], head_depth - 1e-9);
    std::vector<size_t> order(f.parts.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return depth[a] < depth[b]; });
    const double outline = std::max(1.0, 0.012 * f.placement.scale * map.s);
    for (const size_t i : order) {
        const BodyPart& part = f.parts[i];
        const auto discs = project_part(part, f.placement, map);
        if (part.kind == PartKind::kHead) {
            fill_hull(canvas, discs, 1.0, outline, 0.0, scaled(f.style.skin, 0.35));
            draw_head_sphere(canvas, discs.front(), f.skeleton.head, f.style);
            draw_face(canvas, f, map);
        } else {
            draw_shaded(canvas, discs, part_colour(part.kind, f.style), outline);
        }
    }
}

}  // namespace

PlacedFigure make_figure(const Skeleton3d& skeleton, const Placement& placement, const FigureStyle& style,
                         const BodyShape& shape) {
    return {skeleton, body_parts(skeleton, shape), placement, style, shape};
}

void draw_figures(cv::Mat& canvas, int supersample, const std::vector<PlacedFigure>& far_to_near) {
    const CanvasMap map{supersample};
    for (const auto& f : far_to_near) draw_figure(canvas, f, map);
}

}  // namespace stablepose::toyworld
