// Training timesteps. The official recipe draws t uniformly from [0, T). T2I-Adapter (Mou et al. 2023, §3.4)
// draws u uniformly from [0, 1) and trains at t = (1 - u^3) T, so that most steps train the noisy end of the
// schedule, where the layout of the image, and so the pose, is decided (diffusers'
// examples/t2i_adapter/train_t2i_adapter_sdxl.py does the same: float u, truncation, clamp to T - 1).
#pragma once

#include <torch/torch.h>

namespace stablepose {

// u: float draws in [0, 1). Returns (1 - u^3) T truncated to int64 and clamped to [0, T - 1].
torch::Tensor cubic_timesteps(const torch::Tensor& u, int64_t num_steps);

}  // namespace stablepose
