// One training pair as every dataset reader describes it: where the image is, where its people come from
// (a HumanSD .npz, or inline from the annotations), and its text.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stablepose/pose/pose.h"

namespace stablepose {

struct DatasetSample {
    std::string id;                             // mapping key, COCO image id, or manifest line number
    std::filesystem::path image_path;           // already joined with the dataset root
    std::filesystem::path pose_path;            // HumanSD .npz; empty when `people` is given inline
    std::optional<std::vector<Person>> people;  // COCO-17 people from the annotations (COCO, JSONL)
    std::string caption;
    std::string scenario;  // Human-Art `category` ("cartoon", "dance", ...); empty when unknown
    int width = 0;         // image size recorded in the annotations; 0 when unknown
    int height = 0;
    std::string source;  // where the sample is defined, for messages: "FILE: entry 'KEY'" or "FILE:LINE"
};

// The people of `sample` for an image of the given size: read from the .npz, or the inline people. Values
// are as stored (the transforms apply the official loader semantics). Throws Error naming the file.
Pose load_sample_pose(const DatasetSample& sample, int image_width, int image_height);

}  // namespace stablepose
