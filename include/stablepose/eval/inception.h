// The FID/KID Inception network (spec evaluation.md §8.1): torch-fidelity's FeatureExtractorInceptionV3 exported by
// scripts/export_metric_models.py as inception.pt + inception.json, and the preprocessing in front of it.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include "stablepose/eval/metric_network.h"

namespace stablepose {

struct InceptionFeatures {
    torch::Tensor f64;    // [N, 64] float32, CPU: after MaxPool_1, averaged (the reference FID's features)
    torch::Tensor f2048;  // [N, 2048] float32, CPU: pool3 (standard FID, KID)

    int64_t count() const { return f64.defined() ? f64.size(0) : 0; }
    // 64 or 2048; throws Error otherwise.
    const torch::Tensor& of_dims(int dims) const;
};

class InceptionNetwork {
public:
    // pt_file: inception.pt; its sidecar is the .json of the same stem. Checks the metadata, the sha256, the
    // signature (one uint8 image input) and a probe call returning ([1, 64], [1, 2048]) float32.
    static InceptionNetwork load(const std::filesystem::path& pt_file, const MetricNetworkOptions& options = {});

    // images: [B, 3, H, W] uint8 RGB, any H and W (the network resizes to 299 itself); returns CPU features.
    InceptionFeatures operator()(const torch::Tensor& images);

    const std::string& sha256() const { return sha256_; }
    torch::Device device() const { return device_; }
    const nlohmann::json& spec() const { return spec_; }

private:
    torch::jit::Module module_;
    nlohmann::json spec_;
    std::string sha256_;
    torch::Device device_ = torch::kCPU;
};

// x: [..., 3, H, W] float in [0, 1] (torchvision ToTensor). Returns uint8 of the same shape holding
// ((x - mean) / std) * 255 with the ImageNet mean/std, truncated toward zero and wrapped modulo 256 (the float ->
// int64 -> uint8 cast of PyTorch of the reference's era; spec §8.3). Today's PyTorch saturates instead, so the
// wrap is computed explicitly.
torch::Tensor imagenet_normalize_wrap_uint8(const torch::Tensor& x);

// rgb: HxWx3 uint8. Returns the network input [3, H, W] uint8: the pixels unchanged (clean, §8.6), or with
// reference_compat [3, 299, 299] as the reference pipeline prepares its images (§8.2-8.3): torchvision
// Resize(299) + CenterCrop(299) on the PIL image (pil_resize.h), ToTensor, ImageNet normalisation, x255 and
// the wrapping cast. (Stable-Pose crops only the real set; its fakes are 512x512, where the crop does
// nothing.)
torch::Tensor inception_input(const cv::Mat& rgb, bool reference_compat);

}  // namespace stablepose
