// Loading named weights into LibTorch modules, checked by name and shape (no renaming tables).
#pragma once

#include <map>
#include <string>

#include <torch/nn/module.h>

namespace stablepose {

// Flat name -> tensor of every parameter and buffer, with PyTorch's dotted names.
std::map<std::string, torch::Tensor> state_dict(const torch::nn::Module& module);

// Copies `weights[prefix + name]` into each parameter/buffer of `module`. Strict: throws Error naming
// the first missing key, unexpected key (among those starting with `prefix`) or shape mismatch.
void load_state_dict(torch::nn::Module& module, const std::map<std::string, torch::Tensor>& weights,
                     const std::string& prefix = "");

// Number of parameter elements (trainable or not).
int64_t parameter_count(const torch::nn::Module& module);

}  // namespace stablepose
