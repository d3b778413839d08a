// End to end on the tiny exported SD and a small generated dataset: the loss goes down, a signal leaves a
// loadable checkpoint, non-finite losses stop the run, only the adapter has optimizer state, --init-adapter,
// the ControlNet baseline, validation images, a missing image. Resume: trainer_resume_test.cpp.
#include <csignal>
#include <fstream>

#include "stablepose/io/safetensors.h"
#include "stablepose/io/sha256.h"
#include "stablepose/nn/adapter_file.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/train/checkpoint.h"
#include "stablepose/train/trainer.h"
#include "train_test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::error_of;

using testing::paths_for;
using testing::quiet;
using testing::weights;

// The loss falls on one fixed batch: the same two images every step, no augmentation or text dropout
// (timesteps and noise still vary, so ten-step means are compared).
TEST(Trainer, LossGoesDownOnAFixedBatch) {
    const auto dir = testing::train_scratch("overfit");
    const auto data = testing::write_dataset(dir / "data", 2, "humansd");
    const auto config = testing::tiny_config(
        {"train.max_steps=60", "optim.lr=2e-3", "checkpoint.every=0", "data.shuffle=false", "data.augment.flip_p=0",
         "data.augment.rotate_p=0", "data.augment.colour_p=0", "data.augment.brightness_contrast_p=0",
         "data.augment.random_crop=false", "data.augment.text_dropout=0"});
    const auto result = train(config, paths_for(data, dir / "run"), quiet());
    ASSERT_EQ(result.losses.size(), 60u);
    double head = 0, tail = 0;
    for (int i = 0; i < 10; ++i) {
        head += result.losses[static_cast<size_t>(i)];
        tail += result.losses[static_cast<size_t>(50 + i)];
    }
    std::cout << "[ overfit ] mean loss of steps 1-10: " << head / 10 << ", steps 51-60: " << tail / 10 << "\n";
    EXPECT_LT(tail, 0.8 * head);
    // The final weights load as an adapter for sampling.
    const auto loaded = load_adapter(dir / "run" / "adapter.safetensors", FrozenModelSpec::load(testing::tiny_sd_dir()).unet);
    EXPECT_EQ(loaded.condition_range, ConditionRange::kMinusOneOne);
}

TEST(Trainer, SignalFinishesTheStepAndLeavesALoadableCheckpoint) {
    const auto dir = testing::train_scratch("signal");
    const auto data = testing::write_dataset(dir / "data", 6, "humansd");
    auto hooks = quiet();
    hooks.on_step = [](const StepReport& r) {
        if (r.step == 2) std::raise(SIGINT);
    };
    struct sigaction before {};
    sigaction(SIGINT, nullptr, &before);  // SIG_DFL, or SIG_IGN when the runner was started in the background
    const auto result = train(testing::tiny_config({"train.max_steps=10", "checkpoint.every=0"}),
                              paths_for(data, dir / "run"), hooks);
    EXPECT_TRUE(result.interrupted);
    EXPECT_EQ(result.steps, 2);
    EXPECT_EQ(result.last_checkpoint.filename(), "step-00000002");
    EXPECT_NE(result.resume_command.find("--resume " + result.last_checkpoint.string()), std::string::npos);
    const auto saved = read_checkpoint(dir / "run");
    EXPECT_EQ(saved.state.step, 2);
    EXPECT_NO_THROW(load_adapter(saved.dir / "adapter.safetensors", FrozenModelSpec::load(testing::tiny_sd_dir()).unet));
    // The handler is gone after training: SIGINT is back to what it was before.
    struct sigaction now {};
    sigaction(SIGINT, nullptr, &now);
    EXPECT_EQ(now.sa_handler, before.sa_handler);
}

TEST(Trainer, NonFiniteLossesStopTheRunAndKeepTheLastCheckpoint) {
    const auto dir = testing::train_scratch("nonfinite");
    const auto data = testing::write_dataset(dir / "data", 6, "humansd");
    // A learning rate of 1e30 blows the weights up after the first update (the next forward overflows).
    std::vector<StepReport> reports;
    auto hooks = quiet();
    hooks.on_step = [&](const StepReport& r) { reports.push_back(r); };
    const auto config = testing::tiny_config({"train.max_steps=10", "optim.lr=1e30", "checkpoint.every=1",
                                              "checkpoint.keep_last=5", "train.max_nonfinite_steps=2"});
    const auto message = error_of([&] { train(config, paths_for(data, dir / "run"), hooks); });
    EXPECT_NE(message.find("non-finite losses in a row"), std::string::npos) << message;
    ASSERT_EQ(reports.size(), 3u);
    EXPECT_FALSE(reports[0].skipped);
    EXPECT_TRUE(reports[1].skipped);
    EXPECT_TRUE(reports[2].skipped);
    const auto last = list_checkpoints(dir / "run").back();
    EXPECT_NE(message.find(last.string()), std::string::npos) << message;
    EXPECT_EQ(read_checkpoint(last).state.step, 2);
    EXPECT_NO_THROW(load_adapter(last / "adapter.safetensors", FrozenModelSpec::load(testing::tiny_sd_dir()).unet));
}

TEST(Trainer, OnlyTheAdapterHasOptimizerState) {
    const auto dir = testing::train_scratch("frozen");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    train(testing::tiny_config({"train.max_steps=1", "checkpoint.every=1"}), paths_for(data, dir / "run"), quiet());
    const auto ckpt = list_checkpoints(dir / "run").back();
    const auto adapter = weights(ckpt / "adapter.safetensors");
    const auto optimizer = weights(ckpt / "optimizer.safetensors");
    EXPECT_EQ(optimizer.size(), 3 * adapter.size());  // exp_avg, exp_avg_sq, step per adapter parameter
    for (const auto& [name, t] : adapter) EXPECT_TRUE(optimizer.count(name + ".exp_avg")) << name;
}

TEST(Trainer, InitAdapterStartsFromWeightsWithAFreshOptimizer) {
    const auto dir = testing::train_scratch("init");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    train(testing::tiny_config({"train.max_steps=1"}), paths_for(data, dir / "a"), quiet());
    auto p = paths_for(data, dir / "b");
    p.init_adapter = dir / "a" / "adapter.safetensors";
    const auto result = train(testing::tiny_config({"train.max_steps=1"}), p, quiet());
    EXPECT_EQ(result.start_step, 0);
    const auto optimizer = weights(list_checkpoints(dir / "b").back() / "optimizer.safetensors");
    for (const auto& [name, t] : optimizer)
        if (name.size() > 5 && name.substr(name.size() - 5) == ".step") {
            EXPECT_EQ(t.item<int64_t>(), 1) << name;
        }
}

// A new run never writes over an earlier one: not over its checkpoints, and not over a finished run whose
// checkpoints were deleted (its adapter).
TEST(Trainer, ANewRunRefusesAFolderHoldingAnEarlierRun) {
    const auto dir = testing::train_scratch("refuse");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    const auto config = testing::tiny_config({"train.max_steps=1"});
    train(config, paths_for(data, dir / "run"), quiet());
    const auto adapter = sha256_file(dir / "run" / "adapter.safetensors");
    const auto checkpoints = error_of([&] { train(config, paths_for(data, dir / "run"), quiet()); });
    EXPECT_NE(checkpoints.find("already holds checkpoints"), std::string::npos) << checkpoints;
    remove_tree(dir / "run" / "checkpoints");
    const auto finished = error_of([&] { train(config, paths_for(data, dir / "run"), quiet()); });
    EXPECT_NE(finished.find("already holds a finished run's adapter.safetensors"), std::string::npos)
        << finished;
    EXPECT_NE(finished.find("another --out"), std::string::npos) << finished;
    EXPECT_EQ(sha256_file(dir / "run" / "adapter.safetensors"), adapter);
    // A run stopped before its first checkpoint left only its log: a new run starts there.
    fs::remove(dir / "run" / "adapter.safetensors");
    EXPECT_EQ(train(config, paths_for(data, dir / "run"), quiet()).start_step, 0);
}

TEST(Trainer, ControlNetBaselineTrainsWithPlainMse) {
    const auto dir = testing::train_scratch("controlnet");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    const auto config = testing::tiny_config({"adapter.mode=controlnet", "train.max_steps=2"});
    const auto result = train(config, paths_for(data, dir / "run"), quiet());
    EXPECT_EQ(result.losses.size(), 2u);
    const auto loaded = load_adapter(dir / "run" / "adapter.safetensors", FrozenModelSpec::load(testing::tiny_sd_dir()).unet);
    EXPECT_EQ(loaded.adapter->config().mode, AdapterMode::kControlNet);
    EXPECT_EQ(loaded.condition_range, ConditionRange::kZeroOne);
}

TEST(Trainer, ValidationImagesAreWrittenEveryMSteps) {
    const auto dir = testing::train_scratch("validation");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    train(testing::tiny_config({"train.max_steps=2", "checkpoint.every=0", "log.validation_every=2",
                                "log.validation_count=2", "log.validation_steps=2"}),
          paths_for(data, dir / "run"), quiet());
    const auto step2 = dir / "run" / "validation" / "step-00000002";
    for (const char* f : {"00.png", "00_pose.png", "01.png", "01_pose.png"}) EXPECT_TRUE(fs::exists(step2 / f)) << f;
    EXPECT_FALSE(fs::exists(dir / "run" / "validation" / "step-00000001"));
    const auto image = read_image_rgb(step2 / "00.png");
    EXPECT_EQ(image.cols, 64);
    EXPECT_EQ(image.rows, 64);
}

TEST(Trainer, MissingImageFailsNamingTheFile) {
    const auto dir = testing::train_scratch("missing_image");
    const auto data = testing::write_dataset(dir / "data", 4, "humansd");
    fs::remove(dir / "data" / "images" / "img3.png");
    const auto message = error_of(
        [&] { train(testing::tiny_config({"train.max_steps=3", "data.shuffle=false"}), paths_for(data, dir / "run"), quiet()); });
    EXPECT_NE(message.find("img3.png"), std::string::npos) << message;
    // Met after a checkpoint: the message says where to continue from.
    const auto later = error_of([&] {
        train(testing::tiny_config({"train.max_steps=3", "data.shuffle=false", "checkpoint.every=1"}),
              paths_for(data, dir / "run2"), quiet());
    });
    EXPECT_NE(later.find("img3.png"), std::string::npos) << later;
    EXPECT_NE(later.find("the last checkpoint is intact: " +
                         (dir / "run2" / "checkpoints" / checkpoint_name(1)).string()),
              std::string::npos)
        << later;
    EXPECT_NE(later.find("stablepose train --resume"), std::string::npos) << later;
}

}  // namespace
}  // namespace stablepose
