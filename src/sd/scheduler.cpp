// The scheduler interface of diffusers (schedulers/scheduling_utils.py), its options and the sampler factory.
#include "stablepose/sd/scheduler.h"

#include <algorithm>
#include <cmath>

#include <torch/torch.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/sd/ddim_scheduler.h"
#include "stablepose/sd/dpmpp_2m_scheduler.h"
#include "stablepose/sd/euler_scheduler.h"

namespace stablepose {

std::string to_string(TimestepSpacing spacing) {
    switch (spacing) {
        case TimestepSpacing::leading:
            return "leading";
        case TimestepSpacing::trailing:
            return "trailing";
        case TimestepSpacing::linspace:
            return "linspace";
    }
    return "?";
}

TimestepSpacing parse_timestep_spacing(const std::string& name) {
    if (name == "leading") return TimestepSpacing::leading;
    if (name == "trailing") return TimestepSpacing::trailing;
    if (name == "linspace") return TimestepSpacing::linspace;
    fail("unknown timestep_spacing", "\"leading\", \"trailing\" or \"linspace\"", "\"" + name + "\"");
}

nlohmann::json SchedulerOptions::to_json() const {
    nlohmann::json j = {{"steps_offset", steps_offset},
                        {"set_alpha_to_one", set_alpha_to_one},
                        {"eta", eta},
                        {"use_karras_sigmas", use_karras_sigmas}};
    j["timestep_spacing"] =
        timestep_spacing ? nlohmann::json(to_string(*timestep_spacing)) : nlohmann::json();
    return j;
}

DiffusersSchedulerConfig DiffusersSchedulerConfig::from_json(const nlohmann::json& j,
                                                             const std::string& source) {
    if (!j.is_object())
        fail(source + ": a diffusers scheduler config must be a JSON object", "{...}", j.dump());
    DiffusersSchedulerConfig c;
    auto& s = c.schedule;
    auto& o = c.options;
    // Settings we do not implement: accepted only at the value that turns them off.
    const auto require_off = [&](const std::string& key, const nlohmann::json& value,
                                 const nlohmann::json& off) {
        if (value != off)
            fail(source + ": '" + key + "' is not supported", key + " = " + off.dump(), value.dump(),
                 "the samplers implement SD 1.5's settings only; remove the key or set it to " + off.dump());
    };
    try {
        for (const auto& [key, value] : j.items()) {
            if (key.starts_with("_") || key == "skip_prk_steps") continue;  // metadata; PNDM only
            if (key == "num_train_timesteps")
                s.num_train_timesteps = value.get<int64_t>();
            else if (key == "beta_start")
                s.beta_start = value.get<double>();
            else if (key == "beta_end")
                s.beta_end = value.get<double>();
            else if (key == "beta_schedule")
                s.beta_schedule = value.get<std::string>();
            else if (key == "prediction_type")
                s.prediction_type = value.get<std::string>();
            else if (key == "steps_offset")
                o.steps_offset = value.get<int64_t>();
            else if (key == "set_alpha_to_one")
                o.set_alpha_to_one = value.get<bool>();
            else if (key == "timestep_spacing")
                o.timestep_spacing = parse_timestep_spacing(value.get<std::string>());
            else if (key == "use_karras_sigmas")
                o.use_karras_sigmas = value.get<bool>();
            else if (key == "clip_sample" || key == "thresholding" || key == "rescale_betas_zero_snr")
                require_off(key, value, false);
            else if (key == "trained_betas")
                require_off(key, value, nullptr);
            else
                fail(source + ": unknown key '" + key + "'",
                     "num_train_timesteps, beta_start, beta_end, beta_schedule, prediction_type, "
                     "steps_offset, set_alpha_to_one, timestep_spacing, use_karras_sigmas, clip_sample, "
                     "skip_prk_steps",
                     key,
                     "pass SD 1.5's scheduler_config.json (or the 'scheduler' field of the U-Net sidecar)");
        }
    } catch (const nlohmann::json::exception& e) {
        fail(source + ": a value has the wrong type", "numbers, strings and booleans as in diffusers",
             e.what());
    }
    s.validate();
    return c;
}

// ---- Scheduler --------------------------------------------------------------------------------------------

Scheduler::Scheduler(NoiseSchedule schedule, SchedulerOptions options, TimestepSpacing default_spacing)
    : schedule_(std::move(schedule)), options_(std::move(options)) {
    if (!options_.timestep_spacing) options_.timestep_spacing = default_spacing;
    if (options_.steps_offset < 0)
        fail("scheduler: steps_offset must not be negative", ">= 0 (SD 1.5: 1)",
             std::to_string(options_.steps_offset));
}

void Scheduler::set_timesteps(int64_t num_inference_steps) {
    const int64_t T = schedule_.num_train_timesteps();
    if (num_inference_steps < 1 || num_inference_steps > T)
        fail(name() + ": num_inference_steps out of range", "1 .. " + std::to_string(T),
             std::to_string(num_inference_steps));
    timesteps_.clear();
    sigmas_.clear();
    num_inference_steps_ = num_inference_steps;
    compute_timesteps(num_inference_steps);
    for (const double t : timesteps_) {
        if (!(t >= 0 && t <= T - 1)) {
            const auto found = std::to_string(t);
            timesteps_.clear();
            fail(name() + ": the " + to_string(timestep_spacing()) +
                     " spacing gives a timestep outside the schedule",
                 "0 <= t <= " + std::to_string(T - 1),
                 found + " (with " + std::to_string(num_inference_steps) + " steps, steps_offset " +
                     std::to_string(options_.steps_offset) + ")",
                 "choose another step count or spacing; diffusers would index out of range (or wrap around) "
                 "here");
        }
    }
}

torch::Tensor Scheduler::timesteps() const {
    if (timestep_is_integer_) {
        std::vector<int64_t> values(timesteps_.begin(), timesteps_.end());
        return torch::tensor(values, torch::kLong);
    }
    std::vector<float> values(timesteps_.begin(), timesteps_.end());
    return torch::tensor(values, torch::kFloat32);
}

double Scheduler::timestep(int64_t step_index) const {
    check_step_index(step_index, "timestep");
    return timesteps_[step_index];
}

torch::Tensor Scheduler::scale_model_input(const torch::Tensor& sample, int64_t step_index) const {
    check_step_index(step_index, "scale_model_input");
    return sample;
}

void Scheduler::check_step_index(int64_t step_index, const char* where) const {
    if (!has_timesteps())
        fail(name() + "." + where + ": no timesteps yet", "set_timesteps(num_inference_steps) first",
             "a scheduler without timesteps", "call scheduler->set_timesteps(n) before the sampling loop");
    if (step_index < 0 || step_index >= num_steps())
        fail(name() + "." + where + ": step index out of range",
             "0 <= step_index < " + std::to_string(num_steps()), std::to_string(step_index),
             "step indices count the loop over timesteps(), not timestep values");
}

void Scheduler::reject_ddim_options() const {
    if (options_.eta != 0)
        fail(name() + ": eta is a DDIM option", "eta 0", std::to_string(options_.eta),
             "eta is DDIM's noise weight; " + name() + " is deterministic");
    if (options_.set_alpha_to_one)
        fail(name() + ": set_alpha_to_one is a DDIM option", "set_alpha_to_one false", "true",
             "set_alpha_to_one sets DDIM's last alpha_prev; " + name() + " ends at sigma 0");
}

void Scheduler::check_step_inputs(const torch::Tensor& model_output, const torch::Tensor& sample,
                                  const torch::Tensor* noise) const {
    const auto describe = [](const torch::Tensor& t) {
        return t.defined() ? c10::str(t.sizes()) : std::string("undefined");
    };
    if (!sample.defined() || !model_output.defined() || model_output.sizes() != sample.sizes())
        fail(name() + ".step: model output and sample must have the same shape", "[B, C, H, W] both",
             "model_output " + describe(model_output) + ", sample " + describe(sample));
    if (noise && (!noise->defined() || noise->sizes() != sample.sizes()))
        fail(name() + ".step: noise must have the sample's shape", describe(sample), describe(*noise));
}

torch::Tensor Scheduler::step(const torch::Tensor& model_output, int64_t step_index,
                              const torch::Tensor& sample) {
    check_step_index(step_index, "step");
    check_step_inputs(model_output, sample, nullptr);
    if (stochastic())
        fail(name() + ".step: this sampler is stochastic and needs noise", "a noise tensor or a generator",
             "neither",
             "pass the run's generator: step(eps, i, x, generator); eta = 0 makes DDIM deterministic");
    return step_impl(model_output, step_index, sample, {});
}

torch::Tensor Scheduler::step(const torch::Tensor& model_output, int64_t step_index,
                              const torch::Tensor& sample, const torch::Tensor& noise) {
    check_step_index(step_index, "step");
    check_step_inputs(model_output, sample, &noise);
    return step_impl(model_output, step_index, sample, stochastic() ? noise : torch::Tensor());
}

torch::Tensor Scheduler::step(const torch::Tensor& model_output, int64_t step_index,
                              const torch::Tensor& sample, at::Generator generator) {
    check_step_index(step_index, "step");
    check_step_inputs(model_output, sample, nullptr);
    if (!stochastic()) return step_impl(model_output, step_index, sample, {});
    if (!generator.defined())
        fail(name() + ".step: undefined generator", "a seeded generator", "an undefined one",
             "create one with at::make_generator<at::CPUGeneratorImpl>(seed)");
    // As diffusers' randn_tensor: drawn on the generator's device in the model output's dtype, then moved.
    const auto noise =
        torch::randn(model_output.sizes(), generator, model_output.options().device(generator.device()))
            .to(model_output.device());
    return step_impl(model_output, step_index, sample, noise);
}

// ---- float32 scalars as ATen computes them ----------------------------------------------------------------

namespace aten_scalar {
namespace {
torch::Tensor scalar(float x) {
    return torch::scalar_tensor(x, torch::TensorOptions().dtype(torch::kFloat32));
}
}  // namespace
float sqrt(float x) { return scalar(x).pow(0.5).item<float>(); }
float log(float x) { return torch::log(scalar(x)).item<float>(); }
float exp(float x) { return torch::exp(scalar(x)).item<float>(); }
}  // namespace aten_scalar

// ---- NumPy-exact timestep arithmetic ----------------------------------------------------------------------

namespace numpy_compat {

std::vector<double> linspace(double start, double stop, int64_t num) {
    // numpy/_core/function_base.py: y = arange(num) * step + start, y[-1] = stop.
    std::vector<double> y(std::max<int64_t>(num, 0));
    const int64_t div = num - 1;
    const double delta = stop - start;
    for (int64_t i = 0; i < num; ++i) {
        const auto fi = static_cast<double>(i);
        y[i] = (div > 0 ? fi * (delta / static_cast<double>(div)) : fi * delta) + start;
    }
    if (num > 1) y.back() = stop;
    return y;
}

std::vector<double> arange(double start, double stop, double step) {
    // PyArray_ArangeObj: length ceil((stop - start) / step);
    // DOUBLE_fill: y[i] = start + i * delta with delta = (start + step) - start, not step itself.
    const double length = std::ceil((stop - start) / step);
    std::vector<double> y(length > 0 ? static_cast<size_t>(length) : 0);
    if (y.empty()) return y;
    y[0] = start;
    if (y.size() > 1) y[1] = start + step;
    const double delta = (start + step) - start;
    for (size_t i = 2; i < y.size(); ++i) y[i] = start + static_cast<double>(i) * delta;
    return y;
}

double round(double x) { return std::nearbyint(x); }  // the default rounding mode rounds half to even

std::vector<float> log(const std::vector<float>& x) {
    std::vector<float> y;
    for (const float v : x) y.push_back(static_cast<float>(std::log(static_cast<double>(v))));
    return y;
}

double interp_unit_grid(double x, const std::vector<float>& fp) {
    // numpy/_core/src/multiarray/compiled_base.c, arr_interp, for xp = 0 .. n - 1.
    const auto n = static_cast<int64_t>(fp.size());
    if (x <= 0) return fp.front();
    if (x >= static_cast<double>(n - 1)) return fp.back();
    const auto j = static_cast<int64_t>(std::floor(x));
    if (static_cast<double>(j) == x) return fp[j];
    // slope = (fp[j + 1] - fp[j]) / (xp[j + 1] - xp[j]) with xp[j + 1] - xp[j] = 1.
    const double slope = static_cast<double>(fp[j + 1]) - static_cast<double>(fp[j]);
    return slope * (x - static_cast<double>(j)) + static_cast<double>(fp[j]);
}

std::vector<double> karras_sigmas(double sigma_min, double sigma_max, int64_t num) {
    constexpr double rho = 7.0;
    const double min_inv_rho = std::pow(sigma_min, 1.0 / rho), max_inv_rho = std::pow(sigma_max, 1.0 / rho);
    std::vector<double> sigmas;
    for (const double r : linspace(0.0, 1.0, num))
        sigmas.push_back(std::pow(max_inv_rho + r * (min_inv_rho - max_inv_rho), rho));
    return sigmas;
}

double sigma_to_t(double sigma, const std::vector<float>& log_sigmas) {
    const double log_sigma = std::log(std::max(sigma, 1e-10));
    // low_idx = index of the last log_sigmas entry <= log_sigma (0 when none), at most n - 2.
    const auto n = static_cast<int64_t>(log_sigmas.size());
    int64_t count = 0, last = 0;
    for (int64_t i = 0; i < n; ++i)
        if (log_sigma - log_sigmas[i] >= 0) ++count, last = i;
    const int64_t low_idx = std::min<int64_t>(count > 0 ? last : 0, n - 2), high_idx = low_idx + 1;
    const float low = log_sigmas[low_idx], high = log_sigmas[high_idx];
    // NumPy: low - high stays float32 (two float32 scalars), low - log_sigma is float64.
    const float low_minus_high = low - high;
    const double w =
        std::clamp((static_cast<double>(low) - log_sigma) / static_cast<double>(low_minus_high), 0.0, 1.0);
    return (1 - w) * static_cast<double>(low_idx) + w * static_cast<double>(high_idx);
}

}  // namespace numpy_compat

// ---- factory ----------------------------------------------------------------------------------------------

std::vector<std::string> scheduler_names() { return {"ddim", "dpmpp_2m", "euler"}; }

std::unique_ptr<Scheduler> make_scheduler(const std::string& name, const NoiseSchedule& schedule,
                                          const SchedulerOptions& options) {
    if (name == "ddim") return std::make_unique<DdimScheduler>(schedule, options);
    if (name == "dpmpp_2m") return std::make_unique<DpmSolverPP2MScheduler>(schedule, options);
    if (name == "euler") return std::make_unique<EulerScheduler>(schedule, options);
    fail("unknown sampler '" + name + "'", "one of ddim, dpmpp_2m, euler", name,
         "the official Stable-Pose sampler is ddim (50 steps, eta 0)");
}

}  // namespace stablepose
