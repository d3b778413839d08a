// Pose-guided text-to-image sampling: frozen SD + (optionally) the adapter, classifier-free guidance and a
// scheduler composed outside the sampler (stable-pose.md §10, diffusers' StableDiffusionControlNetPipeline).
//   - text encoded once per distinct prompt (cached);
//   - condition features and pose masks computed once per batch, outside the step loop;
//   - CFG as one batch [uncond; cond]; the unconditional rows get all-ones masks (official);
//   - guidance scale 1 runs the conditional branch alone, with the training-style masks (official quirk);
//   - the initial noise of each image is drawn on the CPU from its own seed, so a seed means the same noise
//     on every device and whatever the batch.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>

#include "stablepose/nn/adapter_file.h"
#include "stablepose/pose/pose_masks.h"
#include "stablepose/sample/job_file.h"
#include "stablepose/sd/clip_tokenizer.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/sd/scheduler.h"

namespace stablepose {

struct PipelineOptions {
    PoseMaskConfig inference_masks = PoseMaskConfig::inference();  // CFG (guidance > 1)
    PoseMaskConfig training_masks = PoseMaskConfig::training();    // guidance exactly 1 (official)
    // Diagnostic ablation: the adapter gets all-zero condition features (the pose encoder's output, or the
    // ControlNet hint embedding); stable_pose masks still come from the pose. A run that keeps its pose accuracy
    // with this set is not using the pose features.
    bool zero_condition_features = false;
    // On a CUDA device: record the step's network evaluation (adapter, U-Net, guidance) as a CUDA graph after
    // two eager steps and replay it (sample/cuda_graph_step.h). Ignored on the CPU. With stage times, the
    // adapter's share of the replayed steps is counted in `unet`.
    bool cuda_graphs = false;
};

struct ImageRequest {
    GenerationSettings settings;
    std::string prompt;
    std::string negative_prompt;
    int64_t seed = 42;
    torch::Tensor skeleton;  // [3, H, W] in [-1, 1]; ignored without an adapter
    int condition_id = -1;   // requests with the same id share one skeleton: its features are computed once
};

// Seconds spent per stage (device-synchronised) and the peak memory seen after each.
struct StageTimes {
    double text = 0, adapter = 0, unet = 0, vae = 0, total = 0;
    int64_t peak_text = 0, peak_adapter = 0, peak_unet = 0, peak_vae = 0;
};

class SamplingPipeline {
public:
    // `adapter` empty: the plain SD baseline (zero residuals). The adapter is moved to the model's device and
    // dtype and put in eval mode.
    SamplingPipeline(FrozenStableDiffusion sd, std::optional<LoadedAdapter> adapter, ClipTokenizer tokenizer,
                     PipelineOptions options = {});

    // All requests must share settings (batch them with batch_key()). Returns [B, 3, H, W] float32 in [0, 1]
    // on the CPU: decode(z) / 2 + 0.5, clamped, as diffusers' image processor.
    torch::Tensor generate(const std::vector<ImageRequest>& batch, StageTimes* times = nullptr);

    // Last hidden state of the text encoder for a prompt: [77, D] float32 on the model device; cached.
    torch::Tensor text_embedding(const std::string& prompt);
    // x_T before init_noise_sigma: [1, C, h, w] float32 on the CPU, drawn from torch's CPU generator seeded with
    // `seed` (the same numbers as torch.randn(..., generator=torch.Generator().manual_seed(seed))).
    static torch::Tensor initial_noise(int64_t seed, int64_t channels, int64_t h, int64_t w);
    // The masks the adapter gets for B skeletons [B, 3, H, W]: CFG layout [ones(B); mask_k(B)] per kernel
    // (coarse first) -> [K * 2B, h, w]; without CFG the training-style masks [K * B, h, w].
    torch::Tensor adapter_masks(const torch::Tensor& skeletons, bool classifier_free_guidance) const;
    // diffusers' control window: 1 when step i of n is inside [start, end], else 0.
    static double control_keep(int64_t i, int64_t n, double start, double end);

    const FrozenStableDiffusion& model() const { return sd_; }
    const std::optional<LoadedAdapter>& adapter() const { return adapter_; }
    const PipelineOptions& options() const { return options_; }
    // options().cuda_graphs, where it takes effect: on a CUDA device of a build with CUDA.
    bool uses_cuda_graphs() const;
    int64_t text_cache_size() const { return static_cast<int64_t>(text_cache_.size()); }

private:
    std::unique_ptr<Scheduler> make_sampler(const GenerationSettings& s) const;
    std::vector<torch::Tensor> zero_residuals(int64_t batch, int64_t h, int64_t w) const;

    FrozenStableDiffusion sd_;
    std::optional<LoadedAdapter> adapter_;
    ClipTokenizer tokenizer_;
    PipelineOptions options_;
    DiffusersSchedulerConfig scheduler_config_;
    NoiseSchedule schedule_;
    torch::ScalarType adapter_dtype_ = torch::kFloat32;
    std::map<std::string, torch::Tensor> text_cache_;
};

}  // namespace stablepose
