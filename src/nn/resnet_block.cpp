#include "stablepose/nn/resnet_block.h"

#include <cmath>

namespace stablepose {

namespace nn = torch::nn;

torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int dim, bool flip_sin_to_cos, double freq_shift) {
    const int half = dim / 2;
    auto exponent = -std::log(10000.0) * torch::arange(half, torch::dtype(torch::kFloat32).device(timesteps.device()));
    exponent = exponent / (half - freq_shift);
    auto emb = timesteps.unsqueeze(1).to(torch::kFloat32) * torch::exp(exponent).unsqueeze(0);  // [B, half]
    emb = flip_sin_to_cos ? torch::cat({torch::cos(emb), torch::sin(emb)}, -1) : torch::cat({torch::sin(emb), torch::cos(emb)}, -1);
    if (dim % 2 == 1) emb = torch::nn::functional::pad(emb, torch::nn::functional::PadFuncOptions({0, 1}));
    return emb;
}

TimestepEmbeddingImpl::TimestepEmbeddingImpl(int in_channels, int time_embed_dim) {
    linear_1 = register_module("linear_1", nn::Linear(in_channels, time_embed_dim));
    linear_2 = register_module("linear_2", nn::Linear(time_embed_dim, time_embed_dim));
}

torch::Tensor TimestepEmbeddingImpl::forward(const torch::Tensor& t_emb) {
    return linear_2(torch::silu(linear_1(t_emb)));
}

torch::Tensor group_norm_fp32(nn::GroupNorm& norm, const torch::Tensor& x) {
    const bool fp32_weights = !norm->weight.defined() || norm->weight.scalar_type() == torch::kFloat32;
    if (x.scalar_type() == torch::kFloat32 && fp32_weights) return norm(x);
    // Statistics in float32 whatever the input and weight dtypes (a bf16 sampler casts the weights too).
    auto fp32 = [](const torch::Tensor& t) { return t.defined() ? t.to(torch::kFloat32) : t; };
    const auto& o = norm->options;
    return torch::group_norm(x.to(torch::kFloat32), o.num_groups(), fp32(norm->weight), fp32(norm->bias), o.eps())
        .to(x.scalar_type());
}

ResnetBlock2DImpl::ResnetBlock2DImpl(int in_channels, int out_channels, int temb_channels, int groups, double eps) {
    norm1 = register_module("norm1", nn::GroupNorm(nn::GroupNormOptions(groups, in_channels).eps(eps)));
    conv1 = register_module("conv1", nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 3).padding(1)));
    time_emb_proj = register_module("time_emb_proj", nn::Linear(temb_channels, out_channels));
    norm2 = register_module("norm2", nn::GroupNorm(nn::GroupNormOptions(groups, out_channels).eps(eps)));
    conv2 = register_module("conv2", nn::Conv2d(nn::Conv2dOptions(out_channels, out_channels, 3).padding(1)));
    if (in_channels != out_channels)
        conv_shortcut = register_module("conv_shortcut", nn::Conv2d(nn::Conv2dOptions(in_channels, out_channels, 1)));
}

torch::Tensor ResnetBlock2DImpl::forward(const torch::Tensor& x, const torch::Tensor& temb) {
    auto h = conv1(torch::silu(group_norm_fp32(norm1, x)));
    h = h + time_emb_proj(torch::silu(temb)).unsqueeze(-1).unsqueeze(-1);
    h = conv2(torch::silu(group_norm_fp32(norm2, h)));  // dropout 0
    return (conv_shortcut ? conv_shortcut(x) : x) + h;
}

Downsample2DImpl::Downsample2DImpl(int channels) {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(channels, channels, 3).stride(2).padding(1)));
}

}  // namespace stablepose
