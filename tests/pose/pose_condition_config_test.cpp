#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/pose/pose_condition_config.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(PoseConditionConfig, ShippedPresetIsTheOfficialSetting) {
    const auto c = load_pose_condition_config(std::filesystem::path(STABLEPOSE_CONFIGS_DIR) / "stable_pose_sd15.json");
    EXPECT_EQ(c.style.line_width, 10);
    EXPECT_FLOAT_EQ(c.style.confidence_threshold, 0.02f);
    EXPECT_EQ(c.style.max_people, 10);
    EXPECT_EQ(c.training_masks.gaussian_kernels, (std::vector<int>{23, 13}));
    EXPECT_FLOAT_EQ(c.training_masks.threshold, -1.0f);
    EXPECT_FLOAT_EQ(c.inference_masks.threshold, -0.99f);
    EXPECT_EQ(PoseConditionConfig::from_json(c.to_json()).to_json(), c.to_json());
}

TEST(PoseConditionConfig, UnknownKeysAndBadValuesAreErrors) {
    EXPECT_THROW(PoseConditionConfig::from_json(nlohmann::json{{"linewidth", 10}}), Error);
    EXPECT_THROW(PoseConditionConfig::from_json(nlohmann::json{{"gaussian_kernels", {22}}}), Error);
    EXPECT_THROW(PoseConditionConfig::from_json(nlohmann::json{{"sigma", "three"}}), Error);
    EXPECT_EQ(PoseConditionConfig::from_json(nlohmann::json::object()).style.line_width, 10);
    EXPECT_THROW(load_pose_condition_config("/nonexistent.json"), Error);
}

}  // namespace
}  // namespace stablepose
