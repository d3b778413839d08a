// AttnResBlock: the adapter's first ResBlock with the PMSA ViT and the pose features.
// Reference: `cldm/stable_pose_cldm.py::AttnResBlock` (stable-pose.md §4; names in_layers.2, emb_layers.1,
// attn_layer, norm, cond_conv, out_layers.3).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/normalization.h>

#include "stablepose/nn/pmsa_vit.h"

namespace stablepose {

struct AttnResBlockOptions {
    int channels = 320;       // in == out (identity skip)
    int emb_channels = 1280;  // time embedding
    int pose_channels = 192;  // pose encoder output
    int norm_groups = 32;
    PmsaVitOptions vit;       // vit.channels must equal channels
};

class AttnResBlockImpl : public torch::nn::Module {
public:
    explicit AttnResBlockImpl(const AttnResBlockOptions& options = {});

    // x: [B, C, H, W]; emb: [B, emb_channels]; pose_features: [B, pose_channels, H, W];
    // masks: [depth*B, H, W] latent pose masks or undefined. Returns [B, C, H, W]:
    //   h = in_layers(x) + emb_layers(emb); h = attn_layer(h, masks) (replaces h, no residual);
    //   h = norm(h) + cond_conv(pose_features); return x + out_layers(h).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& emb, const torch::Tensor& pose_features,
                          const torch::Tensor& masks = {});

    torch::nn::Sequential in_layers{nullptr};   // 0 Identity, 1 SiLU, 2 conv 3x3
    torch::nn::Sequential emb_layers{nullptr};  // 0 SiLU, 1 linear
    PmsaVit attn_layer{nullptr};
    torch::nn::GroupNorm norm{nullptr};         // affine = false: no parameters
    torch::nn::Conv2d cond_conv{nullptr};
    torch::nn::Sequential out_layers{nullptr};  // 0 Identity, 1 SiLU, 2 Dropout(0), 3 conv 3x3

private:
    AttnResBlockOptions options_;
};
TORCH_MODULE(AttnResBlock);

}  // namespace stablepose
