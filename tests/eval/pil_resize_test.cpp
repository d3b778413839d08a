// Pillow's BILINEAR resize and torchvision's Resize(299) + CenterCrop(299), bit for bit against the libraries
// (tests/reference/make_metrics_golden.py): shrinking, enlarging, one axis only, a 1-pixel output, odd crops.
#include <opencv2/core.hpp>

#include "stablepose/eval/pil_resize.h"
#include "test_util.h"

namespace stablepose {
namespace {

cv::Mat to_mat(const torch::Tensor& hwc) {
    const auto t = hwc.contiguous();
    return cv::Mat(static_cast<int>(t.size(0)), static_cast<int>(t.size(1)), CV_8UC3, t.data_ptr()).clone();
}

torch::Tensor to_tensor(const cv::Mat& m) {
    return torch::from_blob(m.data, {m.rows, m.cols, 3}, torch::kUInt8).clone();
}

std::string differences(const torch::Tensor& ours, const torch::Tensor& reference) {
    if (!ours.sizes().equals(reference.sizes()))
        return "shape " + c10::str(ours.sizes()) + " vs " + c10::str(reference.sizes());
    const auto diff = (ours.to(torch::kInt32) - reference.to(torch::kInt32)).abs();
    return std::to_string(diff.gt(0).sum().item<int64_t>()) + " values differ, by up to " +
           std::to_string(diff.max().item<int>());
}

TEST(PilResize, BilinearMatchesPillowBitForBit) {
    const int cases = 8;
    for (int i = 0; i < cases; ++i) {
        const auto key = "pil_resize." + std::to_string(i) + ".";
        const auto input = to_mat(testing::golden("metrics", key + "input"));
        const auto want = testing::golden("metrics", key + "resized");
        const auto ours = to_tensor(
            pil_bilinear_resize(input, static_cast<int>(want.size(1)), static_cast<int>(want.size(0))));
        EXPECT_TRUE(torch::equal(ours, want))
            << "case " << i << " (" << input.rows << "x" << input.cols << " -> " << want.size(0) << "x"
            << want.size(1) << "): " << differences(ours, want);
    }
}

TEST(PilResize, ResizeAndCenterCropMatchTorchvisionBitForBit) {
    for (int i = 0; i < 8; ++i) {
        const auto key = "pil_resize." + std::to_string(i) + ".";
        const auto input = to_mat(testing::golden("metrics", key + "input"));
        const auto want = testing::golden("metrics", key + "resize_crop_299");
        const auto ours = to_tensor(torchvision_resize_center_crop(input, 299));
        EXPECT_TRUE(torch::equal(ours, want))
            << "case " << i << " (" << input.rows << "x" << input.cols << "): " << differences(ours, want);
    }
}

TEST(PilResize, BadInputsAreRefused) {
    const cv::Mat grey(4, 4, CV_8UC1, cv::Scalar(0));
    EXPECT_NE(testing::error_of([&] { pil_bilinear_resize(grey, 2, 2); }).find("8-bit RGB"),
              std::string::npos);
    const cv::Mat rgb(4, 4, CV_8UC3, cv::Scalar(0, 0, 0));
    EXPECT_NE(testing::error_of([&] { pil_bilinear_resize(rgb, 0, 2); }).find("bad output size"),
              std::string::npos);
}

}  // namespace
}  // namespace stablepose
