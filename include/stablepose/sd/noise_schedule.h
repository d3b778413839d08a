// The discrete DDPM noise schedule of SD 1.x (diffusers' scheduler config fields num_train_timesteps,
// beta_start, beta_end, beta_schedule, prediction_type): betas, alphas_cumprod and the training-time forward
// process. Every sampler (sd/scheduler.h) reads its per-step scalars from here, on the host.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

namespace stablepose {

// How the schedule is computed. Both store alphas_cumprod as float32; they differ in the last bits
// (alphas_cumprod up to ~1e-6 relative apart at t = 999).
enum class ScheduleArithmetic {
    float32,  // diffusers: torch.linspace(..., dtype=float32) ** 2, cumprod in float32
    float64,  // LDM / the official Stable-Pose code: linspace, square and cumprod in float64, then float32
};

struct NoiseScheduleConfig {
    int64_t num_train_timesteps = 1000;
    double beta_start = 0.00085;
    double beta_end = 0.012;
    std::string beta_schedule = "scaled_linear";  // "scaled_linear" (SD, LDM's "linear") or "linear"
    std::string prediction_type = "epsilon";      // the only one SD 1.5 uses and the samplers implement
    ScheduleArithmetic arithmetic = ScheduleArithmetic::float32;

    // SD 1.5 as diffusers computes it (runwayml/stable-diffusion-v1-5 scheduler_config.json).
    static NoiseScheduleConfig sd15() { return {}; }
    // SD 1.5 as the official LDM code computes it (stable-pose.md §1): float64, rounded to float32.
    static NoiseScheduleConfig sd15_ldm();

    void validate() const;  // throws Error naming the bad field
    nlohmann::json to_json() const;
};

class NoiseSchedule {
public:
    explicit NoiseSchedule(NoiseScheduleConfig config = NoiseScheduleConfig::sd15());

    const NoiseScheduleConfig& config() const { return config_; }
    int64_t num_train_timesteps() const { return config_.num_train_timesteps; }

    // [T] float32 values on the host.
    const std::vector<float>& betas() const { return betas_; }
    const std::vector<float>& alphas_cumprod() const { return alphas_cumprod_; }
    float alpha_cumprod(int64_t t) const;  // checked: 0 <= t < T
    // [T] k-diffusion noise levels sigma_t = sqrt((1 - acp_t) / acp_t), float32 as diffusers computes them.
    const std::vector<float>& sigmas() const { return sigmas_; }
    // [T] float32 CPU tensor of alphas_cumprod.
    const torch::Tensor& alphas_cumprod_tensor() const { return alphas_cumprod_tensor_; }

    // Training forward process q(x_t | x_0): sqrt(acp_t) * x0 + sqrt(1 - acp_t) * noise, one t per sample.
    // float32 arithmetic: as diffusers' DDIMScheduler/DDPMScheduler.add_noise, the square roots computed in
    // the sample dtype. float64: as LDM's q_sample, whose sqrt(acp) and sqrt(1 - acp) buffers are computed in
    // float64 and stored as float32 (stable-pose.md §1). original, noise: [B, ...] same shape; timesteps: [B]
    // int64 on any device (range checked when on the CPU); returns [B, ...] like original.
    torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                            const torch::Tensor& timesteps) const;

private:
    NoiseScheduleConfig config_;
    std::vector<float> betas_, alphas_cumprod_, sigmas_;
    torch::Tensor alphas_cumprod_tensor_;
    torch::Tensor sqrt_alphas_cumprod_,
        sqrt_one_minus_alphas_cumprod_;  // [T] float32; float64 arithmetic only
};

std::string to_string(ScheduleArithmetic arithmetic);

}  // namespace stablepose
