// Implements diffusers' DDIMScheduler.__init__ / add_noise schedule arithmetic (and LDM's
// make_beta_schedule).
#include "stablepose/sd/noise_schedule.h"

#include <cmath>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

std::vector<float> to_vector(const torch::Tensor& t) {
    const auto c = t.to(torch::kFloat32).contiguous();
    return {c.data_ptr<float>(), c.data_ptr<float>() + c.numel()};
}

}  // namespace

NoiseScheduleConfig NoiseScheduleConfig::sd15_ldm() {
    NoiseScheduleConfig c;
    c.arithmetic = ScheduleArithmetic::float64;
    return c;
}

void NoiseScheduleConfig::validate() const {
    if (num_train_timesteps < 2)
        fail("noise schedule: num_train_timesteps too small", ">= 2 (SD 1.5: 1000)",
             std::to_string(num_train_timesteps));
    if (!(beta_start > 0 && beta_end > beta_start && beta_end < 1))
        fail("noise schedule: betas out of range", "0 < beta_start < beta_end < 1 (SD 1.5: 0.00085, 0.012)",
             std::to_string(beta_start) + ", " + std::to_string(beta_end));
    if (beta_schedule != "scaled_linear" && beta_schedule != "linear")
        fail("noise schedule: unknown beta_schedule", "\"scaled_linear\" or \"linear\"", beta_schedule,
             "SD 1.x uses \"scaled_linear\" (the LDM code calls it \"linear\")");
    if (prediction_type != "epsilon")
        fail("noise schedule: unsupported prediction_type", "\"epsilon\"", prediction_type,
             "the samplers implement epsilon prediction only (SD 1.5); v-prediction models (SD 2.x 768) are "
             "not "
             "supported");
}

nlohmann::json NoiseScheduleConfig::to_json() const {
    return {{"num_train_timesteps", num_train_timesteps},
            {"beta_start", beta_start},
            {"beta_end", beta_end},
            {"beta_schedule", beta_schedule},
            {"prediction_type", prediction_type},
            {"arithmetic", to_string(arithmetic)}};
}

std::string to_string(ScheduleArithmetic arithmetic) {
    return arithmetic == ScheduleArithmetic::float32 ? "float32" : "float64";
}

NoiseSchedule::NoiseSchedule(NoiseScheduleConfig config) : config_(std::move(config)) {
    config_.validate();
    // The same torch CPU ops as the references, so the float32 values agree bit for bit: diffusers computes
    // torch.linspace(beta_start ** 0.5, beta_end ** 0.5, T, dtype=float32) ** 2 and a float32 cumprod; LDM
    // the same in float64 (np.cumprod, sequential like torch's CPU cumprod) and stores float32 buffers.
    const auto dtype = config_.arithmetic == ScheduleArithmetic::float32 ? torch::kFloat32 : torch::kFloat64;
    const auto options = torch::TensorOptions().dtype(dtype);
    const int64_t T = config_.num_train_timesteps;
    torch::Tensor betas;
    if (config_.beta_schedule == "scaled_linear")
        betas =
            torch::linspace(std::pow(config_.beta_start, 0.5), std::pow(config_.beta_end, 0.5), T, options)
                .pow(2);
    else
        betas = torch::linspace(config_.beta_start, config_.beta_end, T, options);
    const auto cumprod = torch::cumprod(1.0 - betas, 0);
    if (config_.arithmetic == ScheduleArithmetic::float64) {  // LDM's q_sample buffers
        sqrt_alphas_cumprod_ = cumprod.sqrt().to(torch::kFloat32);
        sqrt_one_minus_alphas_cumprod_ = (1.0 - cumprod).sqrt().to(torch::kFloat32);
    }
    const auto alphas_cumprod = cumprod.to(torch::kFloat32);
    betas_ = to_vector(betas);
    alphas_cumprod_ = to_vector(alphas_cumprod);
    alphas_cumprod_tensor_ = torch::tensor(alphas_cumprod_);
    // diffusers: ((1 - alphas_cumprod) / alphas_cumprod) ** 0.5 in float32.
    sigmas_ = to_vector(((1 - alphas_cumprod) / alphas_cumprod).pow(0.5));
}

float NoiseSchedule::alpha_cumprod(int64_t t) const {
    if (t < 0 || t >= num_train_timesteps())
        fail("noise schedule: timestep out of range", "0 <= t < " + std::to_string(num_train_timesteps()),
             std::to_string(t));
    return alphas_cumprod_[t];
}

torch::Tensor NoiseSchedule::add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                                       const torch::Tensor& timesteps) const {
    const auto describe = [](const torch::Tensor& t) {
        return t.defined() ? c10::str(t.sizes(), " ", t.scalar_type()) : std::string("undefined");
    };
    if (!original.defined() || original.dim() < 1 || !noise.defined() || noise.sizes() != original.sizes())
        fail("add_noise: noise must have the shape of the clean sample",
             "original [B, ...] and noise [B, ...]",
             "original " + describe(original) + ", noise " + describe(noise));
    if (!timesteps.defined() || timesteps.dim() != 1 || timesteps.size(0) != original.size(0) ||
        timesteps.scalar_type() != torch::kLong)
        fail("add_noise: one int64 timestep per sample",
             "timesteps [" + std::to_string(original.size(0)) + "] int64", describe(timesteps));
    if (timesteps.device().is_cpu() && timesteps.numel() > 0) {
        const auto lo = timesteps.min().item<int64_t>(), hi = timesteps.max().item<int64_t>();
        if (lo < 0 || hi >= num_train_timesteps())
            fail("add_noise: timestep out of range", "0 <= t < " + std::to_string(num_train_timesteps()),
                 "[" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                 "draw training timesteps with torch::randint(0, num_train_timesteps, {B})");
    }
    // Gathered where the timesteps live (no device-to-host copy), shaped [B, 1, ...].
    std::vector<int64_t> shape(original.dim(), 1);
    shape[0] = original.size(0);
    const auto gather = [&](const torch::Tensor& table) {
        return table.to(timesteps.device())
            .to(original.scalar_type())
            .index_select(0, timesteps)
            .view(shape)
            .to(original.device());
    };
    if (config_.arithmetic == ScheduleArithmetic::float64)  // LDM: extract_into_tensor of the float32 buffers
        return gather(sqrt_alphas_cumprod_) * original + gather(sqrt_one_minus_alphas_cumprod_) * noise;
    // diffusers: alphas_cumprod.to(sample dtype)[t] ** 0.5 and (1 - alphas_cumprod[t]) ** 0.5.
    const auto acp = gather(alphas_cumprod_tensor_);
    return acp.pow(0.5) * original + (1 - acp).pow(0.5) * noise;
}

}  // namespace stablepose
