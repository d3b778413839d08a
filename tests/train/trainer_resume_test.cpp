// End to end on the tiny exported SD and a small generated dataset: the loss goes down, resume is bit-exact
// (with and without gradient accumulation), a signal leaves a loadable checkpoint, non-finite losses stop
// the run, the frozen parts get no gradients or optimizer state.
#include <csignal>
#include <fstream>

#include "stablepose/io/safetensors.h"
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

void expect_equal_weights(const fs::path& a, const fs::path& b) {
    const auto wa = weights(a), wb = weights(b);
    ASSERT_EQ(wa.size(), wb.size());
    for (const auto& [name, t] : wa) EXPECT_TRUE(torch::equal(t, wb.at(name))) << name;
}

// Stops a run of `total` steps after step `stop`, resumes it, and compares with an uninterrupted run.
void check_resume_is_exact(const std::string& name, std::vector<std::string> extra, int total, int stop) {
    const auto dir = testing::train_scratch(name);
    const auto data = testing::write_dataset(dir / "data", 6, "humansd");
    extra.push_back("train.max_steps=" + std::to_string(total));
    const auto config = testing::tiny_config(extra);
    const auto full = train(config, paths_for(data, dir / "full"), quiet());
    ASSERT_EQ(full.losses.size(), static_cast<size_t>(total));

    auto first_config = testing::tiny_config(extra);
    first_config.train.max_steps = stop;
    const auto first = train(first_config, paths_for(data, dir / "split"), quiet());
    ASSERT_EQ(first.steps, stop);
    auto resume = paths_for(data, dir / "split");
    resume.resume = dir / "split";  // the run folder: its newest checkpoint
    const auto config2 = resume_config(dir / "split", std::nullopt, {"train.max_steps=" + std::to_string(total)});
    const auto second = train(config2, resume, quiet());
    ASSERT_EQ(second.start_step, stop);
    ASSERT_EQ(second.losses.size(), static_cast<size_t>(total - stop));
    for (int i = 0; i < total; ++i) {
        const double got = i < stop ? first.losses[static_cast<size_t>(i)] : second.losses[static_cast<size_t>(i - stop)];
        EXPECT_EQ(got, full.losses[static_cast<size_t>(i)]) << name << " step " << i + 1;  // bit-exact
    }
    expect_equal_weights(dir / "full" / "adapter.safetensors", dir / "split" / "adapter.safetensors");
    // The metrics file of the resumed run has each step once.
    std::ifstream in(dir / "split" / "metrics.jsonl");
    std::vector<int64_t> steps;
    for (std::string line; std::getline(in, line);) steps.push_back(nlohmann::json::parse(line).at("step"));
    std::vector<int64_t> want;
    for (int i = 1; i <= total; ++i) want.push_back(i);
    EXPECT_EQ(steps, want);
}

TEST(TrainerResume, BitExactOnCpu) { check_resume_is_exact("resume", {}, 4, 2); }

TEST(TrainerResume, BitExactUnderGradientAccumulation) {
    check_resume_is_exact("resume_accum", {"optim.grad_accum=2", "data.workers=0", "optim.clip_grad_norm=1.0",
                                           "optim.schedule=linear_warmup", "optim.warmup_steps=3"},
                          3, 1);
}

TEST(TrainerResume, RecipeChangesAreRefused) {
    const auto dir = testing::train_scratch("resume_refused");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    train(testing::tiny_config({"train.max_steps=1", "checkpoint.every=1"}), paths_for(data, dir / "run"), quiet());
    const auto message = error_of([&] { resume_config(dir / "run", std::nullopt, {"optim.lr=1e-3"}); });
    EXPECT_NE(message.find("optim.lr"), std::string::npos) << message;
    EXPECT_NO_THROW(resume_config(dir / "run", std::nullopt, {"train.max_steps=3", "log.every=7"}));
}

}  // namespace
}  // namespace stablepose
