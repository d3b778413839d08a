#include "stablepose/nn/pmsa_vit.h"

#include <cmath>

#include <ATen/ATen.h>
#include <torch/nn/functional/activation.h>
#include <torch/nn/modules/activation.h>

#include "stablepose/error.h"

namespace stablepose {

namespace nn = torch::nn;

torch::Tensor patchify(const torch::Tensor& x, int p) {
    const auto b = x.size(0), c = x.size(1), h = x.size(2) / p, w = x.size(3) / p;
    // b c (h p1) (w p2) -> b (h w) (p1 p2 c)
    return x.view({b, c, h, p, w, p}).permute({0, 2, 4, 3, 5, 1}).reshape({b, h * w, p * p * c});
}

torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t h, int64_t w, int p) {
    const auto b = tokens.size(0), c = tokens.size(2) / (p * p);
    // b (h w) (p1 p2 c) -> b c (h p1) (w p2)
    return tokens.view({b, h, w, p, p, c}).permute({0, 5, 1, 3, 2, 4}).reshape({b, c, h * p, w * p});
}

torch::Tensor posemb_sincos_2d(int64_t h, int64_t w, int dim, double temperature) {
    if (dim % 4 != 0) fail("PMSA ViT: the sin-cos position code needs dim divisible by 4", "dim % 4 == 0", std::to_string(dim));
    const int quarter = dim / 4;
    auto grid = torch::meshgrid({torch::arange(h, torch::kFloat32), torch::arange(w, torch::kFloat32)}, "ij");
    auto omega = torch::arange(quarter, torch::kFloat32) / static_cast<double>(quarter - 1);
    omega = torch::reciprocal(torch::pow(temperature, omega));
    auto y = grid[0].flatten().unsqueeze(1) * omega.unsqueeze(0);
    auto x = grid[1].flatten().unsqueeze(1) * omega.unsqueeze(0);
    return torch::cat({x.sin(), x.cos(), y.sin(), y.cos()}, 1);  // [h*w, dim]
}

torch::Tensor token_foreground(const torch::Tensor& latent_masks, int p) {
    const auto b = latent_masks.size(0), h = latent_masks.size(1) / p, w = latent_masks.size(2) / p;
    auto on = latent_masks == 1;  // the official test is `m == 1`
    return on.view({b, h, p, w, p}).any(4).any(2).reshape({b, h * w});
}

torch::Tensor allowed_pairs(const torch::Tensor& foreground) {
    return foreground.unsqueeze(2).logical_or(foreground.unsqueeze(1));
}

// ---- attention -----------------------------------------------------------------------------------------

PmsaAttentionImpl::PmsaAttentionImpl(const PmsaVitOptions& options) : options_(options) {
    const int inner = options.heads * options.dim_head;
    norm = register_module("norm", nn::LayerNorm(nn::LayerNormOptions({options.dim})));
    to_qkv = register_module("to_qkv", nn::Linear(nn::LinearOptions(options.dim, 3 * inner).bias(false)));
    to_out = register_module("to_out", nn::Linear(nn::LinearOptions(inner, options.dim).bias(false)));
}

torch::Tensor PmsaAttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& allowed) {
    const auto b = x.size(0), n = x.size(1);
    const int heads = options_.heads, dh = options_.dim_head;
    auto qkv = to_qkv(norm(x)).chunk(3, -1);
    auto split_heads = [&](const torch::Tensor& t) { return t.view({b, n, heads, dh}).transpose(1, 2); };
    auto q = split_heads(qkv[0]), k = split_heads(qkv[1]), v = split_heads(qkv[2]);  // [B, h, N, d]
    const double scale = std::pow(static_cast<double>(dh), -0.5);
    torch::Tensor out;
    if (!allowed.defined() && options_.fused_unmasked_attention) {
        out = at::scaled_dot_product_attention(q, k, v, {}, 0.0, false, scale);
    } else {
        auto dots = torch::matmul(q, k.transpose(-1, -2)) * scale;  // [B, h, N, N]
        if (allowed.defined()) {
            // Soft masking: disallowed logits take the (detached) minimum logit, not -inf.
            auto fill = options_.fill_scope == MaskFillScope::kBatch ? dots.min().detach()
                                                                     : dots.amin({1, 2, 3}, true).detach();
            dots = torch::where(allowed.unsqueeze(1), dots, fill);
        }
        out = torch::matmul(dots.softmax(-1), v);
    }
    return to_out(out.transpose(1, 2).reshape({b, n, heads * dh}));
}

// ---- feed-forward and transformer ----------------------------------------------------------------------

FeedForwardImpl::FeedForwardImpl(int dim, int hidden_dim) {
    net = register_module("net", nn::Sequential(nn::LayerNorm(nn::LayerNormOptions({dim})),
                                                nn::Linear(dim, hidden_dim), nn::GELU(), nn::Linear(hidden_dim, dim)));
}

PmsaTransformerImpl::PmsaTransformerImpl(const PmsaVitOptions& options) {
    layers = register_module("layers", nn::ModuleList());
    for (int l = 0; l < options.depth; ++l) {
        attention_.emplace_back(options);
        feed_forward_.emplace_back(options.dim, options.mlp_dim);
        layers->push_back(nn::ModuleList(attention_.back(), feed_forward_.back()));
    }
}

torch::Tensor PmsaTransformerImpl::forward(torch::Tensor x, const std::vector<torch::Tensor>& allowed) {
    for (size_t l = 0; l < attention_.size(); ++l) {
        x = attention_[l](x, allowed.empty() ? torch::Tensor() : allowed[l]) + x;
        x = feed_forward_[l](x) + x;
    }
    return x;
}

// ---- the ViT -------------------------------------------------------------------------------------------

PmsaVitImpl::PmsaVitImpl(const PmsaVitOptions& options) : options_(options) {
    const int p = options.patch_size, rc = options.reduced_channels;
    reduce_ = nn::Conv2d(nn::Conv2dOptions(options.channels, rc, 3).padding(1));
    patch_norm_ = nn::LayerNorm(nn::LayerNormOptions({rc * p * p}));
    embed_ = nn::Linear(rc * p * p, options.dim);
    embed_norm_ = nn::LayerNorm(nn::LayerNormOptions({options.dim}));
    to_patch_embedding = register_module(
        "to_patch_embedding", nn::ModuleList(reduce_, Rearrange(), patch_norm_, embed_, embed_norm_));
    transformer = register_module("transformer", PmsaTransformer(options));
    expand_ = nn::Conv2d(nn::Conv2dOptions(rc, options.channels, 3).padding(1));
    to_out = register_module("to_out", nn::ModuleList(Rearrange(), expand_));
}

std::vector<torch::Tensor> PmsaVitImpl::layer_masks(const torch::Tensor& masks, int64_t batch, int64_t height,
                                                    int64_t width) const {
    const int depth = options_.depth;
    const std::string expected = "[" + std::to_string(depth) + "*B, H, W] = [" + std::to_string(depth * batch) +
                                 ", " + std::to_string(height) + ", " + std::to_string(width) + "]";
    if (masks.dim() != 3 || masks.size(1) != height || masks.size(2) != width)
        fail("PMSA ViT: pose masks do not match the latent grid", expected, c10::str(masks.sizes()));
    const auto rows = masks.size(0);
    if (rows % batch != 0 || rows / batch != depth)
        fail("PMSA ViT: one pose mask per layer and image is needed (coarse masks first)", expected,
             c10::str(masks.sizes()),
             "the number of Gaussian kernels must equal the ViT depth (official: kernels [23, 13], depth 2)");
    std::vector<torch::Tensor> allowed;
    for (const auto& chunk : masks.split(batch, 0))
        allowed.push_back(allowed_pairs(token_foreground(chunk, options_.patch_size)));
    return allowed;
}

const torch::Tensor& PmsaVitImpl::position_code(int64_t h, int64_t w, const torch::Tensor& like) {
    const auto& c = position_code_;
    if (!c.defined() || position_h_ != h || position_w_ != w || c.device() != like.device() ||
        c.scalar_type() != like.scalar_type()) {
        position_code_ = posemb_sincos_2d(h, w, options_.dim).to(like.device(), like.scalar_type());
        position_h_ = h, position_w_ = w;
    }
    return position_code_;
}

torch::Tensor PmsaVitImpl::forward(const torch::Tensor& img, const torch::Tensor& masks) {
    const int p = options_.patch_size;
    if (img.dim() != 4 || img.size(1) != options_.channels || img.size(2) % p != 0 || img.size(3) % p != 0)
        fail("PMSA ViT: bad input", "[B, " + std::to_string(options_.channels) + ", H, W] with H, W divisible by " +
                                        std::to_string(p),
             c10::str(img.sizes()));
    const auto batch = img.size(0), h = img.size(2) / p, w = img.size(3) / p;
    std::vector<torch::Tensor> allowed;
    if (masks.defined()) {
        torch::NoGradGuard no_grad;
        allowed = layer_masks(masks.to(img.device()), batch, img.size(2), img.size(3));
    }
    auto x = embed_norm_(embed_(patch_norm_(patchify(reduce_(img), p))));  // [B, N, dim]
    x = x + position_code(h, w, x);
    x = transformer(x, allowed);
    return expand_(unpatchify(x, h, w, p));
}

}  // namespace stablepose
