// `stablepose train`: the adapter training loop (stable-pose.md §7-9, runtime.md §4-6). Per optimizer step,
// grad_accum micro-batches of: t ~ U{0..T-1}, eps ~ N(0, I), z0 sampled from the frozen VAE's posterior,
// z_t = add_noise(z0, eps, t), eps_hat = UNet_frozen(z_t, t, CLIP(text), Adapter(z_t, t, text, skeleton,
// masks)), loss = pose-mask-guided MSE (stable_pose, alpha 5) or plain MSE (controlnet); AdamW over the
// adapter's parameters only. Checkpoints resume bit-exactly on the CPU (checkpoint.h).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "stablepose/train/data_loader.h"
#include "stablepose/train/parallel_context.h"
#include "stablepose/train/train_config.h"

namespace stablepose {

struct TrainPaths {
    std::filesystem::path model_dir;  // frozen SD export (scripts/export_sd.py)
    std::filesystem::path data;       // dataset file (data/dataset.h)
    std::filesystem::path out_dir;    // run folder
    std::optional<std::filesystem::path> resume;        // a checkpoint or run folder: continue exactly
    std::optional<std::filesystem::path> init_adapter;  // start from these weights, fresh optimizer
};

struct StepReport {
    int64_t step = 0;  // optimizer steps done, this one included
    int64_t total_steps = 0;
    DataCursor cursor;  // the next batch after this step
    double loss = 0;    // mean over the micro-batches (and ranks)
    double lr = 0;
    bool skipped = false;  // non-finite loss or fp16 overflow: no update
    std::optional<double> grad_norm;  // before clipping, when clipping is on
    double loss_scale = 1;
    double seconds = 0;  // wall time of the step
    double samples_per_second = 0;
    int64_t peak_memory_bytes = 0;
};

struct TrainHooks {
    std::function<void(const StepReport&)> on_step;  // after every optimizer step, before its checkpoint
    std::shared_ptr<ParallelContext> parallel;        // nullptr: one process
    bool write_files = true;      // false: nothing written (benchmarks)
    bool handle_signals = true;   // install the SIGINT/SIGTERM handlers while training
    bool console = true;          // console lines and progress
};

struct TrainResult {
    int64_t start_step = 0, steps = 0;  // steps: optimizer steps done at the end
    bool interrupted = false;           // stopped by a signal (a checkpoint was written)
    std::filesystem::path last_checkpoint;
    std::vector<double> losses;         // per step of this call
    double seconds = 0;
    int64_t samples = 0;                // by this process in this call
    int64_t peak_memory_bytes = 0;
    std::string resume_command;         // how to continue (set when interrupted)
};

// Runs the configured number of steps (or to the end of training when resuming). Prints the resolved config,
// writes RUN/config.json, RUN/metrics.jsonl, checkpoints and RUN/adapter.safetensors (the final weights).
// Throws Error for bad inputs, and after train.max_nonfinite_steps non-finite losses in a row (the
// checkpoints already written are left as they are).
TrainResult train(const TrainConfig& config, const TrainPaths& paths, const TrainHooks& hooks = {});

// The config for --resume: the checkpoint's, with `overrides` applied. Keys that change the training
// trajectory (anything but train.max_steps, train.epochs, checkpoint.*, log.*, data.workers,
// data.prefetch_batches) must keep the checkpoint's values; fails naming the first that does not.
TrainConfig resume_config(const std::filesystem::path& checkpoint, const std::optional<TrainConfig>& requested,
                          const std::vector<std::string>& overrides);

}  // namespace stablepose
