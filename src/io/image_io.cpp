#include "stablepose/io/image_io.h"

#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"

namespace stablepose {

cv::Mat read_image_rgb(const std::filesystem::path& path) {
    if (!std::filesystem::exists(path))
        fail("image not found: '" + path.string() + "'", "an existing image file", "no such file");
    // The stored pixels, as PIL's Image.open in the official loaders and metric pipelines: an EXIF
    // orientation tag is not applied (OpenCV would rotate the image away from its keypoints and its annotated
    // size).
    cv::Mat bgr = cv::imread(path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    if (bgr.empty())
        fail("cannot decode image '" + path.string() + "'", "a PNG, JPEG or other format OpenCV reads",
             "a file OpenCV could not decode (corrupt or unsupported)", "re-export or re-download the image");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

std::string encode_png(const cv::Mat& image) {
    if (image.depth() != CV_8U || (image.channels() != 3 && image.channels() != 1))
        fail("PNG encoding: unsupported image layout", "8-bit RGB or grey", "type " + std::to_string(image.type()));
    cv::Mat to_encode;  // a new buffer: converting into a header of `image` would swap the caller's channels
    if (image.channels() == 3)
        cv::cvtColor(image, to_encode, cv::COLOR_RGB2BGR);
    else
        to_encode = image;
    std::vector<uchar> bytes;
    if (!cv::imencode(".png", to_encode, bytes)) fail("PNG encoding failed");
    return std::string(bytes.begin(), bytes.end());
}

void write_png(const std::filesystem::path& path, const cv::Mat& image) {
    write_file_atomic(path, encode_png(image));
}

torch::Tensor rgb_to_tensor(const cv::Mat& rgb) {
    if (rgb.type() != CV_8UC3) fail("rgb_to_tensor: expected an 8-bit 3-channel image", "CV_8UC3", std::to_string(rgb.type()));
    cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
    auto hwc = torch::from_blob(contiguous.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8);
    return hwc.permute({2, 0, 1}).to(torch::kFloat32).div(255.0).mul(2.0).sub(1.0).contiguous();
}

cv::Mat tensor_to_rgb(const torch::Tensor& t) {
    if (t.dim() != 3 || t.size(0) != 3)
        fail("tensor_to_rgb: expected a [3, H, W] tensor", "[3, H, W]", c10::str(t.sizes()));
    auto u8 = t.detach().to(torch::kCPU, torch::kFloat32).add(1.0).div(2.0).mul(255.0).round().clamp(0, 255)
                  .to(torch::kUInt8).permute({1, 2, 0}).contiguous();
    cv::Mat out(static_cast<int>(t.size(1)), static_cast<int>(t.size(2)), CV_8UC3);
    std::memcpy(out.data, u8.data_ptr(), u8.numel());
    return out;
}

cv::Mat unit_tensor_to_rgb(const torch::Tensor& t) {
    if (t.dim() != 3 || t.size(0) != 3)
        fail("unit_tensor_to_rgb: expected a [3, H, W] tensor", "[3, H, W]", c10::str(t.sizes()));
    auto u8 = t.detach().to(torch::kCPU, torch::kFloat32).mul(255.0).round().clamp(0, 255).to(torch::kUInt8)
                  .permute({1, 2, 0}).contiguous();
    cv::Mat out(static_cast<int>(t.size(1)), static_cast<int>(t.size(2)), CV_8UC3);
    std::memcpy(out.data, u8.data_ptr(), u8.numel());
    return out;
}

cv::Mat mask_to_image(const torch::Tensor& mask) {
    if (mask.dim() != 2) fail("mask_to_image: expected a [H, W] mask", "[H, W]", c10::str(mask.sizes()));
    auto u8 = (mask.detach().to(torch::kCPU) > 0.5).to(torch::kUInt8).mul(255).contiguous();
    cv::Mat out(static_cast<int>(mask.size(0)), static_cast<int>(mask.size(1)), CV_8UC1);
    std::memcpy(out.data, u8.data_ptr(), u8.numel());
    return out;
}

}  // namespace stablepose
