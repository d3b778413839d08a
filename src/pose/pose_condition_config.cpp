#include "stablepose/pose/pose_condition_config.h"

#include <algorithm>
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {

PoseConditionConfig PoseConditionConfig::from_json(const nlohmann::json& j, const std::string& source) {
    static const std::vector<std::string> keys = {
        "line_width", "confidence_threshold", "max_people",          "gaussian_kernels",   "sigma",
        "latent_factor", "background_relative", "training_threshold", "inference_threshold"};
    if (!j.is_object()) fail(source + " must be an object", "{\"line_width\": 10, ...}", j.dump());
    for (const auto& [key, value] : j.items())
        if (std::find(keys.begin(), keys.end(), key) == keys.end())
            fail(source + ": unknown key '" + key + "'",
                 "line_width, confidence_threshold, max_people, gaussian_kernels, sigma, latent_factor, "
                 "background_relative, training_threshold, inference_threshold",
                 key);
    PoseConditionConfig c;
    try {
        c.style.line_width = j.value("line_width", c.style.line_width);
        c.style.confidence_threshold = j.value("confidence_threshold", c.style.confidence_threshold);
        c.style.max_people = j.value("max_people", c.style.max_people);
        for (auto* masks : {&c.training_masks, &c.inference_masks}) {
            masks->gaussian_kernels = j.value("gaussian_kernels", masks->gaussian_kernels);
            masks->sigma = j.value("sigma", masks->sigma);
            masks->latent_factor = j.value("latent_factor", masks->latent_factor);
            masks->background_relative = j.value("background_relative", masks->background_relative);
        }
        c.training_masks.threshold = j.value("training_threshold", c.training_masks.threshold);
        c.inference_masks.threshold = j.value("inference_threshold", c.inference_masks.threshold);
    } catch (const nlohmann::json::type_error& e) {
        fail(source + ": a value has the wrong type", "numbers, a list of odd integers for gaussian_kernels", e.what());
    }
    c.training_masks.validate();
    c.inference_masks.validate();
    return c;
}

nlohmann::json PoseConditionConfig::to_json() const {
    return {{"line_width", style.line_width},
            {"confidence_threshold", style.confidence_threshold},
            {"max_people", style.max_people},
            {"gaussian_kernels", training_masks.gaussian_kernels},
            {"sigma", training_masks.sigma},
            {"latent_factor", training_masks.latent_factor},
            {"background_relative", training_masks.background_relative},
            {"training_threshold", training_masks.threshold},
            {"inference_threshold", inference_masks.threshold}};
}

PoseConditionConfig load_pose_condition_config(const std::filesystem::path& preset) {
    std::ifstream in(preset);
    if (!in)
        fail("cannot read preset '" + preset.string() + "'", "a JSON preset such as configs/stable_pose_sd15.json",
             std::filesystem::exists(preset) ? "an unreadable file" : "no such file");
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(in);
    } catch (const nlohmann::json::exception& e) {
        fail("preset '" + preset.string() + "' is not valid JSON", "a JSON object", e.what());
    }
    if (!j.contains("pose_condition"))
        fail("preset '" + preset.string() + "' has no \"pose_condition\" section", "a \"pose_condition\" object",
             "keys: " + [&] { std::string k; for (const auto& [key, v] : j.items()) k += key + " "; return k; }());
    return PoseConditionConfig::from_json(j["pose_condition"], preset.string() + ": pose_condition");
}

}  // namespace stablepose
