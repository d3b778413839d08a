// Implements diffusers' EulerDiscreteScheduler (schedulers/scheduling_euler_discrete.py: set_timesteps,
// scale_model_input, step) without churn.
#include "stablepose/sd/euler_scheduler.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {

EulerScheduler::EulerScheduler(NoiseSchedule schedule, SchedulerOptions options)
    : Scheduler(std::move(schedule), std::move(options), TimestepSpacing::linspace) {
    reject_ddim_options();
}

void EulerScheduler::compute_timesteps(int64_t n) {
    const int64_t T = schedule_.num_train_timesteps();
    // Timesteps in float32, as diffusers.
    std::vector<float> ts;
    switch (timestep_spacing()) {
        case TimestepSpacing::linspace: {  // np.linspace(0, T - 1, n, dtype=float32)[::-1]
            const auto values = numpy_compat::linspace(0.0, static_cast<double>(T - 1), n);
            for (auto it = values.rbegin(); it != values.rend(); ++it) ts.push_back(static_cast<float>(*it));
            break;
        }
        case TimestepSpacing::leading: {
            // (np.arange(0, n) * (T // n)).round()[::-1].astype(float32) + steps_offset
            const int64_t ratio = T / n;
            for (int64_t i = n - 1; i >= 0; --i)
                ts.push_back(static_cast<float>(i * ratio) + static_cast<float>(options_.steps_offset));
            break;
        }
        case TimestepSpacing::trailing: {  // np.arange(T, 0, -T / n).round().astype(float32) - 1
            const double ratio = static_cast<double>(T) / static_cast<double>(n);
            for (const double v : numpy_compat::arange(static_cast<double>(T), 0.0, -ratio))
                ts.push_back(static_cast<float>(numpy_compat::round(v)) - 1.0f);
            break;
        }
    }
    // sigmas = np.interp(timesteps, arange(T), train sigmas) in float64.
    const auto& train_sigmas = schedule_.sigmas();
    std::vector<double> sigmas;
    for (const float t : ts)
        sigmas.push_back(t >= 0 && t <= T - 1 ? numpy_compat::interp_unit_grid(t, train_sigmas)
                                              : std::numeric_limits<double>::quiet_NaN());
    if (options_.use_karras_sigmas && !sigmas.empty()) {
        // _convert_to_karras(in_sigmas=sigmas): from these sigmas' own ends; then fractional timesteps back.
        sigmas = numpy_compat::karras_sigmas(sigmas.back(), sigmas.front(), n);
        const auto log_sigmas = numpy_compat::log(train_sigmas);
        ts.clear();
        for (const double s : sigmas)
            ts.push_back(static_cast<float>(numpy_compat::sigma_to_t(s, log_sigmas)));
    }
    timesteps_.assign(ts.begin(), ts.end());
    timestep_is_integer_ = false;
    for (const double s : sigmas) sigmas_.push_back(static_cast<float>(s));
    sigmas_.push_back(0.0f);  // final_sigmas_type "zero"
    scale_divisors_.clear();
    for (const float s : sigmas_) scale_divisors_.push_back(aten_scalar::sqrt(s * s + 1.0f));
}

double EulerScheduler::init_noise_sigma() const {
    if (!has_timesteps())
        fail("euler.init_noise_sigma: no timesteps yet", "set_timesteps(n) first",
             "a scheduler without timesteps",
             "the initial noise scale depends on the first sigma of the chosen step count");
    const float max_sigma = *std::max_element(sigmas_.begin(), sigmas_.end());
    if (timestep_spacing() == TimestepSpacing::leading)
        return aten_scalar::sqrt(max_sigma * max_sigma + 1.0f);
    return max_sigma;
}

torch::Tensor EulerScheduler::scale_model_input(const torch::Tensor& sample, int64_t step_index) const {
    check_step_index(step_index, "scale_model_input");
    return sample / scale_divisors_[step_index];  // diffusers: sample / ((sigma**2 + 1) ** 0.5)
}

torch::Tensor EulerScheduler::step_impl(const torch::Tensor& model_output, int64_t step_index,
                                        const torch::Tensor& sample, const torch::Tensor& /*noise*/) {
    // [B, C, H, W] throughout; computed in float32 and returned in the model output's dtype, as diffusers.
    const auto x = sample.to(torch::kFloat32);
    const float sigma_hat = sigmas_[step_index];  // sigma * (gamma + 1) with gamma = 0 (no churn)
    const auto pred_original_sample = x - model_output * sigma_hat;
    const auto derivative = (x - pred_original_sample) / sigma_hat;
    const float dt = sigmas_[step_index + 1] - sigma_hat;
    return (x + derivative * dt).to(model_output.scalar_type());
}

}  // namespace stablepose
