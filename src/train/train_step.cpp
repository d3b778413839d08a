// One optimizer step of the training loop (trainer_impl.h): the loss of stable-pose.md §7 per micro-batch,
// backward through the frozen U-Net into the adapter, then sync, unscale, clip and AdamW (fused_adamw.h).
#include <chrono>
#include <cmath>
#include <csignal>

#include "stablepose/error.h"
#include "stablepose/io/device_memory.h"
#include "stablepose/train/activation_checkpoint.h"
#include "stablepose/train/fused_adamw.h"
#include "stablepose/train/pose_mask_loss.h"
#include "stablepose/train/stop_signal.h"
#include "stablepose/train/timestep_sampling.h"
#include "trainer_impl.h"

namespace stablepose {

std::vector<torch::Tensor> Trainer::adapter_residuals(const torch::Tensor& z_t, const torch::Tensor& t,
                                                      const torch::Tensor& context, const torch::Tensor& hint,
                                                      const torch::Tensor& masks) {
    const bool stable_pose = adapter_->config().mode == AdapterMode::kStablePose;
    auto run = [this, stable_pose](const std::vector<torch::Tensor>& in) {
        // in: z_t, t, context, hint[, masks]. The condition encoder trains too, so it runs inside.
        const auto features = adapter_->encode_condition(in[3]);
        return adapter_->forward(in[0], in[1], in[2], features, stable_pose ? in[4] : torch::Tensor());
    };
    const auto dtype = precision_ == Precision::fp16 ? torch::kFloat16 : torch::kBFloat16;
    AutocastGuard autocast(device_, dtype, precision_ != Precision::fp32);
    std::vector<torch::Tensor> inputs{z_t, t, context, hint};
    if (stable_pose) inputs.push_back(masks);
    if (!config_.train.activation_checkpointing) return run(inputs);
    // Each piece of the adapter (condition encoder, every down block, the mid block) is recomputed in the
    // backward pass on its own, so at most one piece's activations are alive at a time. Only for this
    // forward: validation sampling runs the adapter plainly.
    struct RunnerScope {
        StablePoseAdapter& adapter;
        ~RunnerScope() { adapter->set_segment_runner({}); }
    } scope{adapter_};
    adapter_->set_segment_runner([](const AdapterSegment& segment, const std::vector<torch::Tensor>& in,
                                    const std::vector<torch::Tensor>& params) { return checkpointed(segment, in, params); });
    return run(inputs);
}

torch::Tensor Trainer::micro_batch_loss(const TrainingBatch& batch) {
    const int64_t b = batch.size();
    const int64_t world = parallel_->world_size();
    const int64_t global = b * world;
    const int64_t offset = b * parallel_->rank();
    const int64_t c = sd_.spec.latent_channels;
    const int64_t h = batch.images.size(2) / 8, w = batch.images.size(3) / 8;
    // Every rank draws for the global batch and takes its slice: the generators stay in step across ranks.
    const int64_t steps = schedule_->num_train_timesteps();
    const auto t = (config_.loss.timestep_sampling == "cubic"
                        ? cubic_timesteps(torch::rand({global}, gen_timesteps_, torch::kFloat32), steps)
                        : torch::randint(0, steps, {global}, gen_timesteps_, torch::kInt64))
                       .narrow(0, offset, b)
                       .to(device_);
    const auto noise = torch::randn({global, c, h, w}, gen_noise_, torch::kFloat32).narrow(0, offset, b).to(device_);
    const auto posterior_eps = torch::randn({global, c, h, w}, gen_vae_, torch::kFloat32).narrow(0, offset, b).to(device_);

    torch::Tensor context, z_t;
    {
        torch::NoGradGuard no_grad;  // the frozen encoders: no graph, no gradients (runtime.md §4 rule 4)
        context = text_cache_ ? text_cache_->embed(batch.captions, sd_.text_encoder, *tokenizer_, device_)
                              : sd_.text_encoder.encode(tokenizer_->encode_batch(batch.captions)).to(device_);
        const auto moments = latent_cache_
                                 ? latent_cache_->moments(batch.images, batch.image_paths, sd_.vae_encoder, device_)
                                 : sd_.vae_encoder.moments(batch.images.to(device_));
        // VaeEncoder::encode's posterior sample, with the noise from our saved generator.
        const auto parts = moments.chunk(2, 1);
        const auto z0 = (parts[0] + torch::exp(0.5 * parts[1].clamp(-30.0, 20.0)) * posterior_eps) *
                        sd_.spec.vae_scaling_factor;
        z_t = schedule_->add_noise(z0, noise, t);
    }
    auto hint = batch.hints.to(device_);
    if (range_ == ConditionRange::kZeroOne) hint = (hint + 1) / 2;
    const bool stable_pose = adapter_->config().mode == AdapterMode::kStablePose;
    const auto masks = stable_pose ? batch.masks.to(device_) : torch::Tensor();
    const auto residuals = adapter_residuals(z_t, t, context, hint, masks);
    const auto eps_hat = sd_.unet(z_t, t, context, residuals);  // float32, outside autocast (§4 rule 6)
    if (!stable_pose) return torch::mse_loss(eps_hat, noise);
    const int64_t kernels = masks.size(0) / b;
    const auto fine = masks.narrow(0, (kernels - 1) * b, b);  // the k = 13 masks (§6.3)
    return pose_mask_guided_loss(eps_hat, noise, fine, config_.loss.alpha);
}

StepReport Trainer::step() {
    const auto start = std::chrono::steady_clock::now();
    reset_peak_memory(device_);
    const int accum = config_.optim.grad_accum;
    double loss_sum = 0;
    int64_t samples = 0;
    bool nonfinite = false;
    for (int m = 0; m < accum; ++m) {
        const auto batch = loader_->next();
        const auto loss = micro_batch_loss(batch);
        // Backward even when non-finite, so every rank runs the same collectives; the step is skipped below.
        // The loss is read after backward is queued: reading it first would make the host wait for the
        // forward pass before it could queue a single backward kernel.
        scaler_->scale(loss / accum).backward();
        const double value = loss.item<double>();
        nonfinite = nonfinite || !std::isfinite(value);
        loss_sum += value;
        samples += batch.size();
    }
    StepReport r;
    r.step = state_.step + 1;
    r.total_steps = total_steps_;
    r.lr = lr_.at(state_.step);

    std::vector<torch::Tensor> grads;
    for (const auto& p : params_)
        if (p.grad().defined()) grads.push_back(p.grad());
    parallel_->synchronize_gradients(grads);
    const auto found_inf = scaler_->unscale_(grads);  // zeros unless fp16
    // [non-finite loss, fp16 overflow, stop requested], agreed over the ranks.
    auto flags = torch::stack({torch::tensor(nonfinite ? 1.0f : 0.0f), found_inf.to(torch::kCPU).squeeze(0),
                               torch::tensor(stop_requested() ? 1.0f : 0.0f)})
                     .to(device_);
    parallel_->all_reduce_max_(flags);
    auto loss_mean = torch::tensor(loss_sum / accum, torch::kFloat64).to(device_);
    parallel_->all_reduce_mean_(loss_mean);
    const auto agreed = flags.to(torch::kCPU);
    nonfinite = agreed[0].item<float>() > 0;
    const bool overflow = agreed[1].item<float>() > 0;
    if (agreed[2].item<float>() > 0 && !stop_requested()) request_stop(SIGTERM);
    r.loss = loss_mean.item<double>();

    if (config_.optim.clip_grad_norm > 0 && !nonfinite && !overflow)
        r.grad_norm = torch::nn::utils::clip_grad_norm_(params_, config_.optim.clip_grad_norm);
    r.skipped = nonfinite || overflow;
    if (!r.skipped) {
        for (auto& group : optimizer_->param_groups())
            static_cast<torch::optim::AdamWOptions&>(group.options()).lr(r.lr);
        fused_adamw_step(*optimizer_);  // optimizer_->step()'s update, in one fused kernel per device
    }
    scaler_->update(found_inf);
    r.loss_scale = scaler_->current_scale();
    optimizer_->zero_grad(true);

    state_.step = r.step;
    state_.cursor = loader_->cursor();
    state_.samples_seen += samples;
    state_.nonfinite_streak = nonfinite ? state_.nonfinite_streak + 1 : 0;
    r.cursor = state_.cursor;
    synchronize(device_);
    r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    r.samples_per_second = static_cast<double>(samples * parallel_->world_size()) / std::max(r.seconds, 1e-9);
    r.peak_memory_bytes = peak_memory_bytes(device_);
    return r;
}

}  // namespace stablepose
