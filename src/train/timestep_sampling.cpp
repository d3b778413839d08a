#include "stablepose/train/timestep_sampling.h"

#include "stablepose/error.h"

namespace stablepose {

torch::Tensor cubic_timesteps(const torch::Tensor& u, int64_t num_steps) {
    if (num_steps < 1) fail("cubic_timesteps: bad number of steps", ">= 1", std::to_string(num_steps));
    if (!u.is_floating_point())
        fail("cubic_timesteps: expected uniform floats in [0, 1)", "a floating-point tensor", c10::str(u.dtype()));
    const auto t = (1.0 - u.pow(3)) * static_cast<double>(num_steps);
    return t.to(torch::kInt64).clamp(0, num_steps - 1);  // .long() truncates toward zero, as in diffusers
}

}  // namespace stablepose
