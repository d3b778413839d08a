// A manifest for a user's own data: one JSON object per line,
//   {"image": "photos/a.jpg", "caption": "a man dancing", "people": [[[x, y, c], ... 17 joints], ...]}
// with COCO-17 joints in image pixels (a missing joint is [-1, -1, 0]) and image paths relative to the
// manifest's folder. Blank lines are skipped; unknown keys are rejected (docs/data.md).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "stablepose/data/dataset_sample.h"

namespace stablepose {

// Throws Error naming "FILE:LINE" for invalid JSON, missing or unknown keys, or joints that are not
// 17 finite [x, y, c] triples.
std::vector<DatasetSample> read_jsonl_manifest(const std::filesystem::path& manifest,
                                               const std::filesystem::path& image_root);
// One line's sample (`where` = "FILE:LINE").
DatasetSample parse_manifest_line(const std::string& line, const std::string& where,
                                  const std::filesystem::path& image_root);

}  // namespace stablepose
