#include "stablepose/train/pose_mask_loss.h"

#include "stablepose/error.h"

namespace stablepose {

torch::Tensor pose_mask_guided_loss(const torch::Tensor& eps_pred, const torch::Tensor& eps,
                                    const torch::Tensor& fine_masks, double alpha) {
    if (eps_pred.dim() != 4 || !eps_pred.sizes().equals(eps.sizes()))
        fail("pose-mask loss: prediction and target must have the same [B, C, h, w] shape",
             c10::str(eps.sizes()), c10::str(eps_pred.sizes()));
    const auto b = eps.size(0), h = eps.size(2), w = eps.size(3);
    if (fine_masks.dim() != 3 || fine_masks.size(0) != b || fine_masks.size(1) != h || fine_masks.size(2) != w)
        fail("pose-mask loss: masks must be the fine masks at latent resolution",
             "[" + std::to_string(b) + ", " + std::to_string(h) + ", " + std::to_string(w) + "]",
             c10::str(fine_masks.sizes()), "pass rows [B, 2B) of the stacked coarse-to-fine masks");
    auto squared = (eps.to(torch::kFloat32) - eps_pred.to(torch::kFloat32)).pow(2);
    auto weight = 1.0 + (alpha - 1.0) * fine_masks.to(squared.device(), torch::kFloat32).unsqueeze(1);
    return (squared * weight).mean();
}

}  // namespace stablepose
