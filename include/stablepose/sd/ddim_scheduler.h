// DDIM (Song et al. 2021) as diffusers' DDIMScheduler with clip_sample false and epsilon prediction; with the
// SD 1.5 defaults ("leading" spacing, steps_offset 1, set_alpha_to_one false, eta 0) and 50 steps it is the
// official Stable-Pose sampler (stable-pose.md §10): timesteps 981, 961, ..., 1, the last step to
// alphas_cumprod[0].
#pragma once

#include <vector>

#include "stablepose/sd/scheduler.h"

namespace stablepose {

class DdimScheduler final : public Scheduler {
public:
    explicit DdimScheduler(NoiseSchedule schedule, SchedulerOptions options = {});

    std::string name() const override { return "ddim"; }
    bool stochastic() const override { return options_.eta > 0; }

    // Host scalars of a step, float32 as diffusers computes them from its 0-d float32 tensors.
    struct StepScalars {
        float alpha_prod_t;          // alphas_cumprod[t]
        float alpha_prod_t_prev;     // alphas_cumprod[t - T / N], or the final alpha past the start
        float sqrt_beta_prod_t;      // sqrt(1 - alpha_prod_t)
        float sqrt_alpha_prod_t;     // sqrt(alpha_prod_t)
        float sqrt_alpha_prod_prev;  // sqrt(alpha_prod_t_prev)
        float direction;             // sqrt(1 - alpha_prod_t_prev - std_dev_t^2)
        float std_dev_t;             // eta * sqrt(variance)
    };
    const StepScalars& step_scalars(int64_t step_index) const;

protected:
    void compute_timesteps(int64_t num_inference_steps) override;
    torch::Tensor step_impl(const torch::Tensor& model_output, int64_t step_index,
                            const torch::Tensor& sample, const torch::Tensor& noise) override;

private:
    std::vector<StepScalars> scalars_;
};

}  // namespace stablepose
