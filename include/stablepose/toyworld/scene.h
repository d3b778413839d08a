// A toy-world scene: a named background, one to three mannequins with named clothing colours, the
// caption naming them, and the rendered image with each person's COCO-17 keypoints.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "stablepose/pose/pose.h"
#include "stablepose/toyworld/mannequin_renderer.h"
#include "stablepose/toyworld/skeleton3d.h"

namespace stablepose::toyworld {

class Random;

struct NamedColour {
    std::string name;
    Rgb rgb;
};
// Clothing colours captions name: red, blue, green, yellow, purple, orange, white, black, pink, cyan.
const std::vector<NamedColour>& clothing_colours();
const NamedColour& clothing_colour(const std::string& name);  // throws Error for an unknown name

// One figure: pose, yaw, colours and where its silhouette goes in the final image.
struct FigureSpec {
    PoseAngles angles;
    double yaw_deg = 0;
    std::string colour = "red";  // a clothing_colours() name
    FigureStyle style;           // style.clothing is the named colour's RGB
    double height_px = 100, centre_u = 64, top_v = 14;
};

struct Scene {
    int width = 128, height = 128;
    std::string background = "sandy";  // a background_names() name
    std::uint64_t background_seed = 0;
    std::vector<FigureSpec> figures;    // far to near: later figures are drawn over earlier ones
    int caption_template = 0;           // which wording a one-figure caption uses (0 or 1)
};

// A random scene: 1 (50%), 2 (30%) or 3 (20%) figures with distinct clothing colours that stand out
// from the background, views front/side/back equally likely, figures 50-95% of the image height, spread
// across the width (nearer = taller, drawn later).
Scene random_scene(Random& rng, int width, int height);

// Figure indices (into scene.figures) from left to right by silhouette centre: the order of people in
// captions, pose files and metadata.
std::vector<size_t> left_to_right(const Scene& scene);

// "a red figure on a sandy background", "a figure in red on a sandy background",
// "two figures, a blue one and a yellow one, on a grassy background",
// "three figures, a red one, a white one and an orange one, on a tiled background" (colours left to right).
std::string scene_caption(const Scene& scene);

struct RenderedPerson {
    size_t figure = 0;             // index into scene.figures (its depth rank: 0 = farthest)
    View view = View::kFront;
    std::vector<Joint> keypoints;  // COCO-17, confidence per joint_visibility.h
    cv::Rect2d bbox;               // the silhouette's box, clipped to the image
};

struct RenderedScene {
    cv::Mat image;       // RGB, width x height
    cv::Mat background;  // the background alone, resampled exactly as the image
    std::vector<RenderedPerson> people;  // left to right
};

// Draws the scene at `supersample` times its size (anti-aliasing), then area-averages down.
RenderedScene render_scene(const Scene& scene, int supersample = 2);

// The figures of `scene` posed and placed (far to near), as render_scene draws them.
std::vector<PlacedFigure> place_figures(const Scene& scene);

}  // namespace stablepose::toyworld
