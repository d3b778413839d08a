#include "stablepose/nn/adapter_file.h"

#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/safetensors.h"
#include "stablepose/io/sha256.h"
#include "stablepose/nn/state_dict.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

void reject_unknown_keys(const json& j, const std::vector<std::string>& known, const std::string& source) {
    for (const auto& [key, value] : j.items())
        if (std::find(known.begin(), known.end(), key) == known.end()) {
            std::string list;
            for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
            fail(source + ": unknown key '" + key + "'", list, key, "remove or correct the key");
        }
}

std::string fill_scope_name(MaskFillScope scope) { return scope == MaskFillScope::kBatch ? "batch" : "image"; }

MaskFillScope parse_fill_scope(const std::string& name, const std::string& source) {
    if (name == "batch") return MaskFillScope::kBatch;
    if (name == "image") return MaskFillScope::kImage;
    fail(source + ": unknown vit.fill_scope", "\"batch\" (official) or \"image\"", name);
}

// Weights with NaN or infinity give black images or a stopped run much later; refuse them when loading.
void check_finite(const std::map<std::string, torch::Tensor>& tensors, const fs::path& source) {
    for (const auto& [name, t] : tensors)
        if (t.is_floating_point() && !torch::isfinite(t).all().item<bool>())
            fail("adapter weights are not finite: " + source.string(), "finite numbers in every tensor",
                 "NaN or infinity in '" + name + "'",
                 "the run that wrote it diverged; use an earlier checkpoint (RUN/checkpoints/step-*)");
}

// The encoder-copy fields that must agree between a diffusers ControlNet config and the frozen U-Net.
void check_same_encoder(const UNetConfig& a, const UNetConfig& b, const std::string& source) {
    auto same = a.in_channels == b.in_channels && a.block_out_channels == b.block_out_channels &&
                a.down_block_types == b.down_block_types && a.layers_per_block == b.layers_per_block &&
                a.cross_attention_dim == b.cross_attention_dim && a.num_attention_heads == b.num_attention_heads &&
                a.norm_num_groups == b.norm_num_groups && a.use_linear_projection == b.use_linear_projection &&
                a.transformer_layers_per_block == b.transformer_layers_per_block;
    if (!same)
        fail(source + ": the ControlNet was made for another U-Net",
             "the frozen model's encoder (block_out_channels, down_block_types, heads, cross_attention_dim)",
             "a different configuration", "use a ControlNet trained for this base model");
}

LoadedAdapter load_diffusers_controlnet(const fs::path& dir, const UNetConfig& unet) {
    const auto config_path = dir / "config.json";
    const auto weights_path = dir / "diffusion_pytorch_model.safetensors";
    for (const auto& p : {config_path, weights_path})
        if (!fs::exists(p))
            fail("ControlNet folder: missing " + p.filename().string(), "config.json and "
                 "diffusion_pytorch_model.safetensors (diffusers ControlNetModel.save_pretrained)",
                 p.string() + " does not exist", "pass an adapter .safetensors or a diffusers ControlNet folder");
    json cfg;
    try {
        std::ifstream in(config_path);
        cfg = json::parse(in);
    } catch (const json::exception& e) {
        fail("ControlNet folder: config.json is not valid JSON", "a diffusers config", e.what(), config_path.string());
    }
    if (cfg.value("_class_name", "ControlNetModel") != "ControlNetModel")
        fail("ControlNet folder: config.json is not a ControlNetModel", "_class_name ControlNetModel",
             cfg.value("_class_name", ""), config_path.string());
    if (cfg.value("controlnet_conditioning_channel_order", "rgb") != "rgb")
        fail("ControlNet: unsupported conditioning channel order", "rgb",
             cfg.value("controlnet_conditioning_channel_order", ""), config_path.string());
    if (cfg.value("global_pool_conditions", false))
        fail("ControlNet: global_pool_conditions is not supported", "false", "true", config_path.string());
    check_same_encoder(UNetConfig::from_json(cfg), unet, config_path.string());

    AdapterConfig config;
    config.unet = unet;
    config.mode = AdapterMode::kControlNet;
    config.conditioning_embedding_out_channels =
        cfg.value("conditioning_embedding_out_channels", config.conditioning_embedding_out_channels);
    config.conditioning_channels = cfg.value("conditioning_channels", config.conditioning_channels);
    LoadedAdapter out;
    out.adapter = StablePoseAdapter(config);
    const auto file = read_safetensors(weights_path);
    check_finite(file.tensors, weights_path);
    load_state_dict(*out.adapter, file.tensors);
    out.condition_range = ConditionRange::kZeroOne;  // the diffusers pipelines' control image
    out.source = dir.string();
    out.sha256 = sha256_file(weights_path);
    out.metadata = file.metadata;
    return out;
}

}  // namespace

ConditionRange parse_condition_range(const std::string& name) {
    if (name == "[-1,1]") return ConditionRange::kMinusOneOne;
    if (name == "[0,1]") return ConditionRange::kZeroOne;
    fail("unknown condition range", "\"[-1,1]\" (Stable-Pose hint) or \"[0,1]\" (diffusers ControlNet)", name);
}

std::string to_string(ConditionRange range) { return range == ConditionRange::kMinusOneOne ? "[-1,1]" : "[0,1]"; }

json adapter_options_to_json(const AdapterConfig& c) {
    json j;
    j["mode"] = to_string(c.mode);
    if (c.mode == AdapterMode::kStablePose) {
        j["pose_channels"] = c.pose_encoder.out_channels;
        j["vit"] = {{"reduced_channels", c.vit.reduced_channels}, {"patch_size", c.vit.patch_size},
                    {"dim", c.vit.dim},       {"depth", c.vit.depth},
                    {"heads", c.vit.heads},   {"dim_head", c.vit.dim_head},
                    {"mlp_dim", c.vit.mlp_dim}, {"fill_scope", fill_scope_name(c.vit.fill_scope)}};
    } else {
        j["conditioning_embedding_out_channels"] = c.conditioning_embedding_out_channels;
        j["conditioning_channels"] = c.conditioning_channels;
    }
    return j;
}

AdapterConfig adapter_config_from_json(const json& j, const UNetConfig& unet, const std::string& source) {
    AdapterConfig c;
    c.unet = unet;
    try {
        reject_unknown_keys(j, {"mode", "pose_channels", "vit", "conditioning_embedding_out_channels",
                                "conditioning_channels"},
                            source);
        c.mode = parse_adapter_mode(j.value("mode", std::string("stable_pose")));
        c.pose_encoder.out_channels = j.value("pose_channels", c.pose_encoder.out_channels);
        if (j.contains("vit")) {
            const auto& v = j.at("vit");
            reject_unknown_keys(v, {"reduced_channels", "patch_size", "dim", "depth", "heads", "dim_head", "mlp_dim",
                                    "fill_scope"},
                                source + ".vit");
            c.vit.reduced_channels = v.value("reduced_channels", c.vit.reduced_channels);
            c.vit.patch_size = v.value("patch_size", c.vit.patch_size);
            c.vit.dim = v.value("dim", c.vit.dim);
            c.vit.depth = v.value("depth", c.vit.depth);
            c.vit.heads = v.value("heads", c.vit.heads);
            c.vit.dim_head = v.value("dim_head", c.vit.dim_head);
            c.vit.mlp_dim = v.value("mlp_dim", c.vit.mlp_dim);
            c.vit.fill_scope = parse_fill_scope(v.value("fill_scope", std::string("batch")), source);
        }
        c.conditioning_embedding_out_channels =
            j.value("conditioning_embedding_out_channels", c.conditioning_embedding_out_channels);
        c.conditioning_channels = j.value("conditioning_channels", c.conditioning_channels);
    } catch (const json::exception& e) {
        fail(source + ": a key has the wrong type", "the adapter options of docs/train.md", e.what());
    }
    return c;
}

LoadedAdapter load_adapter(const fs::path& path, const UNetConfig& unet) {
    if (fs::is_directory(path)) return load_diffusers_controlnet(path, unet);
    if (!fs::exists(path))
        fail("adapter not found", "an adapter .safetensors or a diffusers ControlNet folder",
             path.string() + " does not exist", "check the path (stablepose train writes <run>/adapter.safetensors)");
    auto file = read_safetensors(path);
    const auto format = file.metadata.count("format") ? file.metadata.at("format") : std::string();
    if (format != kAdapterFormat)
        fail("adapter file: not a stablepose adapter", std::string("safetensors metadata format = ") + kAdapterFormat,
             format.empty() ? "no format metadata" : format,
             "convert official checkpoints with scripts/convert_official_checkpoint.py");
    json options = json::object();
    if (file.metadata.count("adapter_config")) {
        try {
            options = json::parse(file.metadata.at("adapter_config"));
        } catch (const json::exception& e) {
            fail("adapter file: adapter_config metadata is not JSON", "a JSON object", e.what(), path.string());
        }
    }
    if (file.metadata.count("mode")) options["mode"] = file.metadata.at("mode");
    LoadedAdapter out;
    const auto config = adapter_config_from_json(options, unet, path.string());
    out.adapter = StablePoseAdapter(config);
    check_finite(file.tensors, path);
    load_state_dict(*out.adapter, file.tensors);
    out.condition_range = file.metadata.count("condition_range")
                              ? parse_condition_range(file.metadata.at("condition_range"))
                              : ConditionRange::kMinusOneOne;
    out.source = path.string();
    out.sha256 = sha256_file(path);
    out.metadata = std::move(file.metadata);
    return out;
}

void save_adapter(const fs::path& path, const StablePoseAdapter& adapter, ConditionRange range,
                  const std::map<std::string, std::string>& extra) {
    auto metadata = extra;
    metadata["format"] = kAdapterFormat;
    metadata["mode"] = to_string(adapter->config().mode);
    metadata["adapter_config"] = adapter_options_to_json(adapter->config()).dump();
    metadata["condition_range"] = to_string(range);
    write_safetensors(path, state_dict(*adapter), metadata);
}

}  // namespace stablepose
