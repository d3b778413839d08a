// Implements diffusers' DPMSolverMultistepScheduler (schedulers/scheduling_dpmsolver_multistep.py:
// set_timesteps, convert_model_output, dpm_solver_first_order_update,
// multistep_dpm_solver_second_order_update) for "dpmsolver++", order 2, "midpoint", final sigma 0.
#include "stablepose/sd/dpmpp_2m_scheduler.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// _sigma_to_alpha_sigma_t (alpha = 1 / (sigma^2 + 1) ** 0.5, sigma_t = sigma * alpha) and
// lambda = log(alpha) - log(sigma_t).
struct AlphaSigma {
    float alpha, sigma, lambda;
    explicit AlphaSigma(float s) {
        alpha = 1.0f / aten_scalar::sqrt(s * s + 1.0f);
        sigma = s * alpha;
        lambda = aten_scalar::log(alpha) - aten_scalar::log(sigma);  // +inf at sigma 0 (the last step)
    }
};

}  // namespace

DpmSolverPP2MScheduler::DpmSolverPP2MScheduler(NoiseSchedule schedule, SchedulerOptions options)
    : Scheduler(std::move(schedule), std::move(options), TimestepSpacing::linspace) {
    reject_ddim_options();
}

void DpmSolverPP2MScheduler::compute_timesteps(int64_t n) {
    const int64_t T = schedule_.num_train_timesteps();
    const int64_t last_timestep = T;  // lambda_min_clipped = -inf clips nothing
    std::vector<double> ts;
    switch (timestep_spacing()) {
        case TimestepSpacing::linspace: {  // np.linspace(0, last - 1, n + 1).round()[::-1][:-1]
            const auto values = numpy_compat::linspace(0.0, static_cast<double>(last_timestep - 1), n + 1);
            for (int64_t i = n; i >= 1; --i) ts.push_back(numpy_compat::round(values[i]));
            break;
        }
        case TimestepSpacing::leading: {  // (np.arange(0, n + 1) * (last // (n + 1))).round()[::-1][:-1] +
                                          // offset
            const int64_t ratio = last_timestep / (n + 1);
            for (int64_t i = n; i >= 1; --i)
                ts.push_back(static_cast<double>(i * ratio + options_.steps_offset));
            break;
        }
        case TimestepSpacing::trailing: {  // np.arange(last, 0, -T / n).round() - 1
            const double ratio = static_cast<double>(T) / static_cast<double>(n);
            for (const double v : numpy_compat::arange(static_cast<double>(last_timestep), 0.0, -ratio))
                ts.push_back(numpy_compat::round(v) - 1);
            break;
        }
    }
    const auto& train_sigmas = schedule_.sigmas();
    std::vector<float> sigmas;
    if (options_.use_karras_sigmas) {
        // _convert_to_karras over the flipped training sigmas, timesteps rounded back from the sigmas.
        const auto log_sigmas = numpy_compat::log(train_sigmas);
        ts.clear();
        for (const double s : numpy_compat::karras_sigmas(train_sigmas.front(), train_sigmas.back(), n)) {
            sigmas.push_back(static_cast<float>(s));
            ts.push_back(numpy_compat::round(numpy_compat::sigma_to_t(s, log_sigmas)));
        }
    } else {
        for (const double t : ts)  // np.interp at integer timesteps: the training sigma itself
            sigmas.push_back(t >= 0 && t < T ? train_sigmas[static_cast<int64_t>(t)] : std::nanf(""));
    }
    sigmas.push_back(0.0f);  // final_sigmas_type "zero"
    timesteps_ = ts;
    timestep_is_integer_ = true;
    sigmas_ = sigmas;

    scalars_.clear();
    for (size_t i = 0; i + 1 < sigmas_.size(); ++i) {
        const AlphaSigma s0(sigmas_[i]), t(sigmas_[i + 1]);
        StepScalars c{};
        c.alpha_s0 = s0.alpha;
        c.sigma_s0 = s0.sigma;
        const float h = t.lambda - s0.lambda;
        c.sample_coef = t.sigma / s0.sigma;
        c.d0_coef = t.alpha * (aten_scalar::exp(-h) - 1.0f);
        c.half_d0_coef = 0.5f * c.d0_coef;
        if (i > 0) {
            const AlphaSigma s1(sigmas_[i - 1]);
            const float r0 = (s0.lambda - s1.lambda) / h;
            c.inv_r0 = 1.0f / r0;
        }
        scalars_.push_back(c);
    }
    previous_x0_ = torch::Tensor();
    lower_order_nums_ = 0;
    next_step_ = -1;
}

torch::Tensor DpmSolverPP2MScheduler::step_impl(const torch::Tensor& model_output, int64_t step_index,
                                                const torch::Tensor& sample, const torch::Tensor& /*noise*/) {
    if (next_step_ >= 0 && step_index != next_step_)
        fail("dpmpp_2m.step: steps out of order", "step index " + std::to_string(next_step_),
             std::to_string(step_index),
             "DPM-Solver++(2M) is multistep: run the indices in order, or call set_timesteps to start over");
    const auto& c = scalars_[step_index];
    // convert_model_output: the data prediction x0 = (x - sigma_t eps) / alpha_t, in the inputs' dtype.
    const auto x0 = (sample - model_output * c.sigma_s0) / c.alpha_s0;  // [B, C, H, W]
    const auto x = sample.to(torch::kFloat32);
    // First order (= DDIM) at the start and, with the final sigma 0, at the last step (lower_order_final).
    const bool first_order = lower_order_nums_ < 1 || step_index == num_steps() - 1;
    torch::Tensor prev;
    if (first_order) {
        prev = x * c.sample_coef - x0 * c.d0_coef;
    } else {
        const auto d1 = (x0 - previous_x0_) * c.inv_r0;  // D1 = (1 / r0) * (m0 - m1); D0 = m0 = x0
        prev = x * c.sample_coef - x0 * c.d0_coef - d1 * c.half_d0_coef;
    }
    previous_x0_ = x0;
    lower_order_nums_ = std::min<int64_t>(lower_order_nums_ + 1, 2);
    next_step_ = step_index + 1;
    return prev.to(x0.scalar_type());
}

}  // namespace stablepose
