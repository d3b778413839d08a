// Coarse-to-fine pose masks: blurred skeleton, thresholded, any-pooled to the latent grid.
// Reference: `cldm/stable_pose_cldm.py::StablePose.get_input` and `eval_pose.py::gen_pose_mask`
// (torchvision GaussianBlur(k, sigma=3), reflect padding; training "> -1", inference "> -0.99").
#pragma once

#include <vector>

#include <torch/types.h>

namespace stablepose {

struct PoseMaskConfig {
    std::vector<int> gaussian_kernels{23, 13};  // coarse first: one mask per PMSA ViT layer
    double sigma = 3.0;                          // the same sigma for every kernel (official)
    float threshold = -1.0f;                     // a pixel is pose when any channel > threshold after the blur
    int latent_factor = 8;                       // pixels per latent cell along each axis (VAE downsampling)
    // Blur (skeleton + 1) and compare with threshold + 1: the official test in exact arithmetic. The literal
    // float32 form (false) is degenerate for training masks: the k = 23 kernel sums to 0.99999982, so blank
    // regions blur to -0.99999982 > -1 and every pixel is selected (the official run escaped this only
    // because it trained under fp16 autocast, where that value rounds to -1; fp16 also drops the faint edge
    // of the k = 23 blur, so its coarse masks are about 8 % smaller: docs/render.md). For the inference
    // threshold both forms give the same cells up to float rounding at the threshold.
    bool background_relative = true;

    static PoseMaskConfig training() { return {}; }
    static PoseMaskConfig inference() {
        PoseMaskConfig c;
        c.threshold = -0.99f;
        return c;
    }
    void validate() const;
};

// torchvision's 1-D kernel: linspace(-(k-1)/2, (k-1)/2, k) in float32, exp(-x^2 / (2 sigma^2)), normalised.
torch::Tensor gaussian_kernel1d(int kernel_size, double sigma);
// torchvision's 2-D kernel: outer product of the 1-D kernel with itself; [k, k] float32.
torch::Tensor gaussian_kernel2d(int kernel_size, double sigma);

// images: [B, C, H, W] float32; returns the same shape. One depthwise 2-D convolution after reflect padding
// of k // 2, as torchvision.transforms.functional.gaussian_blur does (bit-identical on the same device).
torch::Tensor gaussian_blur(const torch::Tensor& images, int kernel_size, double sigma);

// skeleton: [B, 3, H, W] in [-1, 1] (background -1), H and W multiples of latent_factor.
// A pixel is pose when any channel of the blurred skeleton is > threshold; cells are any-pooled.
// Returns [K * B, H / f, W / f] float32 0/1: the B masks of kernel 0, then the B masks of kernel 1, ...
torch::Tensor build_pose_masks(const torch::Tensor& skeleton, const PoseMaskConfig& config);

// The unconditional CFG branch's masks (official): all ones, [K * B, h, w].
torch::Tensor all_ones_pose_masks(int num_kernels, int64_t batch, int64_t h, int64_t w,
                                   const torch::TensorOptions& options = torch::kFloat32);

}  // namespace stablepose
