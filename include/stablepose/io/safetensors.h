// safetensors files (https://github.com/huggingface/safetensors format): an 8-byte little-endian header
// length, a JSON header {name: {dtype, shape, data_offsets}, "__metadata__": {...}}, then raw data.
// Hand-written: no packaged C++ library for the format exists in the project's registries.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <torch/types.h>

namespace stablepose {

struct SafetensorsFile {
    std::map<std::string, torch::Tensor> tensors;  // CPU, contiguous
    std::map<std::string, std::string> metadata;
};

// Throws Error for a missing file, a truncated or inconsistent header, or an unsupported dtype.
SafetensorsFile read_safetensors(const std::filesystem::path& path);
// Writes atomically; tensors are moved to CPU and made contiguous.
void write_safetensors(const std::filesystem::path& path, const std::map<std::string, torch::Tensor>& tensors,
                       const std::map<std::string, std::string>& metadata = {});

}  // namespace stablepose
