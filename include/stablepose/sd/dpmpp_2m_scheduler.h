// DPM-Solver++(2M) (Lu et al. 2022), the multistep second-order data-prediction solver, as diffusers'
// DPMSolverMultistepScheduler with algorithm_type "dpmsolver++", solver_order 2, solver_type "midpoint",
// lower_order_final true, final_sigmas_type "zero"; "linspace" spacing by default; Karras sigmas optional.
#pragma once

#include <vector>

#include "stablepose/sd/scheduler.h"

namespace stablepose {

class DpmSolverPP2MScheduler final : public Scheduler {
public:
    explicit DpmSolverPP2MScheduler(NoiseSchedule schedule, SchedulerOptions options = {});

    std::string name() const override { return "dpmpp_2m"; }

protected:
    void compute_timesteps(int64_t num_inference_steps) override;
    // Multistep: after set_timesteps the first step may start at any index (img2img), later steps must follow
    // in order, since each uses the previous step's data prediction.
    torch::Tensor step_impl(const torch::Tensor& model_output, int64_t step_index,
                            const torch::Tensor& sample, const torch::Tensor& noise) override;

private:
    // Host scalars of step i (s0 = sigma_i, s1 = sigma_{i-1}, t = sigma_{i+1}), float32 as diffusers.
    struct StepScalars {
        float alpha_s0, sigma_s0;  // alpha_t, sigma_t of the current sigma (data prediction)
        float sample_coef;         // sigma_t / sigma_s0
        float d0_coef;             // alpha_t * (exp(-h) - 1)
        float half_d0_coef;        // 0.5 * alpha_t * (exp(-h) - 1)
        float inv_r0;              // 1 / r0, r0 = h_0 / h
    };
    std::vector<StepScalars> scalars_;
    torch::Tensor previous_x0_;  // [B, C, H, W] data prediction of the previous step
    int64_t lower_order_nums_ = 0;
    int64_t next_step_ = -1;  // -1: any (first step after set_timesteps)
};

}  // namespace stablepose
