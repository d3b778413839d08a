// The trainable adapter: a ControlNet-style copy of the SD U-Net encoder (time embedding, conv_in, down
// blocks, mid block) with 12 + 1 zero 1x1 convs, named like diffusers' ControlNetModel, in two modes:
//  - stable_pose: pose encoder (`feature_extractor`) + AttnResBlock with the PMSA ViT in place of
//    down_blocks.0.resnets.0 (stable-pose.md §2-4); nothing is added after conv_in;
//  - controlnet: diffusers' `controlnet_cond_embedding` added after conv_in (the ControlNet baseline).
// Reference: diffusers/models/controlnets/controlnet.py, cldm/stable_pose_cldm.py::StablePoseAdapter.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>

#include "stablepose/nn/attn_res_block.h"
#include "stablepose/nn/pose_encoder.h"
#include "stablepose/nn/resnet_block.h"
#include "stablepose/nn/transformer_2d.h"
#include "stablepose/nn/unet_config.h"

namespace stablepose {

enum class AdapterMode { kStablePose, kControlNet };
AdapterMode parse_adapter_mode(const std::string& name);  // "stable_pose" | "controlnet"
std::string to_string(AdapterMode mode);

struct AdapterConfig {
    UNetConfig unet;
    AdapterMode mode = AdapterMode::kStablePose;
    PoseEncoderOptions pose_encoder;     // stable_pose: out_channels = AttnResBlock pose channels
    PmsaVitOptions vit;                  // stable_pose: channels are set to block_out_channels[0]
    std::vector<int> conditioning_embedding_out_channels{16, 32, 96, 256};  // controlnet
    int conditioning_channels = 3;                                         // controlnet
};

// diffusers ControlNetConditioningEmbedding: conv_in, blocks (pairs of 3x3 convs, the second stride 2),
// conv_out (zero-initialised), SiLU between. Image [B, 3, 8h, 8w] -> [B, C0, h, w].
class ControlNetConditioningEmbeddingImpl : public torch::nn::Module {
public:
    ControlNetConditioningEmbeddingImpl(int out_channels, int in_channels, const std::vector<int>& block_channels);
    torch::Tensor forward(const torch::Tensor& image);
    torch::nn::Conv2d conv_in{nullptr}, conv_out{nullptr};
    torch::nn::ModuleList blocks{nullptr};
};
TORCH_MODULE(ControlNetConditioningEmbedding);

// One down level: resnets (the first may be the AttnResBlock), cross-attention transformers, downsampler.
class AdapterDownBlockImpl : public torch::nn::Module {
public:
    AdapterDownBlockImpl(const UNetConfig& unet, int level, const AttnResBlockOptions* attn_res_block);
    // Appends one residual per resnet (after its transformer) and one after the downsampler.
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context,
                          const torch::Tensor& pose_features, const torch::Tensor& masks,
                          std::vector<torch::Tensor>& residuals);
    torch::nn::ModuleList resnets{nullptr}, attentions{nullptr}, downsamplers{nullptr};

private:
    AttnResBlock attn_res_block_{nullptr};
    std::vector<ResnetBlock2D> resnets_;
    std::vector<Transformer2DModel> attentions_;
    Downsample2D downsampler_{nullptr};
};
TORCH_MODULE(AdapterDownBlock);

class AdapterMidBlockImpl : public torch::nn::Module {
public:
    explicit AdapterMidBlockImpl(const UNetConfig& unet);
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& temb, const torch::Tensor& context);
    torch::nn::ModuleList resnets{nullptr}, attentions{nullptr};

private:
    ResnetBlock2D first_{nullptr}, second_{nullptr};
    Transformer2DModel attention_{nullptr};
};
TORCH_MODULE(AdapterMidBlock);

// A piece of the adapter's forward pass (the condition encoder, one down block, the mid block) and the hook
// that runs it: plain by default; training may wrap each piece in activation checkpointing
// (train/activation_checkpoint.h), so only one piece's activations are alive at a time in the backward pass.
using AdapterSegment = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>& inputs)>;
using AdapterSegmentRunner = std::function<std::vector<torch::Tensor>(
    const AdapterSegment& segment, const std::vector<torch::Tensor>& inputs, const std::vector<torch::Tensor>& params)>;

class StablePoseAdapterImpl : public torch::nn::Module {
public:
    explicit StablePoseAdapterImpl(const AdapterConfig& config);

    // Every encode_condition and forward then runs its pieces through `runner` (empty: run them directly).
    void set_segment_runner(AdapterSegmentRunner runner) { segment_runner_ = std::move(runner); }

    // The per-image condition features; constant over the denoising steps, so samplers compute them once.
    // image: [B, 3, 8h, 8w] in [-1, 1] (stable_pose: the skeleton; controlnet: the control image in the
    // checkpoint's value range). Returns [B, C, h, w].
    torch::Tensor encode_condition(const torch::Tensor& image);

    // sample: [B, 4, h, w]; timesteps: [B]; context: [B, 77, D]; condition: encode_condition(image);
    // masks (stable_pose): [depth*B, h, w] pose masks, coarse first, or undefined (no masking).
    // Returns num_down_residuals() + 1 tensors: the down residuals, then mid; each times `scale`.
    std::vector<torch::Tensor> forward(const torch::Tensor& sample, const torch::Tensor& timesteps,
                                       const torch::Tensor& context, const torch::Tensor& condition,
                                       const torch::Tensor& masks = {}, double scale = 1.0);

    const AdapterConfig& config() const { return config_; }

    torch::nn::Conv2d conv_in{nullptr};
    TimestepEmbedding time_embedding{nullptr};
    PoseEncoder feature_extractor{nullptr};                            // stable_pose only
    ControlNetConditioningEmbedding controlnet_cond_embedding{nullptr};  // controlnet only
    torch::nn::ModuleList down_blocks{nullptr};
    AdapterMidBlock mid_block{nullptr};
    torch::nn::ModuleList controlnet_down_blocks{nullptr};
    torch::nn::Conv2d controlnet_mid_block{nullptr};

private:
    AdapterConfig config_;
    AdapterSegmentRunner segment_runner_;
    std::vector<AdapterDownBlock> down_;
    std::vector<torch::nn::Conv2d> zero_convs_;
};
TORCH_MODULE(StablePoseAdapter);

// Initialisation from the frozen U-Net's state dict (diffusers names), stable-pose.md §14.2: copies every
// adapter key present in the U-Net; remaps down_blocks.0.resnets.0.{conv1, time_emb_proj, conv2} to the
// AttnResBlock's {in_layers.2, emb_layers.1, out_layers.3}; zeroes the 13 output convs, the pose encoder's
// zero_convs.0 (or, in ControlNet mode, the hint embedding's conv_out). Throws Error when an encoder-copy key
// is missing from the U-Net or has another shape (a config mismatch). Returns the keys left at their fresh
// initialisation.
std::vector<std::string> initialize_adapter_from_unet(StablePoseAdapter& adapter,
                                                      const std::map<std::string, torch::Tensor>& unet_state);

}  // namespace stablepose
