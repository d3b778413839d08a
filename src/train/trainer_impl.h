// The training loop's state (private to src/train): set up in trainer.cpp, one optimizer step in
// train_step.cpp.
#pragma once

#include <memory>
#include <optional>

#include <torch/optim/adamw.h>

#include "stablepose/nn/adapter_file.h"
#include "stablepose/sd/clip_tokenizer.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/sd/noise_schedule.h"
#include "stablepose/train/checkpoint.h"
#include "stablepose/train/data_loader.h"
#include "stablepose/train/lr_schedule.h"
#include "stablepose/train/mixed_precision.h"
#include "stablepose/train/trainer.h"
#include "stablepose/train/training_caches.h"

namespace stablepose {

class Trainer {
public:
    Trainer(const TrainConfig& config, const TrainPaths& paths, const TrainHooks& hooks);
    TrainResult run();

    // One optimizer step: grad_accum micro-batches, gradient sync, unscale, clip, AdamW (train_step.cpp).
    StepReport step();
    // The loss of one micro-batch with its autograd graph: scalar float32 (train_step.cpp).
    torch::Tensor micro_batch_loss(const TrainingBatch& batch);
    // The adapter's residuals (autocast, optional activation checkpointing) (train_step.cpp).
    std::vector<torch::Tensor> adapter_residuals(const torch::Tensor& z_t, const torch::Tensor& t,
                                                 const torch::Tensor& context, const torch::Tensor& hint,
                                                 const torch::Tensor& masks);

private:
    void setup_model();
    void setup_adapter(const std::optional<CheckpointContents>& checkpoint);
    void setup_data();
    TrainerState snapshot() const;
    std::filesystem::path checkpoint();
    std::string resume_command(const std::filesystem::path& checkpoint) const;

    TrainConfig config_;
    nlohmann::json config_json_;
    TrainPaths paths_;
    TrainHooks hooks_;
    std::shared_ptr<ParallelContext> parallel_;
    bool writer_ = true;
    torch::Device device_ = torch::kCPU;
    Precision precision_ = Precision::fp32;

    FrozenStableDiffusion sd_;
    std::optional<ClipTokenizer> tokenizer_;
    std::optional<NoiseSchedule> schedule_;
    StablePoseAdapter adapter_{nullptr};
    ConditionRange range_ = ConditionRange::kMinusOneOne;
    std::vector<torch::Tensor> params_;
    std::unique_ptr<torch::optim::AdamW> optimizer_;
    std::optional<LossScaler> scaler_;
    LrSchedule lr_;

    std::shared_ptr<Dataset> dataset_;
    ExampleOptions example_options_;
    std::unique_ptr<DataLoader> loader_;
    std::optional<TextEmbeddingCache> text_cache_;
    std::optional<LatentCache> latent_cache_;

    // Timesteps, noise and VAE posterior samples: CPU generators, drawn for the whole global batch.
    at::Generator gen_timesteps_, gen_noise_, gen_vae_;
    TrainerState state_;
    int64_t total_steps_ = 0;
    int64_t start_step_ = 0;
};

}  // namespace stablepose
