// Keypoint schemas as data: joint names, limbs with their colours, OKS sigmas, left/right flip pairs.
// Reference: HumanSD / Stable-Pose `ldm/data/dataset_pose.py` (COCO-17 limb table, seaborn "hls" palette).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace stablepose {

struct Rgb {
    std::uint8_t r = 0, g = 0, b = 0;
    bool operator==(const Rgb&) const = default;
};

// One drawn bone between two joints, in the colour the model was trained with.
struct Limb {
    int a = 0;
    int b = 0;
    Rgb colour;
};

// Everything the code knows about a skeleton layout. Nothing else in the library hard-codes a joint
// count: renderers, masks, readers and metrics take the schema.
struct KeypointSchema {
    std::string name;
    std::vector<std::string> joint_names;
    std::vector<Limb> limbs;                    // in draw order: later limbs overwrite earlier ones
    std::vector<double> oks_sigmas;             // one per joint (COCO keypoint evaluation)
    std::vector<std::pair<int, int>> flip_pairs;  // (left, right) joints swapped by a horizontal flip

    int num_joints() const { return static_cast<int>(joint_names.size()); }
    // Index of a joint by name; throws Error naming the schema when it is unknown.
    int joint_index(std::string_view joint_name) const;
    // perm[j] = joint that takes j's place after a horizontal flip.
    std::vector<int> flip_permutation() const;
    // Throws Error on inconsistent data (limb or flip indices out of range, sigma count mismatch, ...).
    void validate() const;

    // Schema file format: {"name", "joints": [...], "limbs": [[a, b, [r, g, b]], ...] or [[a, b]] with
    // "palette": "hls", "oks_sigmas": [...], "flip_pairs": [[l, r], ...]}. Joints may be named or indexed.
    static KeypointSchema from_json(const nlohmann::json& j);
    nlohmann::json to_json() const;
};

// seaborn.color_palette("hls", n) as 8-bit RGB: hue i/n + 0.01, lightness 0.6, saturation 0.65,
// each channel int(255 * c) (truncation), exactly as the official renderer converts it.
std::vector<Rgb> hls_palette(int n);

// The default schema: COCO-17 with the 16-limb HumanSD/Stable-Pose table of stable-pose.md §12.
const KeypointSchema& coco17_schema();

// A built-in schema by name ("coco17"), or a schema JSON file when `name_or_path` ends in ".json".
KeypointSchema load_schema(const std::string& name_or_path);

}  // namespace stablepose
