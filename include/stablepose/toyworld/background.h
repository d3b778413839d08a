// Named procedural backgrounds of the toy world (sandy, grassy, snowy, brick, sky, wooden, tiled).
#pragma once

#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace stablepose::toyworld {

class Random;

// The names, in the order random scenes draw from.
const std::vector<std::string>& background_names();

// An RGB width x height background. Feature sizes are fractions of the image, so a background looks the
// same at every resolution. Throws Error naming the known backgrounds for an unknown name.
cv::Mat render_background(const std::string& name, int width, int height, Random& rng);

}  // namespace stablepose::toyworld
