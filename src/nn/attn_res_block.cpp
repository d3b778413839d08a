#include "stablepose/nn/attn_res_block.h"

#include <torch/nn/modules/activation.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/linear.h>

#include "stablepose/error.h"

namespace stablepose {

namespace nn = torch::nn;

AttnResBlockImpl::AttnResBlockImpl(const AttnResBlockOptions& options) : options_(options) {
    const int c = options.channels;
    if (options.vit.channels != c)
        fail("AttnResBlock: the ViT must work on the block's channels", std::to_string(c),
             std::to_string(options.vit.channels));
    in_layers = register_module("in_layers", nn::Sequential(nn::Identity(), nn::SiLU(),
                                                            nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1))));
    emb_layers = register_module("emb_layers", nn::Sequential(nn::SiLU(), nn::Linear(options.emb_channels, c)));
    attn_layer = register_module("attn_layer", PmsaVit(options.vit));
    norm = register_module("norm", nn::GroupNorm(nn::GroupNormOptions(options.norm_groups, c).affine(false)));
    cond_conv = register_module("cond_conv", nn::Conv2d(nn::Conv2dOptions(options.pose_channels, c, 3).padding(1)));
    out_layers = register_module("out_layers", nn::Sequential(nn::Identity(), nn::SiLU(), nn::Dropout(0.0),
                                                              nn::Conv2d(nn::Conv2dOptions(c, c, 3).padding(1))));
}

torch::Tensor AttnResBlockImpl::forward(const torch::Tensor& x, const torch::Tensor& emb,
                                        const torch::Tensor& pose_features, const torch::Tensor& masks) {
    const auto b = x.size(0), h = x.size(2), w = x.size(3);
    if (emb.dim() != 2 || emb.size(0) != b || emb.size(1) != options_.emb_channels)
        fail("AttnResBlock: time embedding shape", "[" + std::to_string(b) + ", " +
                                                       std::to_string(options_.emb_channels) + "]",
             c10::str(emb.sizes()));
    if (pose_features.dim() != 4 || pose_features.size(0) != b || pose_features.size(1) != options_.pose_channels ||
        pose_features.size(2) != h || pose_features.size(3) != w)
        fail("AttnResBlock: pose features must sit on the block's grid",
             "[" + std::to_string(b) + ", " + std::to_string(options_.pose_channels) + ", " + std::to_string(h) +
                 ", " + std::to_string(w) + "]",
             c10::str(pose_features.sizes()));
    auto hidden = in_layers->forward(x) + emb_layers->forward(emb).unsqueeze(-1).unsqueeze(-1);
    hidden = attn_layer(hidden, masks);
    hidden = norm(hidden.to(torch::kFloat32)).to(hidden.scalar_type());  // GroupNorm in fp32, as LDM does
    hidden = hidden + cond_conv(pose_features);
    return x + out_layers->forward(hidden);
}

}  // namespace stablepose
