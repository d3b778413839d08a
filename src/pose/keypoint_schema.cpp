#include "stablepose/pose/keypoint_schema.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// colorsys.hls_to_rgb, as seaborn's "hls" palette calls it.
double hls_value(double m1, double m2, double hue) {
    hue = hue - std::floor(hue);
    if (hue < 1.0 / 6.0) return m1 + (m2 - m1) * hue * 6.0;
    if (hue < 0.5) return m2;
    if (hue < 2.0 / 3.0) return m1 + (m2 - m1) * (2.0 / 3.0 - hue) * 6.0;
    return m1;
}

KeypointSchema make_coco17() {
    KeypointSchema s;
    s.name = "coco17";
    s.joint_names = {"nose",           "left_eye",       "right_eye",  "left_ear",    "right_ear",
                     "left_shoulder",  "right_shoulder", "left_elbow", "right_elbow", "left_wrist",
                     "right_wrist",    "left_hip",       "right_hip",  "left_knee",   "right_knee",
                     "left_ankle",     "right_ankle"};
    const std::vector<std::pair<int, int>> bones = {{0, 1},  {0, 2},   {1, 3},   {2, 4},   {3, 5},   {4, 6},
                                                    {5, 7},  {6, 8},   {7, 9},   {8, 10},  {5, 11},  {6, 12},
                                                    {11, 13}, {12, 14}, {13, 15}, {14, 16}};
    const auto colours = hls_palette(static_cast<int>(bones.size()));
    for (size_t i = 0; i < bones.size(); ++i) s.limbs.push_back({bones[i].first, bones[i].second, colours[i]});
    s.oks_sigmas = {.26, .25, .25, .35, .35, .79, .79, .72, .72, .62, .62, 1.07, 1.07, .87, .87, .89, .89};
    for (auto& sigma : s.oks_sigmas) sigma /= 10.0;
    s.flip_pairs = {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}, {11, 12}, {13, 14}, {15, 16}};
    return s;
}

int joint_ref(const KeypointSchema& s, const nlohmann::json& ref) {
    if (ref.is_string()) return s.joint_index(ref.get<std::string>());
    if (ref.is_number_integer()) return ref.get<int>();
    fail("schema '" + s.name + "': a joint reference must be a name or an index", "string or integer",
         ref.dump());
}

}  // namespace

std::vector<Rgb> hls_palette(int n) {
    std::vector<Rgb> out;
    const double lightness = 0.6, saturation = 0.65;
    for (int i = 0; i < n; ++i) {
        // numpy.linspace(0, 1, n + 1)[:-1] computes i * (1 / n); seaborn then adds 0.01 and wraps at 1.
        double hue = static_cast<double>(i) * (1.0 / n) + 0.01;
        hue = std::fmod(hue, 1.0);
        const double m2 = lightness <= 0.5 ? lightness * (1.0 + saturation)
                                           : lightness + saturation - lightness * saturation;
        const double m1 = 2.0 * lightness - m2;
        const double r = hls_value(m1, m2, hue + 1.0 / 3.0);
        const double g = hls_value(m1, m2, hue);
        const double b = hls_value(m1, m2, hue - 1.0 / 3.0);
        out.push_back({static_cast<std::uint8_t>(static_cast<int>(255 * r)),
                       static_cast<std::uint8_t>(static_cast<int>(255 * g)),
                       static_cast<std::uint8_t>(static_cast<int>(255 * b))});
    }
    return out;
}

int KeypointSchema::joint_index(std::string_view joint_name) const {
    const auto it = std::find(joint_names.begin(), joint_names.end(), joint_name);
    if (it == joint_names.end())
        fail("schema '" + name + "' has no joint named '" + std::string(joint_name) + "'",
             "one of the schema's " + std::to_string(joint_names.size()) + " joint names", std::string(joint_name));
    return static_cast<int>(it - joint_names.begin());
}

std::vector<int> KeypointSchema::flip_permutation() const {
    std::vector<int> perm(joint_names.size());
    for (size_t j = 0; j < perm.size(); ++j) perm[j] = static_cast<int>(j);
    for (const auto& [l, r] : flip_pairs) std::swap(perm[l], perm[r]);
    return perm;
}

void KeypointSchema::validate() const {
    const int n = num_joints();
    auto in_range = [n](int j) { return j >= 0 && j < n; };
    if (n == 0) fail("schema '" + name + "' has no joints", "at least one joint name", "an empty list");
    for (size_t i = 0; i < limbs.size(); ++i)
        if (!in_range(limbs[i].a) || !in_range(limbs[i].b))
            fail("schema '" + name + "': limb " + std::to_string(i) + " refers to a joint that does not exist",
                 "joint indices in [0, " + std::to_string(n) + ")",
                 std::to_string(limbs[i].a) + "-" + std::to_string(limbs[i].b));
    if (!oks_sigmas.empty() && static_cast<int>(oks_sigmas.size()) != n)
        fail("schema '" + name + "': one OKS sigma per joint", std::to_string(n) + " sigmas",
             std::to_string(oks_sigmas.size()));
    std::vector<int> seen(n, 0);
    for (const auto& [l, r] : flip_pairs) {
        if (!in_range(l) || !in_range(r) || l == r)
            fail("schema '" + name + "': bad flip pair", "two distinct joints in [0, " + std::to_string(n) + ")",
                 std::to_string(l) + "," + std::to_string(r));
        if (++seen[l] > 1 || ++seen[r] > 1)
            fail("schema '" + name + "': a joint appears in two flip pairs", "each joint in at most one pair",
                 std::to_string(l) + "," + std::to_string(r));
    }
}

KeypointSchema KeypointSchema::from_json(const nlohmann::json& j) {
    static const std::vector<std::string> keys = {"name", "joints", "limbs", "palette", "oks_sigmas", "flip_pairs"};
    for (const auto& [key, value] : j.items())
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            fail("schema: unknown key '" + key + "'", "name, joints, limbs, palette, oks_sigmas, flip_pairs", key);
    KeypointSchema s;
    s.name = j.at("name").get<std::string>();
    s.joint_names = j.at("joints").get<std::vector<std::string>>();
    const auto& limbs = j.at("limbs");
    std::vector<Rgb> palette;
    if (j.contains("palette")) {
        if (j["palette"] != "hls")
            fail("schema '" + s.name + "': unknown palette", "\"hls\" (seaborn)", j["palette"].dump());
        palette = hls_palette(static_cast<int>(limbs.size()));
    }
    for (size_t i = 0; i < limbs.size(); ++i) {
        const auto& limb = limbs[i];
        Limb out{joint_ref(s, limb.at(0)), joint_ref(s, limb.at(1)), {}};
        if (limb.size() == 3) {
            const auto c = limb[2].get<std::vector<int>>();
            if (c.size() != 3 || std::any_of(c.begin(), c.end(), [](int v) { return v < 0 || v > 255; }))
                fail("schema '" + s.name + "': limb " + std::to_string(i) + " colour", "[r, g, b] in 0..255",
                     limb[2].dump());
            out.colour = {static_cast<std::uint8_t>(c[0]), static_cast<std::uint8_t>(c[1]),
                          static_cast<std::uint8_t>(c[2])};
        } else if (!palette.empty()) {
            out.colour = palette[i];
        } else {
            fail("schema '" + s.name + "': limb " + std::to_string(i) + " has no colour",
                 "[a, b, [r, g, b]], or \"palette\": \"hls\"", limb.dump());
        }
        s.limbs.push_back(out);
    }
    if (j.contains("oks_sigmas")) s.oks_sigmas = j["oks_sigmas"].get<std::vector<double>>();
    if (j.contains("flip_pairs"))
        for (const auto& pair : j["flip_pairs"]) s.flip_pairs.emplace_back(joint_ref(s, pair.at(0)), joint_ref(s, pair.at(1)));
    s.validate();
    return s;
}

nlohmann::json KeypointSchema::to_json() const {
    nlohmann::json limbs_json = nlohmann::json::array();
    for (const auto& l : limbs) limbs_json.push_back({l.a, l.b, {l.colour.r, l.colour.g, l.colour.b}});
    nlohmann::json flips = nlohmann::json::array();
    for (const auto& [l, r] : flip_pairs) flips.push_back({l, r});
    return {{"name", name}, {"joints", joint_names}, {"limbs", limbs_json}, {"oks_sigmas", oks_sigmas},
            {"flip_pairs", flips}};
}

const KeypointSchema& coco17_schema() {
    static const KeypointSchema schema = [] {
        auto s = make_coco17();
        s.validate();
        return s;
    }();
    return schema;
}

KeypointSchema load_schema(const std::string& name_or_path) {
    if (name_or_path == "coco17") return coco17_schema();
    if (name_or_path.ends_with(".json")) {
        std::ifstream in(name_or_path);
        if (!in)
            fail("cannot open keypoint schema file '" + name_or_path + "'", "a readable schema JSON file",
                 std::filesystem::exists(name_or_path) ? "a file that cannot be read" : "no such file");
        nlohmann::json j;
        try {
            j = nlohmann::json::parse(in);
        } catch (const nlohmann::json::exception& e) {
            fail("keypoint schema '" + name_or_path + "' is not valid JSON", "a JSON object", e.what());
        }
        return KeypointSchema::from_json(j);
    }
    fail("unknown keypoint schema '" + name_or_path + "'", "\"coco17\" or a path to a schema .json file",
         name_or_path, "see docs/pose_format.md for the schema file format");
}

}  // namespace stablepose
