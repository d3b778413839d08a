// SD 1.x spatial transformer with diffusers' parameter names: Transformer2DModel (norm, proj_in,
// transformer_blocks.N, proj_out) of BasicTransformerBlocks (norm1, attn1, norm2, attn2, norm3, ff).
// Reference: diffusers/models/transformers/transformer_2d.py, attention.py, attention_processor.py.
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace stablepose {

// Multi-head attention: to_q, to_k, to_v (no bias), to_out.0 (bias); scaled_dot_product_attention.
class CrossAttentionImpl : public torch::nn::Module {
public:
    CrossAttentionImpl(int query_dim, int context_dim, int heads, int head_dim);
    // x: [B, N, query_dim]; context: [B, M, context_dim] or undefined (self-attention). Returns [B, N, query_dim].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context = {});
    torch::nn::Linear to_q{nullptr}, to_k{nullptr}, to_v{nullptr};
    torch::nn::ModuleList to_out{nullptr};  // 0: Linear, 1: Dropout(0)

private:
    int heads_, head_dim_;
    torch::nn::Linear out_{nullptr};
};
TORCH_MODULE(CrossAttention);

// GEGLU feed-forward: net.0.proj (dim -> 8 dim), value * GELU(gate), net.2 (4 dim -> dim).
class GegluFeedForwardImpl : public torch::nn::Module {
public:
    explicit GegluFeedForwardImpl(int dim);
    torch::Tensor forward(const torch::Tensor& x);
    torch::nn::ModuleList net{nullptr};

private:
    torch::nn::Linear proj_{nullptr}, out_{nullptr};
};
TORCH_MODULE(GegluFeedForward);

class BasicTransformerBlockImpl : public torch::nn::Module {
public:
    BasicTransformerBlockImpl(int dim, int context_dim, int heads);
    torch::Tensor forward(torch::Tensor x, const torch::Tensor& context);
    torch::nn::LayerNorm norm1{nullptr}, norm2{nullptr}, norm3{nullptr};
    CrossAttention attn1{nullptr}, attn2{nullptr};
    GegluFeedForward ff{nullptr};
};
TORCH_MODULE(BasicTransformerBlock);

class Transformer2DModelImpl : public torch::nn::Module {
public:
    Transformer2DModelImpl(int channels, int context_dim, int heads, int depth, int groups, bool linear_projection);
    // x: [B, C, H, W]; context: [B, M, context_dim]; returns [B, C, H, W] (residual included).
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& context);
    torch::nn::GroupNorm norm{nullptr};
    torch::nn::AnyModule proj_in, proj_out;  // 1x1 conv (SD 1.x) or linear (use_linear_projection)
    torch::nn::ModuleList transformer_blocks{nullptr};

private:
    bool linear_projection_;
    std::vector<BasicTransformerBlock> blocks_;
};
TORCH_MODULE(Transformer2DModel);

}  // namespace stablepose
