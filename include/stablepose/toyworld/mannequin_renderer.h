// Draws mannequin figures as shaded, outlined shapes with OpenCV (anti-aliased), nearest last.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/toyworld/body_model.h"
#include "stablepose/toyworld/skeleton3d.h"

namespace stablepose::toyworld {

struct FigureStyle {
    Rgb clothing;  // torso, arms and legs
    Rgb skin;      // face, neck, hands
    Rgb hair;
    Rgb shoes;
};

// A posed figure ready to draw: its skeleton, solid parts, image placement and colours.
struct PlacedFigure {
    Skeleton3d skeleton;
    std::vector<BodyPart> parts;
    Placement placement;
    FigureStyle style;
    BodyShape shape;
};

PlacedFigure make_figure(const Skeleton3d& skeleton, const Placement& placement, const FigureStyle& style,
                         const BodyShape& shape = {});

// Paints `far_to_near` (the first is the farthest) onto `canvas`, an RGB image `supersample` times the final
// size (final pixel centre (u, v) sits at (s u + (s - 1) / 2, s v + (s - 1) / 2) on the canvas). Painter's
// algorithm: figures far to near, and within a figure its parts by increasing mean depth, so nearer limbs
// cover farther ones. Every part is a convex shape with a dark outline, a shadowed body, a lit band and a
// highlight towards the light (upper left); the head is shaded per pixel, with hair over the back and top
// and a face (eyes, nose, mouth) on the front, so front, side and back views look different.
void draw_figures(cv::Mat& canvas, int supersample, const std::vector<PlacedFigure>& far_to_near);

}  // namespace stablepose::toyworld
