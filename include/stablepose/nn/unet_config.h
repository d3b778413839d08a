// The architecture of a diffusers UNet2DConditionModel (SD 1.x family) as far as the adapter's encoder copy
// needs it, read from the "unet" section of a frozen model's model.json (diffusers' config.json keys).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace stablepose {

struct UNetConfig {
    int in_channels = 4;
    std::vector<int> block_out_channels{320, 640, 1280, 1280};
    std::vector<std::string> down_block_types{"CrossAttnDownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D",
                                              "DownBlock2D"};
    int layers_per_block = 2;
    int cross_attention_dim = 768;
    std::vector<int> num_attention_heads{8, 8, 8, 8};  // per down block (diffusers' "attention_head_dim" quirk)
    int norm_num_groups = 32;
    double norm_eps = 1e-5;
    bool flip_sin_to_cos = true;
    double freq_shift = 0.0;
    bool use_linear_projection = false;
    int transformer_layers_per_block = 1;
    int time_embedding_dim = 0;  // 0: 4 * block_out_channels[0]

    int time_embed_dim() const { return time_embedding_dim > 0 ? time_embedding_dim : 4 * block_out_channels[0]; }
    int num_down_residuals() const;  // conv_in + resnets + downsamplers (12 for SD 1.5)
    // [channels, height, width] of each control residual for an h x w latent: the down residuals in
    // diffusers' order, then the mid residual (runtime.md §2.1).
    std::vector<std::vector<int64_t>> residual_shapes(int64_t h, int64_t w) const;

    // SD 1.5 (runwayml/stable-diffusion-v1-5 unet/config.json).
    static UNetConfig sd15() { return {}; }
    // Parses diffusers' config keys; rejects features the adapter does not implement (class embeddings,
    // scale-shift time norm, other block types) with an error naming the key.
    static UNetConfig from_json(const nlohmann::json& j);
};

}  // namespace stablepose
