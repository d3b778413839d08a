// The sampler interface of diffusers' schedulers (set_timesteps / scale_model_input / step / add_noise) over
// one NoiseSchedule, and the factory for "ddim", "dpmpp_2m" and "euler" (docs/samplers.md). The model, the
// adapter and classifier-free guidance compose outside: a sampling loop is
//   scheduler->set_timesteps(50);
//   x = x_T * scheduler->init_noise_sigma();
//   for (i = 0; i < scheduler->num_steps(); ++i) {
//       eps = cfg_unet(scheduler->scale_model_input(x, i), scheduler->timestep(i));
//       x = scheduler->step(eps, i, x, generator);
//   }
// Per-step scalars live on the host, computed once by set_timesteps; step() is elementwise tensor math only.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <torch/types.h>
#include <nlohmann/json_fwd.hpp>

#include "stablepose/sd/noise_schedule.h"

namespace stablepose {

// diffusers' timestep_spacing (Table 2 of "Common Diffusion Noise Schedules and Sample Steps are Flawed").
enum class TimestepSpacing { leading, trailing, linspace };
std::string to_string(TimestepSpacing spacing);
TimestepSpacing parse_timestep_spacing(const std::string& name);

// Options of the samplers. The defaults are what a diffusers SD 1.5 pipeline gets from
// SchedulerClass.from_config(scheduler_config.json): the config's steps_offset 1 and set_alpha_to_one false,
// and each class's own default for the rest. An option that the chosen sampler does not have must stay at its
// default (make_scheduler fails otherwise).
struct SchedulerOptions {
    // Unset: the class default, "leading" for DDIM and "linspace" for DPM-Solver++ and Euler.
    std::optional<TimestepSpacing> timestep_spacing;
    int64_t steps_offset = 1;        // added to "leading" timesteps
    bool set_alpha_to_one = false;   // ddim: alpha_prev of the last step is 1 instead of alphas_cumprod[0]
    double eta = 0.0;                // ddim: 0 = deterministic DDIM, 1 = DDPM-like noise
    bool use_karras_sigmas = false;  // dpmpp_2m, euler: Karras et al. (2022) sigmas, rho = 7

    // timestep_spacing null when unset (a Scheduler's options() hold it resolved).
    nlohmann::json to_json() const;
};

// A diffusers scheduler_config.json (SD 1.5's, as the exporter copies it) split into the schedule and the
// sampler options, with from_config semantics: keys present override the defaults, so a config saved by a
// newer diffusers that carries "timestep_spacing" applies it to every sampler, as diffusers does. Keys
// starting with '_' and PNDM's skip_prk_steps are ignored; settings we do not implement must hold their off
// value (clip_sample false, thresholding false, trained_betas null, rescale_betas_zero_snr false); any other
// key (e.g. another class's solver_order) is an error.
struct DiffusersSchedulerConfig {
    NoiseScheduleConfig schedule;
    SchedulerOptions options;
    static DiffusersSchedulerConfig from_json(const nlohmann::json& config,
                                              const std::string& source = "scheduler");
};

class Scheduler {
public:
    virtual ~Scheduler() = default;
    Scheduler(const Scheduler&) = delete;
    Scheduler& operator=(const Scheduler&) = delete;

    virtual std::string name() const = 0;  // "ddim", "dpmpp_2m", "euler"
    // True when step() needs noise (DDIM with eta > 0).
    virtual bool stochastic() const { return false; }

    // Builds the timesteps (and sigmas) for num_inference_steps and resets any multistep state. Fails when
    // the spacing gives a timestep outside [0, num_train_timesteps).
    void set_timesteps(int64_t num_inference_steps);
    bool has_timesteps() const { return !timesteps_.empty(); }
    int64_t num_inference_steps() const { return num_inference_steps_; }           // as requested
    int64_t num_steps() const { return static_cast<int64_t>(timesteps_.size()); }  // loop length
    // [num_steps] CPU tensor, descending, as diffusers' scheduler.timesteps: int64 for ddim and dpmpp_2m,
    // float32 for euler (its default "linspace" spacing gives fractional timesteps such as 946.4211).
    torch::Tensor timesteps() const;
    // Host value of timesteps()[step_index], the time the model is evaluated at.
    double timestep(int64_t step_index) const;
    // [num_steps + 1] noise levels of the sigma samplers (dpmpp_2m, euler), the last one 0; empty for ddim.
    const std::vector<float>& sigmas() const { return sigmas_; }

    // Standard deviation of x_T: the sample loop starts from randn * init_noise_sigma().
    virtual double init_noise_sigma() const { return 1.0; }
    // sample: [B, C, H, W] x_t; returns the model input (euler divides by sqrt(sigma^2 + 1), others:
    // identity).
    virtual torch::Tensor scale_model_input(const torch::Tensor& sample, int64_t step_index) const;

    // One denoising step from timesteps()[step_index] to the next one.
    // model_output: [B, C, H, W] epsilon prediction; sample: [B, C, H, W] x_t; returns x_prev like sample.
    // Deterministic samplers ignore noise/generator (no draw, so the generator's state is unchanged); a
    // stochastic one needs one of them: noise [B, C, H, W] N(0, I), or a generator it draws from.
    torch::Tensor step(const torch::Tensor& model_output, int64_t step_index, const torch::Tensor& sample);
    torch::Tensor step(const torch::Tensor& model_output, int64_t step_index, const torch::Tensor& sample,
                       const torch::Tensor& noise);
    torch::Tensor step(const torch::Tensor& model_output, int64_t step_index, const torch::Tensor& sample,
                       at::Generator generator);

    // Training forward process (the DDPM one for every sampler, see NoiseSchedule::add_noise).
    // original, noise: [B, ...]; timesteps: [B] int64; returns [B, ...].
    torch::Tensor add_noise(const torch::Tensor& original, const torch::Tensor& noise,
                            const torch::Tensor& timesteps) const {
        return schedule_.add_noise(original, noise, timesteps);
    }

    const NoiseSchedule& schedule() const { return schedule_; }
    const SchedulerOptions& options() const { return options_; }
    TimestepSpacing timestep_spacing() const { return *options_.timestep_spacing; }

protected:
    // options.timestep_spacing unset is resolved to default_spacing.
    Scheduler(NoiseSchedule schedule, SchedulerOptions options, TimestepSpacing default_spacing);

    // Fills timesteps_ (descending), timestep_is_integer_ and sigmas_, precomputes the per-step scalars and
    // resets the multistep state.
    virtual void compute_timesteps(int64_t num_inference_steps) = 0;
    // Called with a checked step index; noise is defined only when stochastic().
    virtual torch::Tensor step_impl(const torch::Tensor& model_output, int64_t step_index,
                                    const torch::Tensor& sample, const torch::Tensor& noise) = 0;

    // Fails unless set_timesteps was called and 0 <= step_index < num_steps().
    void check_step_index(int64_t step_index, const char* where) const;
    // For the sigma samplers: fails when eta or set_alpha_to_one, DDIM's options, are not at their defaults.
    void reject_ddim_options() const;

    NoiseSchedule schedule_;
    SchedulerOptions options_;
    int64_t num_inference_steps_ = 0;
    std::vector<double> timesteps_;
    bool timestep_is_integer_ = true;
    std::vector<float> sigmas_;

private:
    void check_step_inputs(const torch::Tensor& model_output, const torch::Tensor& sample,
                           const torch::Tensor* noise) const;
};

// float32 scalar math through ATen's CPU kernels on 0-d tensors, i.e. exactly what diffusers' 0-d tensor
// arithmetic (alpha ** 0.5, torch.log, torch.exp) computes. With AVX-512 dispatch, torch's float32 sqrt, log
// and exp differ from the correctly rounded libm results in the last bit for some inputs (sqrt: ~15% of
// them), so host sqrtf/logf/expf would not reproduce diffusers bit for bit. Used by set_timesteps only, never
// per step.
namespace aten_scalar {
float sqrt(float x);  // torch.pow(x, 0.5), which is what x ** 0.5 calls
float log(float x);
float exp(float x);
}  // namespace aten_scalar

// Timestep arithmetic exactly as NumPy does it, so the spacings equal diffusers' bit for bit.
namespace numpy_compat {
std::vector<double> linspace(double start, double stop, int64_t num);  // np.linspace(start, stop, num)
std::vector<double> arange(double start, double stop, double step);    // np.arange for float arguments
double round(double x);                                                // np.round: half to even
// np.log of a float32 array, correctly rounded (NumPy's SIMD float32 log can be one ulp off, see
// docs/samplers.md).
std::vector<float> log(const std::vector<float>& x);
// np.interp(x, [0, 1, ..., n - 1], fp) for x in [0, n - 1].
double interp_unit_grid(double x, const std::vector<float>& fp);
// Karras et al. (2022) sigmas from sigma_max down to sigma_min, rho = 7 (diffusers' _convert_to_karras).
std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t num);
// diffusers' _sigma_to_t: the fractional timestep whose log-sigma interpolates to log(sigma); log_sigmas: [T]
// float32 log of NoiseSchedule::sigmas().
double sigma_to_t(double sigma, const std::vector<float>& log_sigmas);
}  // namespace numpy_compat

std::vector<std::string> scheduler_names();  // {"ddim", "dpmpp_2m", "euler"}
// Fails for an unknown name or an option the sampler does not have.
std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const NoiseSchedule& schedule,
                                          const SchedulerOptions& options = {});

}  // namespace stablepose
