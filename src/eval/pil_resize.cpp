#include "stablepose/eval/pil_resize.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

#include "stablepose/error.h"

namespace stablepose {
namespace {

constexpr int kPrecisionBits = 32 - 8 - 2;  // Pillow: 8 bits of result, 2 bits of headroom

// Per output index: the first input index, the number of inputs, and their fixed-point weights (ksize slots).
struct ResampleCoefficients {
    int ksize = 0;
    std::vector<int> first, count;
    std::vector<int32_t> weights;  // [out][ksize]
};

double triangle(double x) {
    x = std::abs(x);
    return x < 1.0 ? 1.0 - x : 0.0;
}

ResampleCoefficients bilinear_coefficients(int in_size, int out_size) {
    const double scale = static_cast<double>(in_size) / out_size;
    const double filter_scale = std::max(scale, 1.0);
    const double support = 1.0 * filter_scale;  // the bilinear filter's support is 1
    ResampleCoefficients c;
    c.ksize = static_cast<int>(std::ceil(support)) * 2 + 1;
    c.first.resize(out_size);
    c.count.resize(out_size);
    c.weights.assign(static_cast<size_t>(out_size) * c.ksize, 0);
    std::vector<double> w(c.ksize);
    for (int o = 0; o < out_size; ++o) {
        const double center = (o + 0.5) * scale;
        const int lo = std::max(static_cast<int>(center - support + 0.5), 0);  // C casts truncate toward zero
        const int n = std::min(static_cast<int>(center + support + 0.5), in_size) - lo;
        double total = 0.0;
        const double ss =
            1.0 / filter_scale;  // multiplied, as Pillow does (a division can round differently)
        for (int i = 0; i < n; ++i) total += (w[i] = triangle((i + lo - center + 0.5) * ss));
        for (int i = 0; i < n; ++i) {
            const double v = total != 0.0 ? w[i] / total : w[i];
            const double fixed = v * static_cast<double>(1 << kPrecisionBits);
            c.weights[static_cast<size_t>(o) * c.ksize + i] =
                static_cast<int32_t>(v < 0 ? fixed - 0.5 : fixed + 0.5);
        }
        c.first[o] = lo;
        c.count[o] = n;
    }
    return c;
}

uint8_t clip8(int32_t sum) { return static_cast<uint8_t>(std::clamp(sum >> kPrecisionBits, 0, 255)); }

// One pass along x (horizontal) or y (vertical) of an 8-bit RGB image.
cv::Mat resample_pass(const cv::Mat& in, int out_size, bool horizontal) {
    const int in_size = horizontal ? in.cols : in.rows;
    const auto c = bilinear_coefficients(in_size, out_size);
    cv::Mat out(horizontal ? in.rows : out_size, horizontal ? out_size : in.cols, CV_8UC3);
    for (int y = 0; y < out.rows; ++y)
        for (int x = 0; x < out.cols; ++x) {
            const int o = horizontal ? x : y;
            const int32_t* k = &c.weights[static_cast<size_t>(o) * c.ksize];
            int32_t sum[3] = {1 << (kPrecisionBits - 1), 1 << (kPrecisionBits - 1),
                              1 << (kPrecisionBits - 1)};
            for (int i = 0; i < c.count[o]; ++i) {
                const auto& p =
                    horizontal ? in.at<cv::Vec3b>(y, c.first[o] + i) : in.at<cv::Vec3b>(c.first[o] + i, x);
                for (int ch = 0; ch < 3; ++ch) sum[ch] += static_cast<int32_t>(p[ch]) * k[i];
            }
            out.at<cv::Vec3b>(y, x) = cv::Vec3b(clip8(sum[0]), clip8(sum[1]), clip8(sum[2]));
        }
    return out;
}

// Python's round(): half to even (std::nearbyint in the default rounding mode, as data/augment's py3round).
int round_half_even(double v) { return static_cast<int>(std::nearbyint(v)); }

}  // namespace

cv::Mat pil_bilinear_resize(const cv::Mat& rgb, int width, int height) {
    if (rgb.type() != CV_8UC3 || rgb.empty())
        fail("pil_bilinear_resize: expected an 8-bit RGB image", "CV_8UC3",
             "OpenCV type " + std::to_string(rgb.type()));
    if (width < 1 || height < 1)
        fail("pil_bilinear_resize: bad output size", "width and height >= 1",
             std::to_string(width) + "x" + std::to_string(height));
    cv::Mat out = rgb;
    if (width != out.cols) out = resample_pass(out, width, /*horizontal=*/true);
    if (height != out.rows) out = resample_pass(out, height, /*horizontal=*/false);
    return out.data == rgb.data ? rgb.clone() : out;
}

cv::Mat torchvision_resize_center_crop(const cv::Mat& rgb, int size) {
    if (size < 1) fail("torchvision_resize_center_crop: bad size", ">= 1", std::to_string(size));
    const int w = rgb.cols, h = rgb.rows;
    const int short_side = std::min(w, h), long_side = std::max(w, h);
    const int new_long = static_cast<int>(static_cast<double>(size) * long_side / short_side);
    const int new_w = w <= h ? size : new_long, new_h = w <= h ? new_long : size;
    const cv::Mat resized = pil_bilinear_resize(rgb, new_w, new_h);
    const int top = round_half_even((new_h - size) / 2.0), left = round_half_even((new_w - size) / 2.0);
    return resized(cv::Rect(left, top, size, size)).clone();
}

}  // namespace stablepose
