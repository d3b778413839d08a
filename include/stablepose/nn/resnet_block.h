// SD U-Net building blocks with diffusers' parameter names: sinusoidal timestep embedding,
// TimestepEmbedding (linear_1, linear_2), ResnetBlock2D (norm1, conv1, time_emb_proj, norm2, conv2,
// conv_shortcut) and Downsample2D (conv). Reference: diffusers/models/{embeddings,resnet,downsampling}.py.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace stablepose {

// timesteps: [B] (any numeric dtype); returns [B, dim] float32: diffusers get_timestep_embedding with
// max_period 10000, sin then cos, swapped to [cos, sin] when flip_sin_to_cos.
torch::Tensor timestep_embedding(const torch::Tensor& timesteps, int dim, bool flip_sin_to_cos, double freq_shift);

class TimestepEmbeddingImpl : public torch::nn::Module {
public:
    TimestepEmbeddingImpl(int in_channels, int time_embed_dim);
    // t_emb: [B, in]; returns [B, time_embed_dim] = linear_2(SiLU(linear_1(t_emb))).
    torch::Tensor forward(const torch::Tensor& t_emb);
    torch::nn::Linear linear_1{nullptr}, linear_2{nullptr};
};
TORCH_MODULE(TimestepEmbedding);

class ResnetBlock2DImpl : public torch::nn::Module {
public:
    ResnetBlock2DImpl(int in_channels, int out_channels, int temb_channels, int groups, double eps);
    // x: [B, in, H, W]; temb: [B, temb_channels]; returns [B, out, H, W].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& temb);
    torch::nn::GroupNorm norm1{nullptr}, norm2{nullptr};
    torch::nn::Conv2d conv1{nullptr}, conv2{nullptr}, conv_shortcut{nullptr};  // conv_shortcut only when in != out
    torch::nn::Linear time_emb_proj{nullptr};
};
TORCH_MODULE(ResnetBlock2D);

// Conv 3x3, stride 2, padding 1, named `conv`.
class Downsample2DImpl : public torch::nn::Module {
public:
    explicit Downsample2DImpl(int channels);
    torch::Tensor forward(const torch::Tensor& x) { return conv(x); }
    torch::nn::Conv2d conv{nullptr};
};
TORCH_MODULE(Downsample2D);

// GroupNorm computed in float32 and cast back, as LDM's GroupNorm32 and autocast do under reduced precision.
torch::Tensor group_norm_fp32(torch::nn::GroupNorm& norm, const torch::Tensor& x);

}  // namespace stablepose
