// Euler's method on the probability-flow ODE in sigma space (Karras et al. 2022, Algorithm 2 without churn)
// as diffusers' EulerDiscreteScheduler: interpolation_type "linear", final sigma 0, s_churn 0, epsilon
// prediction; "linspace" spacing by default, so timesteps are fractional (float32).
#pragma once

#include <vector>

#include "stablepose/sd/scheduler.h"

namespace stablepose {

class EulerScheduler final : public Scheduler {
public:
    explicit EulerScheduler(NoiseSchedule schedule, SchedulerOptions options = {});

    std::string name() const override { return "euler"; }
    // max sigma for "linspace" and "trailing", sqrt(max sigma^2 + 1) for "leading" (as diffusers).
    double init_noise_sigma() const override;
    // sample: [B, C, H, W]; returns sample / sqrt(sigma_i^2 + 1).
    torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t step_index) const override;

protected:
    void compute_timesteps(int64_t num_inference_steps) override;
    torch::Tensor step_impl(const torch::Tensor& model_output, int64_t step_index,
                            const torch::Tensor& sample, const torch::Tensor& noise) override;

private:
    std::vector<float> scale_divisors_;  // [num_steps + 1] sqrt(sigma^2 + 1), float32 as diffusers
};

}  // namespace stablepose
