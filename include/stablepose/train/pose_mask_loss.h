// Pose-mask-guided loss of Stable-Pose.
// Reference: `cldm/stable_pose_cldm.py::StablePose.p_losses` (stable-pose.md §7).
#pragma once

#include <torch/types.h>

namespace stablepose {

inline constexpr double kOfficialPoseLossAlpha = 5.0;

// eps_pred, eps: [B, C, h, w]; fine_masks: [B, h, w] 0/1 (the k = 13 masks at latent resolution).
// Returns the scalar mean over all B*C*h*w elements of (eps - eps_pred)^2 * (1 + (alpha - 1) * M),
// with M broadcast over channels; not renormalised by the mask area.
torch::Tensor pose_mask_guided_loss(const torch::Tensor& eps_pred, const torch::Tensor& eps,
                                    const torch::Tensor& fine_masks, double alpha = kOfficialPoseLossAlpha);

}  // namespace stablepose
