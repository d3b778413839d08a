#include "stablepose/eval/image_set.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <tuple>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace fs = std::filesystem;
namespace {

bool is_image_file(const fs::path& p) {
    static const std::set<std::string> kExtensions{".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff"};
    std::string ext = p.extension().string();
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
    return kExtensions.count(ext) > 0;
}

std::string string_field(const nlohmann::json& entry, const char* key, const fs::path& file, int line) {
    const auto& v = entry.at(key);
    if (!v.is_string())
        fail("manifest " + file.string() + " line " + std::to_string(line) + ": \"" + key + "\" is not a string",
             "a JSON string", v.dump());
    return v.get<std::string>();
}

}  // namespace

std::string ImageSet::relative(size_t i) const {
    return files.at(i).lexically_relative(root).generic_string();
}

ImageSet list_image_folder(const fs::path& dir) {
    if (!fs::is_directory(dir))
        fail("image folder not found: '" + dir.string() + "'", "an existing folder of images",
             fs::exists(dir) ? "not a folder" : "no such folder");
    ImageSet set;
    set.root = dir;
    for (const auto& entry : fs::directory_iterator(dir))
        if (entry.is_regular_file() && is_image_file(entry.path())) set.files.push_back(entry.path());
    std::sort(set.files.begin(), set.files.end());
    if (set.files.empty())
        fail("no images in '" + dir.string() + "'", "png, jpg, jpeg, bmp, webp or tif files directly in the folder",
             "none", "point at the folder that holds the images (subfolders are not searched)");
    return set;
}

ImageSet read_image_manifest(const fs::path& jsonl) {
    std::ifstream in(jsonl);
    if (!in)
        fail("image manifest not found: '" + jsonl.string() + "'", "a JSONL file, one {\"path\", \"prompt\"} per line",
             "no such file");
    ImageSet set;
    set.root = jsonl.parent_path();
    set.manifest = jsonl;
    std::string line;
    int line_no = 0;
    int first_without_prompt = 0, first_without_scenario = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        nlohmann::json entry;
        try {
            entry = nlohmann::json::parse(line);
        } catch (const nlohmann::json::exception& e) {
            fail("manifest " + jsonl.string() + " line " + std::to_string(line_no) + " is not JSON",
                 "one JSON object per line", e.what());
        }
        const char* key = entry.contains("path") ? "path" : "image";
        if (!entry.is_object() || !entry.contains(key))
            fail("manifest " + jsonl.string() + " line " + std::to_string(line_no) + " names no image",
                 "an object with \"path\" (or \"image\")", line.substr(0, 120));
        fs::path p = string_field(entry, key, jsonl, line_no);
        set.files.push_back(p.is_absolute() ? p : set.root / p);
        if (entry.contains("prompt")) set.prompts.push_back(string_field(entry, "prompt", jsonl, line_no));
        else if (!first_without_prompt) first_without_prompt = line_no;
        if (entry.contains("scenario")) set.scenarios.push_back(string_field(entry, "scenario", jsonl, line_no));
        else if (!first_without_scenario) first_without_scenario = line_no;
    }
    if (set.files.empty())
        fail("image manifest '" + jsonl.string() + "' lists no images", "at least one line", "none");
    // A field is either on every line or on none: a half-labelled manifest would silently drop images.
    for (auto [field, values, line] : {std::tuple{"prompt", &set.prompts, first_without_prompt},
                                       std::tuple{"scenario", &set.scenarios, first_without_scenario}})
        if (!values->empty() && line)
            fail("manifest " + jsonl.string() + " line " + std::to_string(line) + " has no \"" + field + "\"",
                 std::string("\"") + field + "\" on every line (other lines have it)", "missing");
    return set;
}

ImageSet open_image_set(const fs::path& dir_or_manifest) {
    if (fs::is_regular_file(dir_or_manifest)) return read_image_manifest(dir_or_manifest);
    if (fs::is_directory(dir_or_manifest) && fs::is_regular_file(dir_or_manifest / "manifest.jsonl"))
        return read_image_manifest(dir_or_manifest / "manifest.jsonl");
    return list_image_folder(dir_or_manifest);
}

}  // namespace stablepose
