// Scenes built by hand for the toy-world tests.
#pragma once

#include "stablepose/toyworld/scene.h"

namespace stablepose::toyworld::testing {

// One red figure, 110 px tall, centred in a 128x128 tiled scene.
inline FigureSpec test_figure(double yaw_deg, const PoseAngles& angles = {}) {
    FigureSpec f;
    f.yaw_deg = yaw_deg;
    f.angles = angles;
    f.colour = "red";
    f.style = {clothing_colour("red").rgb, {236, 188, 130}, {28, 24, 24}, {45, 38, 35}};
    f.height_px = 110;
    f.centre_u = 64;
    f.top_v = 9;
    return f;
}

inline Scene test_scene(std::vector<FigureSpec> far_to_near) {
    Scene s;
    s.width = s.height = 128;
    s.background = "tiled";
    s.background_seed = 1;
    s.figures = std::move(far_to_near);
    return s;
}

}  // namespace stablepose::toyworld::testing
