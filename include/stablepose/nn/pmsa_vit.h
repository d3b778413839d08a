// Pose-masked self-attention ViT (PMSA ViT) of Stable-Pose.
// Reference: `ldm/modules/pmsa_vit.py::PMSAViT` (official parameter names; stable-pose.md §5).
#pragma once

#include <vector>

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/modules/normalization.h>

namespace stablepose {

// Which minimum fills the disallowed logits. The official code takes one minimum over the whole batch
// (all images, heads and pairs, the CFG halves included); per image is an option that removes the
// cross-image coupling but is not the reference behaviour.
enum class MaskFillScope { kBatch, kImage };

struct PmsaVitOptions {
    int channels = 320;          // input and output channels
    int reduced_channels = 128;  // channels of the conv before patchify (official: fixed 128)
    int patch_size = 2;
    int dim = 512;
    int depth = 2;
    int heads = 8;
    int dim_head = 40;
    int mlp_dim = 512;
    MaskFillScope fill_scope = MaskFillScope::kBatch;
    bool fused_unmasked_attention = true;  // SDPA when a layer has no mask; the masked path is always explicit
};

// [B, C, h*p, w*p] -> [B, h*w, p*p*C]; token n = i*w + j, vector index (p1*p + p2)*C + c.
torch::Tensor patchify(const torch::Tensor& x, int patch_size);
// Inverse of patchify: [B, h*w, p*p*C] -> [B, C, h*p, w*p].
torch::Tensor unpatchify(const torch::Tensor& tokens, int64_t h, int64_t w, int patch_size);

// Fixed 2-D sin-cos position code, computed in float32 for any grid: [h*w, dim],
// per token (sin(j w), cos(j w), sin(i w), cos(i w)) with w_f = 1 / 10000^(f / (dim/4 - 1)).
torch::Tensor posemb_sincos_2d(int64_t h, int64_t w, int dim, double temperature = 10000.0);

// Latent-grid masks [B, H, W] (0/1) -> token foreground [B, (H/p)*(W/p)] bool: any cell of the patch is 1.
torch::Tensor token_foreground(const torch::Tensor& latent_masks, int patch_size);
// allowed[b, q, k] = fg[b, q] | fg[b, k]: only background -> background pairs are masked. [B, N, N] bool.
torch::Tensor allowed_pairs(const torch::Tensor& foreground);

// Parameterless slot that keeps the official module indices (to_patch_embedding.1, to_out.0); the
// rearrangement itself is patchify / unpatchify, called by PmsaVit with the grid size.
class RearrangeImpl : public torch::nn::Module {};
TORCH_MODULE(Rearrange);

// Pre-norm multi-head self-attention with the official min-fill soft masking.
class PmsaAttentionImpl : public torch::nn::Module {
public:
    explicit PmsaAttentionImpl(const PmsaVitOptions& options);
    // x: [B, N, dim]; allowed: [B, N, N] bool or undefined (no masking). Returns [B, N, dim].
    torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& allowed = {});

    torch::nn::LayerNorm norm{nullptr};
    torch::nn::Linear to_qkv{nullptr};
    torch::nn::Linear to_out{nullptr};

private:
    PmsaVitOptions options_;
};
TORCH_MODULE(PmsaAttention);

// net.0 LayerNorm, net.1 Linear, net.2 GELU (erf), net.3 Linear.
class FeedForwardImpl : public torch::nn::Module {
public:
    FeedForwardImpl(int dim, int hidden_dim);
    torch::Tensor forward(const torch::Tensor& x) { return net->forward(x); }
    torch::nn::Sequential net{nullptr};
};
TORCH_MODULE(FeedForward);

// layers.l.0 = attention, layers.l.1 = feed-forward; residual around each, no final norm.
class PmsaTransformerImpl : public torch::nn::Module {
public:
    explicit PmsaTransformerImpl(const PmsaVitOptions& options);
    // allowed: one [B, N, N] mask per layer, or empty for plain attention.
    torch::Tensor forward(torch::Tensor x, const std::vector<torch::Tensor>& allowed);
    torch::nn::ModuleList layers{nullptr};

private:
    std::vector<PmsaAttention> attention_;
    std::vector<FeedForward> feed_forward_;
};
TORCH_MODULE(PmsaTransformer);

class PmsaVitImpl : public torch::nn::Module {
public:
    explicit PmsaVitImpl(const PmsaVitOptions& options = {});

    // img: [B, C, H, W] with H, W divisible by patch_size.
    // masks: undefined (plain attention) or [depth*B, H, W] 0/1 latent masks, coarse first: rows
    //        [l*B, (l+1)*B) drive layer l. With depth 1, [B, H, W] is accepted as well.
    // Returns [B, C, H, W].
    torch::Tensor forward(const torch::Tensor& img, const torch::Tensor& masks = {});

    const PmsaVitOptions& options() const { return options_; }

    torch::nn::ModuleList to_patch_embedding{nullptr};  // 0 conv, 1 patchify, 2 LN, 3 linear, 4 LN
    PmsaTransformer transformer{nullptr};
    torch::nn::ModuleList to_out{nullptr};  // 0 unpatchify, 1 conv

private:
    std::vector<torch::Tensor> layer_masks(const torch::Tensor& masks, int64_t batch, int64_t height,
                                           int64_t width) const;
    // posemb_sincos_2d(h, w, dim) on `like`'s device in its dtype, made once per grid, device and dtype. Built
    // on the CPU, so without the cache every forward would copy it to the GPU: a blocking copy that stops the
    // host from queueing ahead, and that CUDA graph capture refuses.
    const torch::Tensor& position_code(int64_t h, int64_t w, const torch::Tensor& like);
    PmsaVitOptions options_;
    torch::Tensor position_code_;  // [h*w, dim], not a buffer: not saved, not moved by to()
    int64_t position_h_ = 0, position_w_ = 0;
    torch::nn::Conv2d reduce_{nullptr}, expand_{nullptr};
    torch::nn::LayerNorm patch_norm_{nullptr}, embed_norm_{nullptr};
    torch::nn::Linear embed_{nullptr};
};
TORCH_MODULE(PmsaVit);

}  // namespace stablepose
