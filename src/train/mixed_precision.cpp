// Autocast guard and fp16 loss scaler (mixed_precision.h). Reference: torch/amp/grad_scaler.py.
#include "stablepose/train/mixed_precision.h"

#include <map>

#include <ATen/autocast_mode.h>
#include <ATen/ops/_amp_foreach_non_finite_check_and_unscale.h>
#include <ATen/ops/_amp_update_scale.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {

Precision resolve_precision(const std::string& mode, const torch::Device& device) {
    if (mode == "auto") return device.is_cuda() ? Precision::bf16 : Precision::fp32;
    if (mode == "fp32") return Precision::fp32;
    if (mode != "bf16" && mode != "fp16")
        fail("unknown precision.mode", "auto, fp32, bf16 or fp16", mode);
    if (!device.is_cuda())
        fail("precision " + mode + " needs a CUDA device", "precision.mode fp32 or auto on the CPU",
             mode + " on " + device.str(), "training on the CPU runs in fp32: --set precision.mode=auto");
    return mode == "bf16" ? Precision::bf16 : Precision::fp16;
}

std::string to_string(Precision precision) {
    switch (precision) {
        case Precision::fp32: return "fp32";
        case Precision::bf16: return "bf16";
        case Precision::fp16: return "fp16";
    }
    return "?";
}

AutocastGuard::AutocastGuard(const torch::Device& device, torch::ScalarType dtype, bool enabled) {
    if (!enabled) return;
    active_ = true;
    type_ = device.type();
    previous_enabled_ = at::autocast::is_autocast_enabled(type_);
    previous_dtype_ = at::autocast::get_autocast_dtype(type_);
    at::autocast::set_autocast_enabled(type_, true);
    at::autocast::set_autocast_dtype(type_, dtype);
    at::autocast::increment_nesting();
}

AutocastGuard::~AutocastGuard() {
    if (!active_) return;
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    at::autocast::set_autocast_enabled(type_, previous_enabled_);
    at::autocast::set_autocast_dtype(type_, previous_dtype_);
}

LossScaler::LossScaler(const torch::Device& device, LossScalerOptions options, bool enabled)
    : enabled_(enabled), options_(options) {
    scale_ = torch::full({1}, enabled ? options.init_scale : 1.0, torch::dtype(torch::kFloat32).device(device));
    growth_tracker_ = torch::zeros({1}, torch::dtype(torch::kInt32).device(device));
}

torch::Tensor LossScaler::scale(const torch::Tensor& loss) const {
    return enabled_ ? loss * scale_.to(loss.scalar_type()) : loss;
}

torch::Tensor LossScaler::unscale_(const std::vector<torch::Tensor>& grads) {
    auto found_inf = torch::zeros({1}, scale_.options());
    if (!enabled_) return found_inf;
    const auto inv_scale = scale_.to(torch::kFloat64).reciprocal().to(torch::kFloat32);
    std::map<std::pair<std::string, int>, std::vector<torch::Tensor>> groups;
    for (const auto& g : grads)
        if (g.defined()) groups[{g.device().str(), static_cast<int>(g.scalar_type())}].push_back(g);
    for (auto& [key, list] : groups) {
        auto found = torch::zeros({1}, scale_.options().device(list.front().device()));
        at::_amp_foreach_non_finite_check_and_unscale_(list, found, inv_scale.to(list.front().device()));
        found_inf = torch::maximum(found_inf, found.to(found_inf.device()));
    }
    return found_inf;
}

void LossScaler::update(const torch::Tensor& found_inf) {
    if (!enabled_) return;
    at::_amp_update_scale_(scale_, growth_tracker_, found_inf.to(scale_.device()), options_.growth_factor,
                           options_.backoff_factor, options_.growth_interval);
}

double LossScaler::current_scale() const { return scale_.item<double>(); }
int64_t LossScaler::growth_tracker() const { return growth_tracker_.item<int64_t>(); }

nlohmann::json LossScaler::state() const {
    return {{"enabled", enabled_}, {"scale", current_scale()}, {"growth_tracker", growth_tracker()}};
}

void LossScaler::load_state(const nlohmann::json& state) {
    if (state.at("enabled").get<bool>() != enabled_)
        fail("checkpoint: the loss scaler state does not fit this precision",
             enabled_ ? "an fp16 run's scaler" : "no scaler (fp32/bf16)",
             state.at("enabled").get<bool>() ? "an fp16 run's scaler" : "no scaler",
             "resume with the checkpoint's precision.mode");
    scale_.fill_(state.at("scale").get<double>());
    growth_tracker_.fill_(state.at("growth_tracker").get<int64_t>());
}

}  // namespace stablepose
