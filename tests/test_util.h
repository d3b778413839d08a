// Shared helpers for the C++ tests: reference tensors produced by tests/reference/make_golden.py.
#pragma once

#include <filesystem>
#include <functional>
#include <string>

#include <gtest/gtest.h>
#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/io/safetensors.h"
#include "stablepose/nn/stable_pose_adapter.h"

namespace stablepose::testing {

// Loads (once per process) GOLDEN_DIR/<file>.safetensors and returns the named tensor.
torch::Tensor golden(const std::string& file, const std::string& name);
const SafetensorsFile& golden_file(const std::string& file);

// The message of the stablepose::Error that f throws, or "no error".
inline std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "no error";
}

inline std::filesystem::path fixture(const std::string& name) {
    return std::filesystem::path(STABLEPOSE_FIXTURES_DIR) / name;
}

// Max |a - b| for reports.
inline double max_abs_diff(const torch::Tensor& a, const torch::Tensor& b) {
    return (a.to(torch::kFloat64) - b.to(torch::kFloat64)).abs().max().item<double>();
}

// Max |a - b| / max(1, max |b|): an absolute tolerance for values of order one, relative above.
inline double scaled_diff(const torch::Tensor& a, const torch::Tensor& expected) {
    return max_abs_diff(a, expected) / std::max(1.0, expected.abs().max().item<double>());
}

// A stable_pose adapter for the tiny exported U-Net: a small PMSA ViT (dim = patch_size^2 * reduced_channels).
inline AdapterConfig tiny_stable_pose_config(const UNetConfig& unet) {
    AdapterConfig config;
    config.unet = unet;
    config.vit.dim = 64;
    config.vit.dim_head = 16;
    config.vit.heads = 4;
    config.vit.mlp_dim = 64;
    config.vit.reduced_channels = 16;
    config.pose_encoder.out_channels = 32;
    return config;
}

}  // namespace stablepose::testing
