// The mannequin's body as solid parts (each a chain or grid of spheres) and its placement in the image.
#pragma once

#include <string>
#include <vector>

#include <opencv2/core/matx.hpp>

#include "stablepose/toyworld/skeleton3d.h"

namespace stablepose::toyworld {

enum class PartKind { kTorso, kNeck, kHead, kUpperArm, kForearm, kHand, kThigh, kShin, kFoot };

struct Sphere {
    cv::Vec3d centre;  // camera frame
    double radius = 0;
};

// One drawn body part. A limb is the solid swept by spheres along its bone (a tapered capsule); the torso
// is a grid of spheres filling the chest and belly; the head is one sphere.
struct BodyPart {
    PartKind kind = PartKind::kTorso;
    int side = -1;                 // 0 = the person's left, 1 = right, -1 = the midline
    std::vector<Sphere> spheres;   // spheres[0] and spheres.back() are the ends of a limb
    double depth() const;          // mean z of the sphere centres: the painter's-algorithm key
};

// The parts of a posed skeleton in a fixed order (torso, neck, head, then per side arm, hand, leg, foot).
std::vector<BodyPart> body_parts(const Skeleton3d& skeleton, const BodyShape& shape = {});

// Model units -> final image pixels, orthographic along z: u = u0 + scale x, v = v0 - scale y. Depth keeps
// the model's z (larger = nearer the camera). One scale per figure: a weak-perspective camera.
struct Placement {
    double scale = 1, u0 = 0, v0 = 0;
    cv::Vec2d project(const cv::Vec3d& p) const { return {u0 + scale * p[0], v0 - scale * p[1]}; }
};

// The silhouette's extent in model units: [x_min, x_max] x [y_min, y_max] over all spheres.
struct Extent {
    double x_min = 0, x_max = 0, y_min = 0, y_max = 0;
};
Extent body_extent(const std::vector<BodyPart>& parts);

// The placement that makes the silhouette `height_px` tall with its top at `top_v` and its horizontal
// centre at `centre_u` (final image pixels).
Placement place_figure(const Extent& extent, double height_px, double centre_u, double top_v);

}  // namespace stablepose::toyworld
