// The HumanSD layout of Human-Art and LAION-Human (stable-pose.md §11.1): a mapping JSON object
// {sample id: {"img_path", "pose_path", "prompt"}} with paths relative to a base folder; dict order is the
// sample order. Reference: HumanSD / Stable-Pose `ldm/data/dataset_pose.py` (map_file, base_path).
#pragma once

#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/data/dataset_sample.h"

namespace stablepose {

// Samples in the mapping's key order; img_path and pose_path are joined with `base_path`. Throws Error naming
// the file and the entry for a value that is not an object with the three strings.
std::vector<DatasetSample> read_humansd_mapping(const std::filesystem::path& mapping_file,
                                                const std::filesystem::path& base_path);
// The same for an already parsed file (`source` names it in messages).
std::vector<DatasetSample> humansd_mapping_samples(const nlohmann::ordered_json& mapping,
                                                   const std::string& source,
                                                   const std::filesystem::path& base_path);

}  // namespace stablepose
