// Adapter weights on disk: our safetensors (metadata {"format": "stablepose.adapter", "mode", "adapter_config"}),
// written by the trainer and by scripts/convert_official_checkpoint.py, or a diffusers ControlNetModel folder
// (config.json + diffusion_pytorch_model.safetensors). Loading is strict: every name and shape must match.
#pragma once

#include <filesystem>
#include <map>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/nn/stable_pose_adapter.h"

namespace stablepose {

inline constexpr const char* kAdapterFormat = "stablepose.adapter";

// The value range of the image given to encode_condition: the official Stable-Pose hint is in [-1, 1];
// diffusers' ControlNet pipelines feed the control image in [0, 1].
enum class ConditionRange { kMinusOneOne, kZeroOne };
ConditionRange parse_condition_range(const std::string& name);  // "[-1,1]" | "[0,1]"
std::string to_string(ConditionRange range);

struct LoadedAdapter {
    StablePoseAdapter adapter{nullptr};
    ConditionRange condition_range = ConditionRange::kMinusOneOne;
    std::string source;   // the file or folder it came from
    std::string sha256;   // of the weights file
    std::map<std::string, std::string> metadata;
};

// AdapterConfig without the U-Net part (that comes from the frozen model): mode, pose encoder, ViT and
// ControlNet embedding options. Unknown keys are errors.
nlohmann::json adapter_options_to_json(const AdapterConfig& config);
AdapterConfig adapter_config_from_json(const nlohmann::json& j, const UNetConfig& unet,
                                       const std::string& source = "adapter_config");

// `path`: an adapter .safetensors, or a diffusers ControlNet folder. The U-Net config is the frozen model's:
// the adapter must be a copy of its encoder (a diffusers ControlNet's own config must agree with it).
LoadedAdapter load_adapter(const std::filesystem::path& path, const UNetConfig& unet);

// Writes the adapter's weights with its options and `extra` metadata (atomic).
void save_adapter(const std::filesystem::path& path, const StablePoseAdapter& adapter, ConditionRange range,
                  const std::map<std::string, std::string>& extra = {});

}  // namespace stablepose
