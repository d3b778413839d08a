// Pose encoder: skeleton image -> pose features at the latent grid.
// Reference: `cldm/stable_pose_cldm.py::FeatureExtractor` (names `pre_extractor`, `extractors`, `zero_convs`).
#pragma once

#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/modules/conv.h>

namespace stablepose {

struct PoseEncoderOptions {
    int in_channels = 3;
    int out_channels = 192;  // AttnResBlock pose channels (official inject_channels [192])
};

class PoseEncoderImpl : public torch::nn::Module {
public:
    explicit PoseEncoderImpl(const PoseEncoderOptions& options = {});

    // skeleton: [B, 3, H, W] in [-1, 1]; returns [B, out_channels, H/8, W/8].
    // At initialisation the output is exactly zero (zero_convs.0 is zero-initialised).
    torch::Tensor forward(const torch::Tensor& skeleton);

    // 0 conv 3->32, 2 conv 32->64 s2, 4 conv 64->64, 6 conv 64->128 s2, 8 conv 128->128; SiLU after each.
    torch::nn::Sequential pre_extractor{nullptr};
    torch::nn::ModuleList extractors{nullptr};  // 0: Sequential(conv 128->out s2, SiLU)
    torch::nn::ModuleList zero_convs{nullptr};  // 0: conv out->out, zero-initialised, no activation

private:
    torch::nn::Sequential extractor_{nullptr};
    torch::nn::Conv2d zero_conv_{nullptr};
};
TORCH_MODULE(PoseEncoder);

// Sets weight and bias of a conv (or any module's direct parameters) to zero.
void zero_parameters(torch::nn::Module& module);

}  // namespace stablepose
