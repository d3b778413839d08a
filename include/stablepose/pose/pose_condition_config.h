// The pose-conditioning settings of a preset (configs/*.json, section "pose_condition"): how skeletons are
// drawn and how the training and inference masks are built. One struct, read strictly, printed and saved.
#pragma once

#include <filesystem>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/pose/pose_masks.h"
#include "stablepose/pose/skeleton_renderer.h"

namespace stablepose {

struct PoseConditionConfig {
    SkeletonStyle style;
    PoseMaskConfig training_masks = PoseMaskConfig::training();
    PoseMaskConfig inference_masks = PoseMaskConfig::inference();

    // Keys: line_width, confidence_threshold, max_people, gaussian_kernels, sigma, latent_factor,
    // background_relative, training_threshold, inference_threshold. Missing keys keep the official
    // defaults; unknown keys are errors.
    static PoseConditionConfig from_json(const nlohmann::json& j, const std::string& source = "pose_condition");
    nlohmann::json to_json() const;
};

// Reads the "pose_condition" section of a preset file.
PoseConditionConfig load_pose_condition_config(const std::filesystem::path& preset);

}  // namespace stablepose
