// Every supported dataset as one list of samples: the HumanSD mapping JSON (+ .npz poses), Human-Art's COCO
// annotation JSON, or a JSONL manifest. The loader and `stablepose data check` see only this.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stablepose/data/dataset_sample.h"

namespace stablepose {

enum class DatasetFormat { humansd_mapping, humanart_coco, jsonl_manifest };

// "humansd", "coco", "jsonl"; parse_dataset_format throws Error listing them for anything else.
std::string to_string(DatasetFormat format);
DatasetFormat parse_dataset_format(const std::string& name);

struct DatasetOptions {
    std::optional<DatasetFormat> format;        // default: from the file (below)
    std::optional<std::filesystem::path> root;  // folder the image/pose paths are relative to (below)
};

struct Dataset {
    DatasetFormat format = DatasetFormat::jsonl_manifest;
    std::filesystem::path source;  // the file that defines the dataset
    std::filesystem::path root;    // the folder its relative paths were joined with
    std::vector<DatasetSample> samples;

    size_t size() const { return samples.size(); }
};

// Opens a dataset file, picking the reader by its content: "*.jsonl" -> JSONL manifest; a JSON object with
// "images" and "annotations" arrays -> COCO annotations; any other JSON object -> HumanSD mapping. The
// default root is the file's folder, except for a COCO file inside an "annotations/" folder (Human-Art's
// layout), whose root is the folder above. Throws Error naming the file (for a folder: the JSON files in it).
Dataset open_dataset(const std::filesystem::path& path, const DatasetOptions& options = {});

}  // namespace stablepose
