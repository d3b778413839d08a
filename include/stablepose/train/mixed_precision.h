// Mixed precision for the adapter (runtime.md §5): an RAII autocast guard (LibTorch has none public) and an
// fp16 loss scaler built on the two ATen ops Python's GradScaler calls. bf16 needs no scaling.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

namespace stablepose {

enum class Precision { fp32, bf16, fp16 };
// "auto" -> bf16 on CUDA, fp32 on the CPU; fp16/bf16 on the CPU are refused (the recipe is fp32 there).
Precision resolve_precision(const std::string& mode, const torch::Device& device);
std::string to_string(Precision precision);

// Enables autocast for `device`'s type with `dtype` while alive; restores the previous state on exit and
// clears the cast cache when the outermost guard ends. `enabled` false: does nothing.
class AutocastGuard {
public:
    AutocastGuard(const torch::Device& device, torch::ScalarType dtype, bool enabled = true);
    ~AutocastGuard();
    AutocastGuard(const AutocastGuard&) = delete;
    AutocastGuard& operator=(const AutocastGuard&) = delete;

private:
    bool active_ = false;
    c10::DeviceType type_ = c10::DeviceType::CPU;
    bool previous_enabled_ = false;
    torch::ScalarType previous_dtype_ = torch::kFloat32;
};

struct LossScalerOptions {
    double init_scale = 65536.0;
    double growth_factor = 2.0;
    double backoff_factor = 0.5;
    int growth_interval = 2000;
};

// Per step: backward(scale(loss)); found_inf = unscale_(grads); [all-reduce found_inf]; step only when
// found_inf is 0; update(found_inf). Disabled: scale is 1 and nothing is checked.
class LossScaler {
public:
    LossScaler(const torch::Device& device, LossScalerOptions options, bool enabled);
    bool enabled() const { return enabled_; }
    torch::Tensor scale(const torch::Tensor& loss) const;
    // Multiplies every gradient by 1/scale in place; returns found_inf ([1] float32 on the device: 1 when any
    // value is inf or NaN) via at::_amp_foreach_non_finite_check_and_unscale_. Grads are grouped by device
    // and dtype as the op requires.
    torch::Tensor unscale_(const std::vector<torch::Tensor>& grads);
    // at::_amp_update_scale_: back off on found_inf, else grow after growth_interval clean steps.
    void update(const torch::Tensor& found_inf);
    double current_scale() const;
    int64_t growth_tracker() const;

    nlohmann::json state() const;
    void load_state(const nlohmann::json& state);

private:
    bool enabled_;
    LossScalerOptions options_;
    torch::Tensor scale_;           // [1] float32 on the device
    torch::Tensor growth_tracker_;  // [1] int32 on the device
};

}  // namespace stablepose
