// initialize_adapter_from_unet (declared in stable_pose_adapter.h): stable-pose.md §8 and §14.2.
#include <string_view>

#include "stablepose/error.h"
#include "stablepose/nn/stable_pose_adapter.h"
#include "stablepose/nn/state_dict.h"

namespace stablepose {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) { return s.substr(0, prefix.size()) == prefix; }

// stable-pose.md §14.2 "Zero": the 13 output convs, the pose encoder's last conv and, in ControlNet mode, the
// hint embedding's conv_out (the constructors zero the last two as well; zeroing here makes the result
// independent of the adapter's previous state).
bool is_zero_initialised(const std::string& key) {
    return starts_with(key, "controlnet_down_blocks.") || starts_with(key, "controlnet_mid_block.") ||
           starts_with(key, "feature_extractor.zero_convs.") ||
           starts_with(key, "controlnet_cond_embedding.conv_out.");
}

// The U-Net key an adapter key is copied from, or "" when the key keeps its fresh (or zero) value.
std::string unet_source_key(const std::string& key, AdapterMode mode) {
    static const std::string attn_res = "down_blocks.0.resnets.0.";
    if (starts_with(key, "controlnet_down_blocks.") || starts_with(key, "controlnet_mid_block.") ||
        starts_with(key, "feature_extractor.") || starts_with(key, "controlnet_cond_embedding."))
        return "";
    if (mode == AdapterMode::kStablePose && starts_with(key, attn_res)) {
        const auto rest = key.substr(attn_res.size());
        for (const auto& [ours, theirs] : {std::pair<std::string, std::string>{"in_layers.2.", "conv1."},
                                           {"emb_layers.1.", "time_emb_proj."},
                                           {"out_layers.3.", "conv2."}})
            if (starts_with(rest, ours)) return attn_res + theirs + rest.substr(ours.size());
        return "";  // attn_layer (PMSA ViT), cond_conv: default init
    }
    return key;
}

}  // namespace

std::vector<std::string> initialize_adapter_from_unet(StablePoseAdapter& adapter,
                                                      const std::map<std::string, torch::Tensor>& unet_state) {
    torch::NoGradGuard no_grad;
    std::vector<std::string> fresh;
    for (auto& [key, param] : state_dict(*adapter)) {
        const auto source = unet_source_key(key, adapter->config().mode);
        if (is_zero_initialised(key)) {
            param.zero_();
            continue;
        }
        if (source.empty()) {
            fresh.push_back(key);
            continue;
        }
        const auto it = unet_state.find(source);
        if (it == unet_state.end())
            fail("adapter initialisation: the U-Net has no weight '" + source + "' for adapter key '" + key + "'",
                 "a U-Net of the architecture in model.json", "no such key",
                 "the adapter config and the frozen U-Net do not match; build the adapter from the same model.json");
        if (!it->second.sizes().equals(param.sizes()))
            fail("adapter initialisation: shape mismatch for '" + key + "' (from U-Net '" + source + "')",
                 c10::str(param.sizes()), c10::str(it->second.sizes()));
        param.copy_(it->second);
    }
    return fresh;
}

}  // namespace stablepose
