#include "stablepose/nn/transformer_2d.h"

#include <ATen/ATen.h>
#include <torch/nn/modules/dropout.h>

#include "stablepose/nn/resnet_block.h"

namespace stablepose {

namespace nn = torch::nn;

CrossAttentionImpl::CrossAttentionImpl(int query_dim, int context_dim, int heads, int head_dim)
    : heads_(heads), head_dim_(head_dim) {
    const int inner = heads * head_dim;
    to_q = register_module("to_q", nn::Linear(nn::LinearOptions(query_dim, inner).bias(false)));
    to_k = register_module("to_k", nn::Linear(nn::LinearOptions(context_dim, inner).bias(false)));
    to_v = register_module("to_v", nn::Linear(nn::LinearOptions(context_dim, inner).bias(false)));
    out_ = nn::Linear(inner, query_dim);
    to_out = register_module("to_out", nn::ModuleList(out_, nn::Dropout(0.0)));
}

torch::Tensor CrossAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
    const auto& kv = context.defined() ? context : x;
    const auto b = x.size(0);
    auto heads = [&](const torch::Tensor& t) { return t.view({b, -1, heads_, head_dim_}).transpose(1, 2); };
    auto out = at::scaled_dot_product_attention(heads(to_q(x)), heads(to_k(kv)), heads(to_v(kv)));  // [B, h, N, d]
    return out_(out.transpose(1, 2).reshape({b, -1, heads_ * head_dim_}));
}

GegluFeedForwardImpl::GegluFeedForwardImpl(int dim) {
    const int inner = 4 * dim;
    proj_ = nn::Linear(dim, 2 * inner);
    auto geglu = std::make_shared<nn::Module>();
    geglu->register_module("proj", proj_);
    out_ = nn::Linear(inner, dim);
    net = register_module("net", nn::ModuleList());
    net->push_back(geglu);
    net->push_back(nn::Dropout(0.0));
    net->push_back(out_);
}

torch::Tensor GegluFeedForwardImpl::forward(const torch::Tensor& x) {
    auto parts = proj_(x).chunk(2, -1);
    return out_(parts[0] * torch::gelu(parts[1]));
}

BasicTransformerBlockImpl::BasicTransformerBlockImpl(int dim, int context_dim, int heads) {
    norm1 = register_module("norm1", nn::LayerNorm(nn::LayerNormOptions({dim})));
    attn1 = register_module("attn1", CrossAttention(dim, dim, heads, dim / heads));
    norm2 = register_module("norm2", nn::LayerNorm(nn::LayerNormOptions({dim})));
    attn2 = register_module("attn2", CrossAttention(dim, context_dim, heads, dim / heads));
    norm3 = register_module("norm3", nn::LayerNorm(nn::LayerNormOptions({dim})));
    ff = register_module("ff", GegluFeedForward(dim));
}

torch::Tensor BasicTransformerBlockImpl::forward(torch::Tensor x, const torch::Tensor& context) {
    x = attn1(norm1(x)) + x;
    x = attn2(norm2(x), context) + x;
    return ff(norm3(x)) + x;
}

Transformer2DModelImpl::Transformer2DModelImpl(int channels, int context_dim, int heads, int depth, int groups,
                                               bool linear_projection)
    : linear_projection_(linear_projection) {
    norm = register_module("norm", nn::GroupNorm(nn::GroupNormOptions(groups, channels).eps(1e-6)));
    if (linear_projection) {
        proj_in = nn::AnyModule(register_module("proj_in", nn::Linear(channels, channels)));
        proj_out = nn::AnyModule(register_module("proj_out", nn::Linear(channels, channels)));
    } else {
        proj_in = nn::AnyModule(register_module("proj_in", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1))));
        proj_out = nn::AnyModule(register_module("proj_out", nn::Conv2d(nn::Conv2dOptions(channels, channels, 1))));
    }
    transformer_blocks = register_module("transformer_blocks", nn::ModuleList());
    for (int d = 0; d < depth; ++d) {
        blocks_.emplace_back(channels, context_dim, heads);
        transformer_blocks->push_back(blocks_.back());
    }
}

torch::Tensor Transformer2DModelImpl::forward(const torch::Tensor& x, const torch::Tensor& context) {
    const auto b = x.size(0), c = x.size(1), h = x.size(2), w = x.size(3);
    auto hidden = group_norm_fp32(norm, x);
    auto to_tokens = [&](const torch::Tensor& t) { return t.permute({0, 2, 3, 1}).reshape({b, h * w, c}); };
    auto to_grid = [&](const torch::Tensor& t) { return t.reshape({b, h, w, c}).permute({0, 3, 1, 2}); };
    hidden = linear_projection_ ? proj_in.forward(to_tokens(hidden)) : to_tokens(proj_in.forward(hidden));
    for (auto& block : blocks_) hidden = block(hidden, context);
    hidden = linear_projection_ ? to_grid(proj_out.forward(hidden)) : proj_out.forward(to_grid(hidden).contiguous());
    return hidden + x;
}

}  // namespace stablepose
