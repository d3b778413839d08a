// The resize of the reference FID pipelines (evaluation.md §8.2): torchvision's Resize(size) +
// CenterCrop(size) on a PIL image, whose resize is Pillow's BILINEAR filter. Hand-written: no C++ library
// reproduces Pillow's fixed-point resampler (OpenCV's INTER_LINEAR / INTER_AREA round and filter
// differently).
#pragma once

#include <opencv2/core.hpp>

namespace stablepose {

// Pillow's Image.resize((width, height), Image.BILINEAR) of an 8-bit RGB image (Resample.c): a triangle
// filter widened by the scale factor when shrinking (antialiased), coefficients normalised and rounded to
// 22-bit fixed point, a horizontal pass, then a vertical pass, each rounded and clipped to 8 bits; a pass
// whose size does not change is skipped. rgb: HxWx3 CV_8UC3; returns height x width x 3.
cv::Mat pil_bilinear_resize(const cv::Mat& rgb, int width, int height);

// torchvision Resize(size) (the shorter side to `size`, the longer to int(size * long / short)) on a PIL
// image, then CenterCrop(size) (offsets round((dim - size) / 2), half to even). Returns size x size x 3.
cv::Mat torchvision_resize_center_crop(const cv::Mat& rgb, int size);

}  // namespace stablepose
