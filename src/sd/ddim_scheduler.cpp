// Implements diffusers' DDIMScheduler (schedulers/scheduling_ddim.py: set_timesteps, step) for epsilon
// prediction without clipping or thresholding.
#include "stablepose/sd/ddim_scheduler.h"

#include <cmath>

#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {

DdimScheduler::DdimScheduler(NoiseSchedule schedule, SchedulerOptions options)
    : Scheduler(std::move(schedule), std::move(options), TimestepSpacing::leading) {
    if (options_.use_karras_sigmas)
        fail("ddim: use_karras_sigmas is not a DDIM option", "use_karras_sigmas false", "true",
             "Karras sigmas apply to the sigma samplers dpmpp_2m and euler");
    if (!(options_.eta >= 0 && options_.eta <= 1))
        fail("ddim: eta out of range", "0 <= eta <= 1 (0: deterministic DDIM, official)",
             std::to_string(options_.eta));
}

void DdimScheduler::compute_timesteps(int64_t n) {
    const int64_t T = schedule_.num_train_timesteps();
    switch (timestep_spacing()) {
        case TimestepSpacing::linspace: {  // np.linspace(0, T - 1, n).round()[::-1]
            const auto values = numpy_compat::linspace(0.0, static_cast<double>(T - 1), n);
            for (auto it = values.rbegin(); it != values.rend(); ++it)
                timesteps_.push_back(numpy_compat::round(*it));
            break;
        }
        case TimestepSpacing::leading: {  // (np.arange(0, n) * (T // n)).round()[::-1] + steps_offset
            const int64_t ratio = T / n;
            for (int64_t i = n - 1; i >= 0; --i)
                timesteps_.push_back(static_cast<double>(i * ratio + options_.steps_offset));
            break;
        }
        case TimestepSpacing::trailing: {  // np.round(np.arange(T, 0, -T / n)) - 1
            const double ratio = static_cast<double>(T) / static_cast<double>(n);
            for (const double v : numpy_compat::arange(static_cast<double>(T), 0.0, -ratio))
                timesteps_.push_back(numpy_compat::round(v) - 1);
            break;
        }
    }
    timestep_is_integer_ = true;

    // diffusers takes the previous timestep as t - T // n whatever the spacing (for "leading" that is the
    // next timestep of the list; for the others it may not be, and we keep diffusers' choice).
    scalars_.clear();
    const float final_alpha = options_.set_alpha_to_one ? 1.0f : schedule_.alphas_cumprod()[0];
    const auto eta = static_cast<float>(options_.eta);
    for (const double tv : timesteps_) {
        const auto t = static_cast<int64_t>(tv);
        const int64_t prev = t - T / n;
        if (t < 0 || t >= T) break;  // set_timesteps reports it
        StepScalars s{};
        s.alpha_prod_t = schedule_.alphas_cumprod()[t];
        s.alpha_prod_t_prev = prev >= 0 ? schedule_.alphas_cumprod()[prev] : final_alpha;
        // The float32 expressions of DDIMScheduler.step / _get_variance, in its order of operations.
        const float beta_prod_t = 1.0f - s.alpha_prod_t;
        const float beta_prod_t_prev = 1.0f - s.alpha_prod_t_prev;
        const float variance =
            (beta_prod_t_prev / beta_prod_t) * (1.0f - s.alpha_prod_t / s.alpha_prod_t_prev);
        s.std_dev_t = eta * aten_scalar::sqrt(variance);
        s.sqrt_beta_prod_t = aten_scalar::sqrt(beta_prod_t);
        s.sqrt_alpha_prod_t = aten_scalar::sqrt(s.alpha_prod_t);
        s.sqrt_alpha_prod_prev = aten_scalar::sqrt(s.alpha_prod_t_prev);
        s.direction = aten_scalar::sqrt(1.0f - s.alpha_prod_t_prev - s.std_dev_t * s.std_dev_t);
        scalars_.push_back(s);
    }
}

const DdimScheduler::StepScalars& DdimScheduler::step_scalars(int64_t step_index) const {
    check_step_index(step_index, "step_scalars");
    return scalars_[step_index];
}

torch::Tensor DdimScheduler::step_impl(const torch::Tensor& model_output, int64_t step_index,
                                       const torch::Tensor& sample, const torch::Tensor& noise) {
    const auto& s = scalars_[step_index];
    // [B, C, H, W] throughout; one elementwise op per line of diffusers' step, so float32 results match it.
    const auto pred_original_sample = (sample - model_output * s.sqrt_beta_prod_t) / s.sqrt_alpha_prod_t;
    const auto pred_sample_direction = model_output * s.direction;
    auto prev_sample = pred_original_sample * s.sqrt_alpha_prod_prev + pred_sample_direction;
    if (noise.defined()) prev_sample = prev_sample + noise * s.std_dev_t;
    return prev_sample;
}

}  // namespace stablepose
