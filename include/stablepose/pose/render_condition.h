// What the model is conditioned on for one pose file, written out for inspection (`stablepose render`).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stablepose/pose/pose_masks.h"
#include "stablepose/pose/skeleton_renderer.h"

namespace stablepose {

struct RenderConditionRequest {
    std::filesystem::path pose_file;                 // keypoint JSON (docs/pose_format.md)
    std::filesystem::path output_dir;
    std::optional<std::pair<int, int>> size;         // (width, height); default: the pose's own size
    std::optional<std::filesystem::path> image;      // optional photo to draw the joint overlay on
    SkeletonStyle style;
    PoseMaskConfig masks = PoseMaskConfig::inference();  // the masks of the phase to show
};

struct RenderConditionResult {
    std::vector<std::filesystem::path> written;  // in the order written
    std::vector<int64_t> mask_cells;             // foreground latent cells per kernel
    int people_total = 0;
    int people_drawn = 0;                        // after max_people and the official person-sum rule
};

// Writes skeleton.png (the conditioning image), mask_k<k>.png per kernel at the latent grid (exact),
// masks_preview.png (masks upsampled over the skeleton), joints.png (per-joint overlay) and
// condition.json (settings and counts). Throws Error on bad input before writing anything.
RenderConditionResult render_condition(const RenderConditionRequest& request);

// "512x768" -> (512, 768); throws Error for anything that is not two positive integers.
std::pair<int, int> parse_image_size(const std::string& text);

}  // namespace stablepose
