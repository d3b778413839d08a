#include "stablepose/nn/pose_encoder.h"

#include <torch/nn/modules/activation.h>

#include "stablepose/error.h"

namespace stablepose {

namespace nn = torch::nn;

namespace {
nn::Conv2d conv3x3(int in, int out, int stride) {
    return nn::Conv2d(nn::Conv2dOptions(in, out, 3).stride(stride).padding(1));
}
}  // namespace

void zero_parameters(nn::Module& module) {
    torch::NoGradGuard no_grad;
    for (auto& p : module.parameters(/*recurse=*/false)) p.zero_();
}

PoseEncoderImpl::PoseEncoderImpl(const PoseEncoderOptions& options) {
    pre_extractor = register_module(
        "pre_extractor", nn::Sequential(conv3x3(options.in_channels, 32, 1), nn::SiLU(), conv3x3(32, 64, 2),
                                        nn::SiLU(), conv3x3(64, 64, 1), nn::SiLU(), conv3x3(64, 128, 2), nn::SiLU(),
                                        conv3x3(128, 128, 1), nn::SiLU()));
    extractor_ = nn::Sequential(conv3x3(128, options.out_channels, 2), nn::SiLU());
    extractors = register_module("extractors", nn::ModuleList(extractor_));
    zero_conv_ = conv3x3(options.out_channels, options.out_channels, 1);
    zero_parameters(*zero_conv_);
    zero_convs = register_module("zero_convs", nn::ModuleList(zero_conv_));
}

torch::Tensor PoseEncoderImpl::forward(const torch::Tensor& skeleton) {
    if (skeleton.dim() != 4 || skeleton.size(1) != pre_extractor[0]->as<nn::Conv2d>()->options.in_channels() ||
        skeleton.size(2) % 8 != 0 || skeleton.size(3) % 8 != 0)
        fail("pose encoder: bad skeleton batch", "[B, 3, H, W] with H, W multiples of 8", c10::str(skeleton.sizes()));
    return zero_conv_(extractor_->forward(pre_extractor->forward(skeleton)));
}

}  // namespace stablepose
