// COCO-17 keypoints of rendered mannequins: projected joints, with visibility from the solid body parts.
#pragma once

#include <vector>

#include "stablepose/pose/pose.h"
#include "stablepose/toyworld/mannequin_renderer.h"

namespace stablepose::toyworld {

// Confidence of a keypoint: visible, occluded (by the person's own body or a nearer figure; the joint is
// inside the image), and outside the image. Both hidden values are below the official 0.02 threshold, so
// the loader, renderer and evaluator treat hidden joints as missing; the two differ so that COCO's
// v = 2 / 1 / 0 flags can be recovered (1.0 -> 2, 0.01 -> 1, 0.0 -> 0).
inline constexpr float kVisibleConfidence = 1.0f;
inline constexpr float kOccludedConfidence = 0.01f;
inline constexpr float kOutsideConfidence = 0.0f;

// The 17 keypoints of figure `index` of `far_to_near`, in final-image pixels of a width x height image
// (pixel centres at integer coordinates), coordinates always the projected joint.
// A joint is occluded when
//  - a figure nearer than this one covers its pixel, or
//  - its own body's front surface at its pixel lies in front of the joint by more than the joint's depth
//    tolerance: the radius of the limb around it plus a margin (shoulders and hips: half the chest depth
//    plus a margin, as the torso surrounds them), or
//  - for the nose, eyes and ears (points on the head sphere): the head's surface normal there points away
//    from the camera (its z component below -0.1), i.e. the point is on the far side of the head.
// A joint outside [0, width) x [0, height) gets kOutsideConfidence.
std::vector<Joint> figure_keypoints(const std::vector<PlacedFigure>& far_to_near, size_t index, int width,
                                    int height);

// The front surface of a figure at final-image pixel (u, v): the largest model-unit z over its spheres that
// cover the pixel, or -infinity where the figure is absent.
double front_depth(const PlacedFigure& figure, double u, double v);

}  // namespace stablepose::toyworld
