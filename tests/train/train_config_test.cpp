// The training config: presets, strict keys, --set overrides, value checks, resume compatibility.
#include <fstream>
#include <regex>

#include "stablepose/train/config_fields.h"
#include "stablepose/train/train_config.h"
#include "train_test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

fs::path preset(const std::string& name) { return fs::path(STABLEPOSE_CONFIGS_DIR) / name; }

TEST(TrainConfig, PresetsHoldTheOfficialRecipe) {
    for (const char* name : {"sd15_stable_pose_laion_human.json", "sd15_stable_pose_humanart.json"}) {
        const auto c = load_train_config(preset(name));
        EXPECT_DOUBLE_EQ(c.optim.lr, 1e-5) << name;
        EXPECT_DOUBLE_EQ(c.optim.weight_decay, 0.01) << name;
        EXPECT_EQ(c.data.batch_size, 4) << name;
        EXPECT_TRUE(c.data.drop_last) << name;
        EXPECT_DOUBLE_EQ(c.loss.alpha, 5.0) << name;
        EXPECT_EQ(c.train.seed, 23) << name;
        EXPECT_DOUBLE_EQ(c.data.augment.text_dropout, 0.5) << name;
        EXPECT_EQ(c.adapter.options.mode, AdapterMode::kStablePose) << name;
        EXPECT_EQ(c.adapter.range(), ConditionRange::kMinusOneOne) << name;
        // The preset spells out every key: re-serialising the resolved config gives the file back.
        // (float32 fields such as confidence_threshold come back as their float value: compare numerically)
        std::ifstream in(preset(name));
        const auto file = nlohmann::json::parse(in), resolved = c.to_json();
        for (const auto& key : config_differences(file, resolved)) {
            const auto pointer = nlohmann::json::json_pointer("/" + std::regex_replace(key, std::regex("\\."), "/"));
            ASSERT_TRUE(file.contains(pointer) && resolved.contains(pointer)) << name << ": " << key;
            ASSERT_TRUE(file.at(pointer).is_number() && resolved.at(pointer).is_number()) << name << ": " << key;
            EXPECT_NEAR(file.at(pointer).get<double>(), resolved.at(pointer).get<double>(), 1e-6) << name << ": " << key;
        }
        // The pose_condition section has the layout of configs/stable_pose_sd15.json.
        EXPECT_EQ(c.pose_condition.to_json(), load_pose_condition_config(preset("stable_pose_sd15.json")).to_json());
    }
}

TEST(TrainConfig, UnknownKeysAreNamed) {
    auto j = load_train_config(preset("sd15_stable_pose_humanart.json")).to_json();
    auto bad = j;
    bad["optim"]["lrr"] = 1;
    auto message = error_of([&] { TrainConfig::from_json(bad, "my.json"); });
    EXPECT_NE(message.find("unknown config key 'my.json.optim.lrr'"), std::string::npos) << message;
    bad = j;
    bad["data"]["augment"]["flip"] = 0.5;
    message = error_of([&] { TrainConfig::from_json(bad, "my.json"); });
    EXPECT_NE(message.find("data.augment.flip"), std::string::npos) << message;
    bad = j;
    bad["optimiser"] = {};
    message = error_of([&] { TrainConfig::from_json(bad, "my.json"); });
    EXPECT_NE(message.find("optimiser"), std::string::npos) << message;
    message = error_of([&] { load_train_config(preset("sd15_stable_pose_humanart.json"), {"optim.betas=1"}); });
    EXPECT_NE(message.find("unknown config key 'optim.betas'"), std::string::npos) << message;
    EXPECT_NE(message.find("beta1"), std::string::npos) << message;  // lists what exists
}

TEST(TrainConfig, BadJsonAndWrongTypesNameTheFileAndKey) {
    const auto dir = testing::train_scratch("config");
    std::ofstream(dir / "broken.json") << R"({"optim": {"lr": 1e-5,})";
    auto message = error_of([&] { load_train_config(dir / "broken.json"); });
    EXPECT_NE(message.find((dir / "broken.json").string()), std::string::npos) << message;
    EXPECT_NE(message.find("not valid JSON"), std::string::npos) << message;
    message = error_of([&] { load_train_config(dir / "missing.json"); });
    EXPECT_NE(message.find((dir / "missing.json").string()), std::string::npos) << message;
    std::ofstream(dir / "typed.json") << R"({"data": {"batch_size": "four"}})";
    message = error_of([&] { load_train_config(dir / "typed.json"); });
    EXPECT_NE(message.find("data.batch_size: wrong type"), std::string::npos) << message;
    std::ofstream(dir / "fraction.json") << R"({"optim": {"grad_accum": 1.5}})";
    message = error_of([&] { load_train_config(dir / "fraction.json"); });
    EXPECT_NE(message.find("optim.grad_accum"), std::string::npos) << message;
}

TEST(TrainConfig, OverridesAndValueChecks) {
    const auto c = load_train_config(preset("sd15_stable_pose_laion_human.json"),
                                     {"optim.lr=2e-5", "train.device=cpu", "adapter.mode=controlnet",
                                      "data.augment.width=256"});
    EXPECT_DOUBLE_EQ(c.optim.lr, 2e-5);
    EXPECT_EQ(c.train.device, "cpu");
    EXPECT_EQ(c.adapter.options.mode, AdapterMode::kControlNet);
    EXPECT_EQ(c.adapter.range(), ConditionRange::kZeroOne);  // the ControlNet baseline trains on [0, 1]
    EXPECT_EQ(c.data.augment.width, 256);
    auto message = error_of([&] { load_train_config(preset("sd15_stable_pose_laion_human.json"), {"optim.lr=-1"}); });
    EXPECT_NE(message.find("optim.lr"), std::string::npos) << message;
    message = error_of([&] { load_train_config(preset("sd15_stable_pose_laion_human.json"), {"data.augment.width=100"}); });
    EXPECT_NE(message.find("64"), std::string::npos) << message;
    message = error_of([&] { load_train_config(preset("sd15_stable_pose_laion_human.json"), {"optim"}); });
    EXPECT_NE(message.find("KEY.SUB=VALUE"), std::string::npos) << message;
    // Latents can only be cached when every epoch sees the same pixels.
    message = error_of([&] { load_train_config(preset("sd15_stable_pose_laion_human.json"), {"cache.latents=true"}); });
    EXPECT_NE(message.find("cache.latents needs the image augmentation off"), std::string::npos) << message;
    EXPECT_NO_THROW(load_train_config(preset("sd15_stable_pose_laion_human.json"),
                                      {"cache.latents=true", "data.augment.flip_p=0", "data.augment.rotate_p=0",
                                       "data.augment.colour_p=0", "data.augment.brightness_contrast_p=0",
                                       "data.augment.random_crop=false"}));
}

TEST(TrainConfig, DifferencesAreListedByDottedKey) {
    const auto a = load_train_config(preset("sd15_stable_pose_laion_human.json")).to_json();
    const auto b = load_train_config(preset("sd15_stable_pose_laion_human.json"), {"optim.lr=3e-5", "log.every=5"}).to_json();
    EXPECT_EQ(config_differences(a, b), (std::vector<std::string>{"log.every", "optim.lr"}));
}

}  // namespace
}  // namespace stablepose
