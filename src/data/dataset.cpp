#include "stablepose/data/dataset.h"

#include <algorithm>

#include "stablepose/data/humanart_coco.h"
#include "stablepose/data/humansd_dataset.h"
#include "stablepose/data/humansd_npz.h"
#include "stablepose/data/json_file.h"
#include "stablepose/data/jsonl_manifest.h"
#include "stablepose/error.h"

namespace stablepose {

namespace fs = std::filesystem;

std::string to_string(DatasetFormat format) {
    switch (format) {
        case DatasetFormat::humansd_mapping:
            return "humansd";
        case DatasetFormat::humanart_coco:
            return "coco";
        case DatasetFormat::jsonl_manifest:
            return "jsonl";
    }
    return "?";
}

DatasetFormat parse_dataset_format(const std::string& name) {
    for (auto f :
         {DatasetFormat::humansd_mapping, DatasetFormat::humanart_coco, DatasetFormat::jsonl_manifest})
        if (to_string(f) == name) return f;
    fail("unknown dataset format '" + name + "'", "humansd, coco or jsonl", name);
}

Pose load_sample_pose(const DatasetSample& sample, int image_width, int image_height) {
    if (sample.people) {
        Pose pose;
        pose.width = image_width;
        pose.height = image_height;
        pose.people = *sample.people;
        return pose;
    }
    if (sample.pose_path.empty())
        fail(sample.source + ": the sample has neither a pose file nor inline people", "one of them",
             "neither");
    return read_humansd_npz(sample.pose_path, image_width, image_height);
}

namespace {

bool is_coco(const nlohmann::ordered_json& j) {
    return j.is_object() && j.contains("images") && j["images"].is_array() && j.contains("annotations") &&
           j["annotations"].is_array();
}

[[noreturn]] void fail_folder(const fs::path& path) {
    std::vector<std::string> candidates;
    for (const auto& entry : fs::directory_iterator(path))
        if (entry.path().extension() == ".json" || entry.path().extension() == ".jsonl")
            candidates.push_back(entry.path().filename().string());
    std::sort(candidates.begin(), candidates.end());
    std::string list;
    for (size_t i = 0; i < candidates.size() && i < 8; ++i) list += (i ? ", " : "") + candidates[i];
    fail(path.string() + " is a folder, not a dataset file",
         "a mapping JSON, a COCO annotation JSON or a JSONL manifest",
         list.empty() ? "no .json or .jsonl files in it" : "JSON files in it: " + list,
         "name the file, e.g. " +
             (path / (candidates.empty() ? "mapping_file_training.json" : candidates[0])).string());
}

}  // namespace

Dataset open_dataset(const fs::path& path, const DatasetOptions& options) {
    if (fs::is_directory(path)) fail_folder(path);
    Dataset d;
    d.source = path;
    const auto folder = fs::absolute(path).parent_path();
    const bool jsonl =
        options.format ? *options.format == DatasetFormat::jsonl_manifest : path.extension() == ".jsonl";
    if (jsonl) {
        d.format = DatasetFormat::jsonl_manifest;
        d.root = options.root.value_or(folder);
        d.samples = read_jsonl_manifest(path, d.root);
        return d;
    }
    const auto json = read_json_file(path, "dataset JSON");
    d.format = options.format.value_or(is_coco(json) ? DatasetFormat::humanart_coco
                                                     : DatasetFormat::humansd_mapping);
    if (d.format == DatasetFormat::humanart_coco) {
        d.root = options.root.value_or(default_coco_image_root(path));
        d.samples = CocoAnnotations::from_json(json, path).samples(d.root);
    } else {
        d.root = options.root.value_or(folder);
        d.samples = humansd_mapping_samples(json, path.string(), d.root);
    }
    return d;
}

}  // namespace stablepose
