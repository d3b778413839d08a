// Learning-rate schedules: constant (the official recipe) and linear warm-up to the base rate.
#pragma once

#include <cstdint>
#include <string>

namespace stablepose {

struct LrSchedule {
    std::string kind = "constant";  // constant | linear_warmup
    double base_lr = 1e-5;
    int64_t warmup_steps = 0;

    // The rate of optimizer step `step` (0-based): constant -> base_lr; linear_warmup ->
    // base_lr * min(1, (step + 1) / warmup_steps), so the first step already moves and step warmup_steps - 1
    // reaches base_lr.
    double at(int64_t step) const;
};

}  // namespace stablepose
