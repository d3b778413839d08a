// The training recipe as typed config, one struct per concern (stable-pose.md §9 defaults), read from the
// JSON presets in configs/ (sd15_stable_pose_laion_human.json, sd15_stable_pose_humanart.json) with
// --set overrides. Unknown keys are errors; the resolved config is printed and saved in the run dir.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/data/augment_params.h"
#include "stablepose/nn/adapter_file.h"
#include "stablepose/pose/pose_condition_config.h"

namespace stablepose {

// "adapter": the adapter's options as adapter_file.h writes them (mode, pose_channels, vit, ...) plus the
// value range of the condition image. The U-Net part comes from the frozen model at start.
struct AdapterSection {
    AdapterConfig options;  // .unet is filled in from the model by the trainer
    // Empty: [-1,1] for stable_pose (the official hint), [0,1] for controlnet (as diffusers trains it).
    std::string condition_range;
    ConditionRange range() const;
};

struct DataConfig {
    std::string format;   // "" (from the file), "humansd", "coco" or "jsonl"
    std::string root;     // "" (the dataset file's folder, see data/dataset.h)
    int batch_size = 4;   // per process (official: 4 per GPU)
    int workers = 4;      // decoding threads; 0 decodes in the training thread
    int prefetch_batches = 4;
    bool shuffle = true;
    bool drop_last = true;
    AugmentConfig augment = AugmentConfig::training();  // "augment" sub-section; width/height = training size

    template <class F>
    void fields(F&& f) {
        f("format", format, "dataset format: \"\" (detect), humansd, coco or jsonl");
        f("root", root, "folder image/pose paths are relative to (\"\": the dataset file's folder)");
        f("batch_size", batch_size, "samples per process and micro-step");
        f("workers", workers, "decoding threads (0: in the training thread)");
        f("prefetch_batches", prefetch_batches, "batches decoded ahead of the training step");
        f("shuffle", shuffle, "a new permutation per epoch, drawn from train.seed + epoch");
        f("drop_last", drop_last, "drop the last incomplete batch of each epoch (official: true)");
    }
};

struct OptimConfig {
    double lr = 1e-5;
    double weight_decay = 0.01;
    double beta1 = 0.9, beta2 = 0.999, eps = 1e-8;
    int grad_accum = 1;
    double clip_grad_norm = 0.0;  // 0: off
    std::string schedule = "constant";  // constant | linear_warmup
    int warmup_steps = 0;

    template <class F>
    void fields(F&& f) {
        f("lr", lr, "AdamW learning rate (official 1e-5, not scaled by batch size)");
        f("weight_decay", weight_decay, "AdamW decoupled weight decay (official 0.01)");
        f("beta1", beta1, "AdamW beta1");
        f("beta2", beta2, "AdamW beta2");
        f("eps", eps, "AdamW epsilon");
        f("grad_accum", grad_accum, "micro-batches per optimizer step");
        f("clip_grad_norm", clip_grad_norm, "max global gradient norm (0: no clipping)");
        f("schedule", schedule, "learning-rate schedule: constant or linear_warmup");
        f("warmup_steps", warmup_steps, "linear_warmup: steps from lr/warmup_steps to lr");
    }
};

struct LossConfig {
    double alpha = 5.0;  // pose-mask-guided loss weight inside the masks (stable_pose mode)
    std::string schedule_arithmetic = "float64";  // float64 (LDM, official) or float32 (diffusers)
    // uniform (official) | cubic: T2I-Adapter's t = (1 - (s/T)^3) T for uniform s, which favours the noisy
    // timesteps where the layout, and so the pose, is decided.
    std::string timestep_sampling = "uniform";

    template <class F>
    void fields(F&& f) {
        f("alpha", alpha, "weight of the squared error inside the fine pose mask (stable_pose; official 5)");
        f("schedule_arithmetic", schedule_arithmetic, "alphas_cumprod as LDM (float64) or diffusers (float32)");
        f("timestep_sampling", timestep_sampling,
          "uniform (official) or cubic (T2I-Adapter: t = (1 - (s/T)^3) T, more weight on noisy timesteps)");
    }
};

struct PrecisionConfig {
    std::string mode = "auto";  // auto (bf16 on CUDA, fp32 on CPU) | fp32 | bf16 | fp16
    double init_scale = 65536.0;  // fp16 loss scaler, PyTorch GradScaler defaults
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int growth_interval = 2000;

    template <class F>
    void fields(F&& f) {
        f("mode", mode, "auto (bf16 autocast on CUDA, fp32 on CPU), fp32, bf16 or fp16 (CUDA, with loss scaling)");
        f("init_scale", init_scale, "fp16: initial loss scale");
        f("growth_factor", growth_factor, "fp16: scale growth after growth_interval finite steps");
        f("backoff_factor", backoff_factor, "fp16: scale factor after a step with inf/NaN gradients");
        f("growth_interval", growth_interval, "fp16: finite steps between scale growths");
    }
};

struct RunConfig {
    int64_t seed = 23;  // official
    int64_t max_steps = 0;  // optimizer steps; 0: run `epochs` epochs
    int epochs = 1;
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    bool activation_checkpointing = false;
    int max_nonfinite_steps = 5;  // stop with an error after this many non-finite losses in a row

    template <class F>
    void fields(F&& f) {
        f("seed", seed, "seed of the data order, augmentation, timesteps, noise and VAE sampling (official 23)");
        f("max_steps", max_steps, "optimizer steps to run (0: run train.epochs epochs)");
        f("epochs", epochs, "epochs when max_steps is 0");
        f("device", device, "auto, cpu, cuda or cuda:N");
        f("activation_checkpointing", activation_checkpointing,
          "recompute the adapter's activations in the backward pass (less memory, ~1 extra adapter forward)");
        f("max_nonfinite_steps", max_nonfinite_steps, "consecutive non-finite losses before the run stops");
    }
};

struct CheckpointConfig {
    int every = 1000;  // optimizer steps; 0: only at the end
    int keep_last = 3;

    template <class F>
    void fields(F&& f) {
        f("every", every, "write a checkpoint every N optimizer steps (0: only at the end)");
        f("keep_last", keep_last, "checkpoints kept (older ones are deleted)");
    }
};

struct LogConfig {
    int every = 10;  // console line every N steps
    bool progress = true;
    int validation_every = 0;  // 0: no validation images
    int validation_count = 2;
    int validation_steps = 20;
    double validation_guidance = 7.5;
    int64_t validation_seed = 42;
    std::string validation_sampler = "ddim";

    template <class F>
    void fields(F&& f) {
        f("every", every, "console line every N optimizer steps");
        f("progress", progress, "progress bar with ETA in the console line");
        f("validation_every", validation_every, "validation images every N steps (0: none)");
        f("validation_count", validation_count, "validation images: the first N dataset samples, centre crop");
        f("validation_steps", validation_steps, "sampler steps of the validation images");
        f("validation_guidance", validation_guidance, "classifier-free guidance of the validation images");
        f("validation_seed", validation_seed, "seed of the first validation image (then +1, +2, ...)");
        f("validation_sampler", validation_sampler, "ddim, dpmpp_2m or euler");
    }
};

struct CacheConfig {
    bool text_embeddings = false;  // always valid: keyed by caption and text-encoder hash
    bool latents = false;          // only with the image augmentation off (VAE moments of the fixed crop)
    std::string dir;               // "": <dataset folder>/.stablepose-cache

    template <class F>
    void fields(F&& f) {
        f("text_embeddings", text_embeddings, "cache the frozen CLIP's embeddings on disk");
        f("latents", latents, "cache the VAE moments on disk (refused unless the image augmentation is off)");
        f("dir", dir, "cache folder (\"\": .stablepose-cache beside the dataset file)");
    }
};

struct TrainConfig {
    std::string name = "custom";
    std::string description;
    AdapterSection adapter;
    PoseConditionConfig pose_condition;
    DataConfig data;
    OptimConfig optim;
    LossConfig loss;
    PrecisionConfig precision;
    RunConfig train;
    CheckpointConfig checkpoint;
    LogConfig log;
    CacheConfig cache;

    // Strict: every section and key must be known; values are checked by validate().
    static TrainConfig from_json(const nlohmann::json& j, const std::string& source = "config");
    nlohmann::json to_json() const;
    void validate() const;  // throws Error naming the key
};

// Reads a preset file and applies `overrides` ("key.sub=value") to its resolved JSON before parsing.
TrainConfig load_train_config(const std::filesystem::path& preset, const std::vector<std::string>& overrides = {});
TrainConfig resolve_train_config(nlohmann::json resolved, const std::vector<std::string>& overrides,
                                 const std::string& source);

// Every key with its default and help, one per line (`stablepose train --help-config`).
std::vector<std::string> train_config_help();

}  // namespace stablepose
