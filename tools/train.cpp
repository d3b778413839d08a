// stablepose train (adapter training, docs/train.md) and stablepose bench train (samples/s, peak memory).
#include <iostream>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include <torch/cuda.h>

#include "commands.h"
#include "stablepose/train/distributed.h"
#include "stablepose/error.h"
#include "stablepose/train/checkpoint.h"
#include "stablepose/train/train_bench.h"
#include "stablepose/train/trainer.h"

namespace stablepose::tools {

namespace {

// Explicit flags are shorthands for --set overrides (one source of truth: the config structs).
struct TrainFlags {
    std::string config, resume, init_adapter, model, data, out;
    std::vector<std::string> overrides;
    std::optional<int64_t> steps, seed;
    std::optional<int> batch_size, grad_accum, workers;
    std::optional<double> lr;
    std::optional<std::string> device, precision, mode;
    bool help_config = false;

    std::vector<std::string> all_overrides() const {
        std::vector<std::string> out;
        auto add = [&](const char* key, const auto& value) {
            if (value) out.push_back(std::string(key) + "=" + nlohmann::json(*value).dump());
        };
        add("train.max_steps", steps);
        add("train.seed", seed);
        add("data.batch_size", batch_size);
        add("optim.grad_accum", grad_accum);
        add("data.workers", workers);
        add("optim.lr", lr);
        add("train.device", device);
        add("precision.mode", precision);
        add("adapter.mode", mode);
        out.insert(out.end(), overrides.begin(), overrides.end());
        return out;
    }
};

}  // namespace

void add_train_command(CLI::App& app) {
    auto f = std::make_shared<TrainFlags>();
    auto* cmd = app.add_subcommand("train", "Train the adapter (docs/train.md)");
    cmd->add_option("--config", f->config, "Preset, e.g. configs/sd15_stable_pose_laion_human.json");
    cmd->add_option("--model", f->model, "Frozen SD folder (scripts/export_sd.py); with --resume: default the run's");
    cmd->add_option("--data", f->data, "Dataset: HumanSD mapping JSON, COCO annotations or JSONL manifest");
    cmd->add_option("--out", f->out, "Run folder (config.json, metrics.jsonl, checkpoints/, adapter.safetensors)");
    cmd->add_option("--resume", f->resume, "Continue exactly from a checkpoint or run folder (its config)");
    cmd->add_option("--init-adapter", f->init_adapter, "Start from these adapter weights with a fresh optimizer");
    cmd->add_option("--set", f->overrides, "Config override KEY.SUB=VALUE (repeatable), e.g. optim.lr=2e-5");
    cmd->add_option("--steps", f->steps, "= --set train.max_steps=N");
    cmd->add_option("--seed", f->seed, "= --set train.seed=N");
    cmd->add_option("--batch-size", f->batch_size, "= --set data.batch_size=N");
    cmd->add_option("--grad-accum", f->grad_accum, "= --set optim.grad_accum=N");
    cmd->add_option("--workers", f->workers, "= --set data.workers=N");
    cmd->add_option("--lr", f->lr, "= --set optim.lr=X")->check(positive_finite_number());
    cmd->add_option("--device", f->device, "= --set train.device=auto|cpu|cuda|cuda:N");
    cmd->add_option("--precision", f->precision, "= --set precision.mode=auto|fp32|bf16|fp16");
    cmd->add_option("--mode", f->mode, "= --set adapter.mode=stable_pose|controlnet");
    cmd->add_flag("--help-config", f->help_config, "List every config key with its default and exit");
    cmd->callback([f] {
        if (f->help_config) {
            for (const auto& line : train_config_help()) std::cout << line << "\n";
            return;
        }
        TrainPaths paths;
        std::optional<TrainConfig> config;
        if (!f->config.empty()) config = load_train_config(f->config, f->all_overrides());
        if (!f->resume.empty()) {
            const auto saved = read_checkpoint(f->resume);
            config = resume_config(saved.dir, config, f->config.empty() ? f->all_overrides() : std::vector<std::string>{});
            paths.resume = saved.dir;
            auto from = [&](const std::string& given, const char* key) {
                return given.empty() ? std::filesystem::path(saved.state.paths.value(key, std::string()))
                                     : std::filesystem::path(given);
            };
            paths.model_dir = from(f->model, "model");
            paths.data = from(f->data, "data");
            // The run folder the checkpoint sits in, not the path recorded when it was written: a copied or
            // moved run continues where it now is and never writes into the original.
            const auto here = run_folder_of(saved.dir);
            paths.out_dir = !f->out.empty() ? std::filesystem::path(f->out) : !here.empty() ? here : from("", "out");
        } else {
            if (!config)
                fail("train: no config", "--config PRESET (or --resume DIR)", "neither",
                     "e.g. stablepose train --config configs/sd15_stable_pose_laion_human.json --model M --data D --out RUN");
            if (f->model.empty() || f->data.empty() || f->out.empty())
                fail("train: --model, --data and --out are required for a new run", "all three",
                     "model '" + f->model + "', data '" + f->data + "', out '" + f->out + "'");
            paths.model_dir = f->model;
            paths.data = f->data;
            paths.out_dir = f->out;
            if (!f->init_adapter.empty()) paths.init_adapter = std::filesystem::path(f->init_adapter);
        }
        // Launched like torchrun (WORLD_SIZE set): one process per device over c10d (docs/distributed.md).
        TrainHooks hooks;
        if (DistributedEnv::from_environment().launched) {
            const bool cuda = config->train.device.rfind("cuda", 0) == 0 ||
                              (config->train.device == "auto" && torch::cuda::is_available());
            auto context = DistributedContext::from_environment(cuda ? torch::kCUDA : torch::kCPU);
            config->train.device = context->device().str();
            hooks.parallel = context;
            spdlog::info("train: rank {} of {} on {}", context->rank(), context->world_size(), config->train.device);
        }
        const auto result = train(*config, paths, hooks);
        if (result.interrupted) {
            spdlog::info("train: stopped by signal after step {}; checkpoint {}", result.steps,
                         result.last_checkpoint.string());
            spdlog::info("train: resume with: {}", result.resume_command);
            return;
        }
        spdlog::info("train: {} steps done ({} this run, {:.1f} s); adapter {}", result.steps,
                     result.steps - result.start_step, result.seconds,
                     (paths.out_dir / "adapter.safetensors").string());
    });
}

void add_bench_train_command(CLI::App& app) {
    auto options = std::make_shared<TrainBenchOptions>();
    auto* cmd = bench_command_group(app).add_subcommand("train", "Training samples/s and peak memory for a config");
    cmd->add_option("--config", options->config, "Preset")->required();
    cmd->add_option("--model", options->model_dir, "Frozen SD folder")->required();
    cmd->add_option("--data", options->data, "Dataset file")->required();
    cmd->add_option("--set", options->overrides, "Config override KEY.SUB=VALUE (repeatable)");
    cmd->add_option("--warmup", options->warmup, "Untimed optimizer steps")->capture_default_str();
    cmd->add_option("--steps", options->steps, "Timed optimizer steps")->capture_default_str();
    cmd->callback([options] {
        auto result = run_train_bench(*options);
        result["command"] = train_bench_command(*options);
        std::cout << result.dump(2) << std::endl;
    });
}

}  // namespace stablepose::tools
