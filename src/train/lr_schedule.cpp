// Learning-rate schedules (lr_schedule.h).
#include "stablepose/train/lr_schedule.h"

#include <algorithm>

#include "stablepose/error.h"

namespace stablepose {

double LrSchedule::at(int64_t step) const {
    if (kind == "constant") return base_lr;
    if (kind == "linear_warmup") {
        if (warmup_steps < 1) fail("linear_warmup needs warmup_steps >= 1", ">= 1", std::to_string(warmup_steps));
        return base_lr * std::min(1.0, static_cast<double>(step + 1) / static_cast<double>(warmup_steps));
    }
    fail("unknown learning-rate schedule", "constant or linear_warmup", kind);
}

}  // namespace stablepose
