// Image files and image <-> tensor conversion. Images in the library are RGB (channel 0 = red).
#pragma once

#include <filesystem>
#include <string>

#include <opencv2/core.hpp>
#include <torch/types.h>

namespace stablepose {

// Reads an image's stored pixels as 8-bit RGB (an EXIF orientation tag is ignored, as PIL's Image.open does);
// throws Error for missing, unreadable or corrupt files.
cv::Mat read_image_rgb(const std::filesystem::path& path);
// PNG bytes of an 8-bit RGB (3-channel) or grey (1-channel) image; the caller's image is left untouched.
std::string encode_png(const cv::Mat& image);
// Encodes an 8-bit RGB (3-channel) or grey (1-channel) image as PNG and writes it atomically.
void write_png(const std::filesystem::path& path, const cv::Mat& image);

// rgb: HxWx3 uint8; returns [3, H, W] float32 in [-1, 1] (img / 255 * 2 - 1, as the official loader).
torch::Tensor rgb_to_tensor(const cv::Mat& rgb);
// t: [3, H, W] float in [-1, 1]; returns HxWx3 uint8 (round((t + 1) / 2 * 255), clamped).
cv::Mat tensor_to_rgb(const torch::Tensor& t);
// t: [3, H, W] float in [0, 1] (a decoded sample); returns HxWx3 uint8 round(t * 255), clamped, as diffusers'
// numpy_to_pil.
cv::Mat unit_tensor_to_rgb(const torch::Tensor& t);
// mask: [H, W] 0/1; returns an HxW uint8 image (0 or 255).
cv::Mat mask_to_image(const torch::Tensor& mask);

}  // namespace stablepose
