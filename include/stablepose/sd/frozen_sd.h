// The frozen Stable Diffusion parts, loaded from a TorchScript model directory written by
// scripts/export_sd.py (runtime.md §2-4): U-Net with control residuals, VAE encoder and decoder, CLIP text
// encoder. Loading checks model.json, the linked LibTorch version, file hashes, the graph signature and a
// probe call, and fails with expected/found/hint. Parameters are frozen; the U-Net is differentiable with
// respect to its inputs (gradients reach the adapter's residuals).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <torch/script.h>

#include "stablepose/nn/unet_config.h"

namespace stablepose {

inline constexpr const char* kFrozenSdFormat = "stablepose.frozen-sd";
inline constexpr int kFrozenSdFormatVersion = 1;

struct FrozenLoadOptions {
    std::optional<torch::Device> device;     // default: the device in model.json
    std::optional<torch::ScalarType> dtype;  // default: the dtype in model.json; must equal it
    bool verify_hashes = true;               // sha256 of every .pt against model.json
    bool probe = true;                       // a batch-1 call per component at load, shapes and dtype checked
};

// model.json, parsed and checked against the linked LibTorch.
struct FrozenModelSpec {
    std::filesystem::path dir;
    nlohmann::json json;
    UNetConfig unet;
    torch::Device device = torch::kCPU;
    torch::ScalarType dtype = torch::kFloat32;
    bool channels_last = false;
    double vae_scaling_factor = 0.18215;
    int latent_channels = 4;
    int text_hidden_size = 768;
    int text_max_length = 77;

    static FrozenModelSpec load(const std::filesystem::path& dir, const FrozenLoadOptions& options = {});
    const nlohmann::json& component(const std::string& name) const;
    // The tokenizer vocabulary named by model.json (the gz file or vocab.json; merges.txt beside it).
    std::filesystem::path tokenizer_path() const;
};

// "fp32" | "fp16" | "bf16" (model.json) <-> ScalarType.
torch::ScalarType parse_model_dtype(const std::string& name);
std::string model_dtype_name(torch::ScalarType dtype);

// One traced component: loaded, frozen, signature-checked.
class FrozenComponent {
public:
    FrozenComponent() = default;
    FrozenComponent(const FrozenModelSpec& spec, const std::string& name, int expected_inputs,
                    const FrozenLoadOptions& options);
    torch::Tensor call(std::vector<torch::jit::IValue> inputs);
    // Parameters with the wrapper's attribute prefix removed (e.g. "unet.conv_in.weight" -> "conv_in.weight").
    std::map<std::string, torch::Tensor> parameters(const std::string& strip_prefix) const;
    const std::string& name() const { return name_; }

private:
    std::string name_;
    mutable torch::jit::Module module_;
};

class FrozenUNet {
public:
    FrozenUNet() = default;
    FrozenUNet(const FrozenModelSpec& spec, const FrozenLoadOptions& options);
    // sample: [B, 4, h, w]; timesteps: [B] int64; context: [B, 77, D]; residuals: the adapter's
    // num_down_residuals() + 1 tensors (mid last). Inputs are cast to the artifact's dtype and memory
    // format; returns eps [B, 4, h, w] in float32. Differentiable with respect to the residuals.
    torch::Tensor operator()(const torch::Tensor& sample, const torch::Tensor& timesteps, const torch::Tensor& context,
                             const std::vector<torch::Tensor>& residuals);
    // The U-Net's weights by diffusers name, for the adapter's initialisation.
    std::map<std::string, torch::Tensor> state_dict() const { return component_.parameters("unet."); }

private:
    FrozenComponent component_;
    torch::ScalarType dtype_ = torch::kFloat32;
    torch::Device device_ = torch::kCPU;
    bool channels_last_ = false;
    int num_residuals_ = 13;
};

class VaeEncoder {
public:
    VaeEncoder() = default;
    VaeEncoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options);
    // image: [B, 3, H, W] in [-1, 1]; returns the moments [B, 2*latent, H/8, W/8] in float32.
    torch::Tensor moments(const torch::Tensor& image);
    // Samples z = mean + exp(0.5 * clamp(logvar, -30, 20)) * eps with eps from `generator` (CPU noise, so a
    // seed means the same latents on every device), times the scaling factor: [B, latent, H/8, W/8].
    torch::Tensor encode(const torch::Tensor& image, torch::Generator& generator);

private:
    FrozenComponent component_;
    torch::ScalarType dtype_ = torch::kFloat32;
    torch::Device device_ = torch::kCPU;
    bool channels_last_ = false;
    double scaling_factor_ = 0.18215;
};

class VaeDecoder {
public:
    VaeDecoder() = default;
    VaeDecoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options);
    // latents: [B, latent, h, w] scaled latents; returns the image [B, 3, 8h, 8w] in about [-1, 1], float32.
    torch::Tensor decode(const torch::Tensor& latents);

private:
    FrozenComponent component_;
    torch::ScalarType dtype_ = torch::kFloat32;
    torch::Device device_ = torch::kCPU;
    bool channels_last_ = false;
};

class TextEncoder {
public:
    TextEncoder() = default;
    TextEncoder(const FrozenModelSpec& spec, const FrozenLoadOptions& options);
    // input_ids: [B, 77] int64; returns the last hidden state [B, 77, D] in float32.
    torch::Tensor encode(const torch::Tensor& input_ids);

private:
    FrozenComponent component_;
    torch::Device device_ = torch::kCPU;
};

struct FrozenStableDiffusion {
    FrozenModelSpec spec;
    FrozenUNet unet;
    VaeEncoder vae_encoder;
    VaeDecoder vae_decoder;
    TextEncoder text_encoder;

    static FrozenStableDiffusion load(const std::filesystem::path& dir, const FrozenLoadOptions& options = {});
};

}  // namespace stablepose
