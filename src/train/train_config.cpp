// Reading, writing and checking the training config (train_config.h).
#include "stablepose/train/train_config.h"

#include <fstream>

#include "stablepose/data/dataset.h"
#include "stablepose/error.h"
#include "stablepose/train/config_fields.h"

namespace stablepose {

namespace {

using nlohmann::json;

// The data layer's augmentation settings as a config section (data.augment).
struct AugmentFields {
    AugmentConfig& c;
    template <class F>
    void fields(F&& f) {
        f("width", c.width, "training width (multiple of 64)");
        f("height", c.height, "training height (multiple of 64)");
        f("flip_p", c.flip_p, "HorizontalFlip probability (official 0.2)");
        f("flip_swaps_left_right", c.flip_swaps_left_right, "swap left/right joints on flip (false: official)");
        f("rotate_p", c.rotate_p, "Rotate probability (official 0.1)");
        f("rotate_limit", c.rotate_limit, "Rotate: max |angle| in degrees");
        f("random_crop", c.random_crop, "RandomCrop (false: deterministic centre crop)");
        f("colour_p", c.colour_p, "OneOf(HueSaturationValue, RGBShift) probability (official 0.4)");
        f("hue_shift_limit", c.hue_shift_limit, "HueSaturationValue hue limit");
        f("sat_shift_limit", c.sat_shift_limit, "HueSaturationValue saturation limit");
        f("val_shift_limit", c.val_shift_limit, "HueSaturationValue value limit");
        f("rgb_shift_limit", c.rgb_shift_limit, "RGBShift limit per channel");
        f("brightness_contrast_p", c.brightness_contrast_p, "RandomBrightnessContrast probability (official 0.2)");
        f("brightness_limit", c.brightness_limit, "RandomBrightnessContrast brightness limit");
        f("contrast_limit", c.contrast_limit, "RandomBrightnessContrast contrast limit");
        f("text_dropout", c.text_dropout, "probability that the caption becomes \"\" (official 0.5)");
    }
};

const std::vector<std::string> kSections{"name",      "description", "adapter", "pose_condition",
                                         "data",      "optim",       "loss",    "precision",
                                         "train",     "checkpoint",  "log",     "cache"};

template <class Section>
void read_section(Section& s, const json& j, const char* key, const std::string& source) {
    if (j.contains(key)) section_from_json(s, j.at(key), source + "." + key);
}

void require(bool ok, const std::string& key, const std::string& expected, const std::string& found) {
    if (!ok) fail("bad config value " + key, expected, found);
}

}  // namespace

ConditionRange AdapterSection::range() const {
    if (!condition_range.empty()) return parse_condition_range(condition_range);
    return options.mode == AdapterMode::kControlNet ? ConditionRange::kZeroOne : ConditionRange::kMinusOneOne;
}

TrainConfig TrainConfig::from_json(const json& j, const std::string& source) {
    if (!j.is_object()) fail(source + ": the config must be a JSON object", "{...}", j.type_name());
    reject_unknown_config_keys(j, kSections, source);
    TrainConfig c;
    c.name = j.value("name", c.name);
    c.description = j.value("description", c.description);
    if (j.contains("adapter")) {
        json a = j.at("adapter");
        if (!a.is_object()) fail(source + ".adapter: not a JSON object", "{...}", a.dump());
        if (a.contains("condition_range")) {
            c.adapter.condition_range = a.at("condition_range").get<std::string>();
            a.erase("condition_range");
            if (!c.adapter.condition_range.empty()) parse_condition_range(c.adapter.condition_range);
        }
        c.adapter.options = adapter_config_from_json(a, UNetConfig{}, source + ".adapter");
    }
    if (j.contains("pose_condition"))
        c.pose_condition = PoseConditionConfig::from_json(j.at("pose_condition"), source + ".pose_condition");
    if (j.contains("data")) {
        json d = j.at("data");
        if (d.is_object() && d.contains("augment")) {
            AugmentFields augment{c.data.augment};
            section_from_json(augment, d.at("augment"), source + ".data.augment");
            d.erase("augment");
        }
        section_from_json(c.data, d, source + ".data");
    }
    read_section(c.optim, j, "optim", source);
    read_section(c.loss, j, "loss", source);
    read_section(c.precision, j, "precision", source);
    read_section(c.train, j, "train", source);
    read_section(c.checkpoint, j, "checkpoint", source);
    read_section(c.log, j, "log", source);
    read_section(c.cache, j, "cache", source);
    c.validate();
    return c;
}

json TrainConfig::to_json() const {
    json j;
    j["name"] = name;
    j["description"] = description;
    json a = adapter_options_to_json(adapter.options);
    a["condition_range"] = adapter.condition_range;
    j["adapter"] = a;
    j["pose_condition"] = pose_condition.to_json();
    j["data"] = section_to_json(data);
    j["data"]["augment"] = section_to_json(AugmentFields{const_cast<AugmentConfig&>(data.augment)});
    j["optim"] = section_to_json(optim);
    j["loss"] = section_to_json(loss);
    j["precision"] = section_to_json(precision);
    j["train"] = section_to_json(train);
    j["checkpoint"] = section_to_json(checkpoint);
    j["log"] = section_to_json(log);
    j["cache"] = section_to_json(cache);
    return j;
}

void TrainConfig::validate() const {
    data.augment.validate();
    pose_condition.training_masks.validate();
    if (!data.format.empty()) parse_dataset_format(data.format);
    require(data.batch_size >= 1, "data.batch_size", ">= 1", std::to_string(data.batch_size));
    require(data.workers >= 0, "data.workers", ">= 0", std::to_string(data.workers));
    require(data.prefetch_batches >= 1, "data.prefetch_batches", ">= 1", std::to_string(data.prefetch_batches));
    require(optim.lr > 0, "optim.lr", "> 0", std::to_string(optim.lr));
    require(optim.weight_decay >= 0, "optim.weight_decay", ">= 0", std::to_string(optim.weight_decay));
    require(optim.grad_accum >= 1, "optim.grad_accum", ">= 1", std::to_string(optim.grad_accum));
    require(optim.clip_grad_norm >= 0, "optim.clip_grad_norm", ">= 0 (0: off)", std::to_string(optim.clip_grad_norm));
    require(optim.schedule == "constant" || optim.schedule == "linear_warmup", "optim.schedule",
            "constant or linear_warmup", optim.schedule);
    require(optim.schedule != "linear_warmup" || optim.warmup_steps >= 1, "optim.warmup_steps",
            ">= 1 with linear_warmup", std::to_string(optim.warmup_steps));
    require(loss.alpha > 0, "loss.alpha", "> 0", std::to_string(loss.alpha));
    require(loss.timestep_sampling == "uniform" || loss.timestep_sampling == "cubic", "loss.timestep_sampling",
            "uniform or cubic", loss.timestep_sampling);
    require(loss.schedule_arithmetic == "float64" || loss.schedule_arithmetic == "float32",
            "loss.schedule_arithmetic", "float64 or float32", loss.schedule_arithmetic);
    require(precision.mode == "auto" || precision.mode == "fp32" || precision.mode == "bf16" || precision.mode == "fp16",
            "precision.mode", "auto, fp32, bf16 or fp16", precision.mode);
    require(precision.init_scale > 0 && precision.growth_factor > 1 && precision.backoff_factor > 0 &&
                precision.backoff_factor < 1 && precision.growth_interval >= 1,
            "precision (loss scaler)", "init_scale > 0, growth_factor > 1, 0 < backoff_factor < 1, growth_interval >= 1",
            section_to_json(precision).dump());
    require(train.max_steps >= 0, "train.max_steps", ">= 0", std::to_string(train.max_steps));
    require(train.max_steps > 0 || train.epochs >= 1, "train.epochs", ">= 1 when train.max_steps is 0",
            std::to_string(train.epochs));
    require(train.max_nonfinite_steps >= 1, "train.max_nonfinite_steps", ">= 1", std::to_string(train.max_nonfinite_steps));
    require(checkpoint.every >= 0, "checkpoint.every", ">= 0", std::to_string(checkpoint.every));
    require(checkpoint.keep_last >= 1, "checkpoint.keep_last", ">= 1", std::to_string(checkpoint.keep_last));
    require(log.every >= 1, "log.every", ">= 1", std::to_string(log.every));
    require(log.validation_every >= 0 && log.validation_count >= 1 && log.validation_steps >= 1,
            "log.validation_*", "validation_every >= 0, validation_count >= 1, validation_steps >= 1",
            section_to_json(log).dump());
    if (adapter.options.mode == AdapterMode::kStablePose)
        require(static_cast<int>(pose_condition.training_masks.gaussian_kernels.size()) == adapter.options.vit.depth,
                "pose_condition.gaussian_kernels", "one kernel per PMSA ViT layer (adapter.vit.depth = " +
                    std::to_string(adapter.options.vit.depth) + ")",
                std::to_string(pose_condition.training_masks.gaussian_kernels.size()) + " kernels");
    const auto& a = data.augment;
    const bool augmenting = a.flip_p > 0 || a.rotate_p > 0 || a.random_crop || a.colour_p > 0 || a.brightness_contrast_p > 0;
    if (cache.latents && augmenting)
        fail("cache.latents needs the image augmentation off",
             "data.augment.flip_p = rotate_p = colour_p = brightness_contrast_p = 0 and random_crop = false",
             "an augmenting pipeline (each epoch sees other pixels, so cached latents would be wrong)",
             "set cache.latents=false, or turn the augmentation off with --set data.augment....");
}

TrainConfig resolve_train_config(json resolved, const std::vector<std::string>& overrides, const std::string& source) {
    // Resolve first so that every key exists for the overrides to name; then re-read strictly.
    resolved = TrainConfig::from_json(resolved, source).to_json();
    for (const auto& o : overrides) apply_config_override(resolved, o);
    return TrainConfig::from_json(resolved, overrides.empty() ? source : source + " with --set overrides");
}

TrainConfig load_train_config(const std::filesystem::path& preset, const std::vector<std::string>& overrides) {
    std::ifstream in(preset);
    if (!in) fail("cannot read the training config " + preset.string(), "a JSON preset file", "no such file",
                  "presets live in configs/, e.g. configs/sd15_stable_pose_laion_human.json");
    json j = json::parse(in, nullptr, false);
    if (j.is_discarded())
        fail("the training config " + preset.string() + " is not valid JSON", "a JSON object", "a parse error",
             "check it with `python3 -m json.tool " + preset.string() + "`");
    return resolve_train_config(std::move(j), overrides, preset.string());
}

std::vector<std::string> train_config_help() {
    TrainConfig c;
    std::vector<std::string> out{
        "adapter.mode = \"stable_pose\": stable_pose or controlnet (the baseline)",
        "adapter.condition_range = \"\": [-1,1] or [0,1] (\"\": [-1,1] stable_pose, [0,1] controlnet)",
        "adapter.pose_channels, adapter.vit.*: the adapter's options (docs/train.md)",
        "pose_condition.*: skeleton drawing and pose masks (docs/train.md; configs/stable_pose_sd15.json)"};
    auto add = [&](const std::vector<std::string>& lines) { out.insert(out.end(), lines.begin(), lines.end()); };
    add(section_help(c.data, "data."));
    add(section_help(AugmentFields{c.data.augment}, "data.augment."));
    add(section_help(c.optim, "optim."));
    add(section_help(c.loss, "loss."));
    add(section_help(c.precision, "precision."));
    add(section_help(c.train, "train."));
    add(section_help(c.checkpoint, "checkpoint."));
    add(section_help(c.log, "log."));
    add(section_help(c.cache, "cache."));
    return out;
}

}  // namespace stablepose
