#include "stablepose/nn/unet_config.h"

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// Keys whose non-default value means an architecture the adapter does not build.
void require_default(const nlohmann::json& j, const char* key, const nlohmann::json& allowed) {
    if (!j.contains(key) || j[key].is_null()) return;
    for (const auto& a : allowed)
        if (j[key] == a) return;
    fail(std::string("U-Net config: unsupported ") + key, "one of " + allowed.dump(), j[key].dump(),
         "the adapter implements the SD 1.x U-Net family (diffusers UNet2DConditionModel)");
}

}  // namespace

int UNetConfig::num_down_residuals() const {
    const int levels = static_cast<int>(block_out_channels.size());
    return 1 + levels * layers_per_block + (levels - 1);
}

std::vector<std::vector<int64_t>> UNetConfig::residual_shapes(int64_t h, int64_t w) const {
    std::vector<std::vector<int64_t>> shapes{{block_out_channels.front(), h, w}};
    for (size_t level = 0; level < block_out_channels.size(); ++level) {
        const int64_t c = block_out_channels[level];
        for (int j = 0; j < layers_per_block; ++j) shapes.push_back({c, h, w});
        if (level + 1 < block_out_channels.size()) {
            h = (h + 1) / 2;  // stride-2 conv, padding 1
            w = (w + 1) / 2;
            shapes.push_back({c, h, w});
        }
    }
    shapes.push_back({block_out_channels.back(), h, w});
    return shapes;
}

UNetConfig UNetConfig::from_json(const nlohmann::json& j) {
    UNetConfig c;
    try {
        c.in_channels = j.value("in_channels", c.in_channels);
        c.block_out_channels = j.at("block_out_channels").get<std::vector<int>>();
        c.down_block_types = j.at("down_block_types").get<std::vector<std::string>>();
        c.layers_per_block = j.value("layers_per_block", c.layers_per_block);
        c.cross_attention_dim = j.at("cross_attention_dim").get<int>();
        c.norm_num_groups = j.value("norm_num_groups", c.norm_num_groups);
        c.norm_eps = j.value("norm_eps", c.norm_eps);
        c.flip_sin_to_cos = j.value("flip_sin_to_cos", c.flip_sin_to_cos);
        c.freq_shift = j.value("freq_shift", c.freq_shift);
        c.use_linear_projection = j.value("use_linear_projection", c.use_linear_projection);
        if (j.contains("time_embedding_dim") && !j["time_embedding_dim"].is_null())
            c.time_embedding_dim = j["time_embedding_dim"].get<int>();
        if (j.contains("transformer_layers_per_block") && !j["transformer_layers_per_block"].is_array())
            c.transformer_layers_per_block = j["transformer_layers_per_block"].get<int>();
        // diffusers: num_attention_heads = num_attention_heads or attention_head_dim (a historical misnomer).
        const auto& heads = (j.contains("num_attention_heads") && !j["num_attention_heads"].is_null())
                                ? j["num_attention_heads"]
                                : j.at("attention_head_dim");
        const auto levels = c.block_out_channels.size();
        c.num_attention_heads = heads.is_array() ? heads.get<std::vector<int>>() : std::vector<int>(levels, heads.get<int>());
    } catch (const nlohmann::json::exception& e) {
        fail("U-Net config: a key is missing or has the wrong type", "diffusers UNet2DConditionModel config keys",
             e.what(), "re-export the model with scripts/export_sd.py");
    }
    require_default(j, "class_embed_type", {nullptr});
    require_default(j, "addition_embed_type", {nullptr});
    require_default(j, "resnet_time_scale_shift", {"default"});
    require_default(j, "act_fn", {"silu"});
    require_default(j, "mid_block_type", {"UNetMidBlock2DCrossAttn"});
    require_default(j, "only_cross_attention", {false});
    require_default(j, "upcast_attention", {false, nullptr});
    require_default(j, "encoder_hid_dim", {nullptr});
    if (j.contains("transformer_layers_per_block") && j["transformer_layers_per_block"].is_array())
        fail("U-Net config: per-block transformer_layers_per_block is not supported", "an integer",
             j["transformer_layers_per_block"].dump());
    const auto levels = c.block_out_channels.size();
    if (c.down_block_types.size() != levels || c.num_attention_heads.size() != levels)
        fail("U-Net config: one entry per level", std::to_string(levels) + " down block types and head counts",
             std::to_string(c.down_block_types.size()) + " and " + std::to_string(c.num_attention_heads.size()));
    for (const auto& t : c.down_block_types)
        if (t != "CrossAttnDownBlock2D" && t != "DownBlock2D")
            fail("U-Net config: unsupported down block type", "CrossAttnDownBlock2D or DownBlock2D", t);
    for (size_t i = 0; i < levels; ++i)
        if (c.block_out_channels[i] % c.norm_num_groups != 0 || c.block_out_channels[i] % c.num_attention_heads[i] != 0)
            fail("U-Net config: channels must divide into groups and heads",
                 "multiples of " + std::to_string(c.norm_num_groups) + " and of the head count",
                 std::to_string(c.block_out_channels[i]));
    return c;
}

}  // namespace stablepose
