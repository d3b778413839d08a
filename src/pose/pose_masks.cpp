#include "stablepose/pose/pose_masks.h"

#include <cmath>

#include <ATen/ATen.h>

#include "stablepose/error.h"

namespace stablepose {

void PoseMaskConfig::validate() const {
    if (gaussian_kernels.empty()) fail("pose masks: no Gaussian kernels", "at least one odd kernel size", "[]");
    for (int k : gaussian_kernels)
        if (k < 1 || k % 2 == 0)
            fail("pose masks: Gaussian kernel sizes must be odd and positive", "e.g. [23, 13]", std::to_string(k));
    if (!(sigma > 0.0 && std::isfinite(sigma)))
        fail("pose masks: sigma must be positive and finite", "> 0", std::to_string(sigma));
    if (!std::isfinite(threshold))
        fail("pose masks: the threshold must be a finite number", "e.g. -1 (training) or -0.99 (inference)",
             std::to_string(threshold));
    if (latent_factor < 1) fail("pose masks: latent factor must be positive", ">= 1", std::to_string(latent_factor));
}

torch::Tensor gaussian_kernel1d(int kernel_size, double sigma) {
    const double half = (kernel_size - 1) * 0.5;
    auto x = torch::linspace(-half, half, kernel_size, torch::kFloat32);
    auto pdf = torch::exp(-0.5 * (x / sigma).pow(2));
    return pdf / pdf.sum();
}

torch::Tensor gaussian_kernel2d(int kernel_size, double sigma) {
    auto k1 = gaussian_kernel1d(kernel_size, sigma);
    return torch::mm(k1.unsqueeze(1), k1.unsqueeze(0));
}

torch::Tensor gaussian_blur(const torch::Tensor& images, int kernel_size, double sigma) {
    if (images.dim() != 4)
        fail("gaussian_blur: expected a batch of images", "[B, C, H, W]", c10::str(images.sizes()));
    const int pad = kernel_size / 2;
    if (images.size(2) <= pad || images.size(3) <= pad)
        fail("gaussian_blur: image too small for reflect padding", "H and W > " + std::to_string(pad),
             c10::str(images.sizes()));
    const auto channels = images.size(1);
    auto kernel = gaussian_kernel2d(kernel_size, sigma).to(images.device(), images.scalar_type());
    kernel = kernel.expand({channels, 1, kernel_size, kernel_size});
    auto padded = at::pad(images, {pad, pad, pad, pad}, "reflect");
    return at::conv2d(padded, kernel, std::nullopt, at::IntArrayRef{1}, at::IntArrayRef{0}, at::IntArrayRef{1}, channels);
}

torch::Tensor build_pose_masks(const torch::Tensor& skeleton, const PoseMaskConfig& config) {
    config.validate();
    if (skeleton.dim() != 4 || skeleton.size(1) != 3)
        fail("pose masks: expected rendered skeletons", "[B, 3, H, W] in [-1, 1]", c10::str(skeleton.sizes()));
    const int f = config.latent_factor;
    const auto batch = skeleton.size(0), height = skeleton.size(2), width = skeleton.size(3);
    if (height % f != 0 || width % f != 0)
        fail("pose masks: image size must be a multiple of the latent factor " + std::to_string(f),
             "H and W divisible by " + std::to_string(f), std::to_string(height) + "x" + std::to_string(width),
             "use an image size that is a multiple of 64");
    torch::NoGradGuard no_grad;
    auto images = skeleton.to(torch::kFloat32);
    std::vector<torch::Tensor> masks;
    for (int k : config.gaussian_kernels) {
        auto pose_pixels = config.background_relative
                               ? (gaussian_blur(images + 1.0, k, config.sigma) > config.threshold + 1.0).any(1)
                               : (gaussian_blur(images, k, config.sigma) > config.threshold).any(1);  // [B, H, W]
        auto cells = pose_pixels.view({batch, height / f, f, width / f, f}).any(4).any(2);     // [B, h, w]
        masks.push_back(cells.to(torch::kFloat32));
    }
    return torch::cat(masks, 0);
}

torch::Tensor all_ones_pose_masks(int num_kernels, int64_t batch, int64_t h, int64_t w,
                                  const torch::TensorOptions& options) {
    return torch::ones({num_kernels * batch, h, w}, options);
}

}  // namespace stablepose
