#include "stablepose/data/augment.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

void drop_outside(GeometryResult& r) {
    const double w = r.image.cols, h = r.image.rows;
    for (size_t i = 0; i < r.points.size(); ++i) {
        const auto& p = r.points[i];
        if (p.x < 0 || p.x >= w || p.y < 0 || p.y >= h) r.kept[i] = false;
    }
}

// A LUT as albumentations builds it, applied with cv::LUT to one channel.
cv::Mat lut_from(const std::vector<uint8_t>& table) {
    return cv::Mat(1, 256, CV_8U, const_cast<uint8_t*>(table.data())).clone();
}

// np.clip(np.arange(256, dtype=int16) + shift, 0, 255).astype(uint8): float64 arithmetic, truncation.
std::vector<uint8_t> clip_shift_lut(double shift) {
    std::vector<uint8_t> t(256);
    for (int i = 0; i < 256; ++i) t[i] = static_cast<uint8_t>(std::clamp(i + shift, 0.0, 255.0));
    return t;
}

cv::Mat shift_hsv(const cv::Mat& rgb, double hue_shift, double sat_shift, double val_shift) {
    if (hue_shift == 0 && sat_shift == 0 && val_shift == 0) return rgb.clone();
    cv::Mat hsv;
    cv::cvtColor(rgb, hsv, cv::COLOR_RGB2HSV);
    std::vector<cv::Mat> ch;
    cv::split(hsv, ch);
    if (hue_shift != 0) {
        std::vector<uint8_t> t(256);
        for (int i = 0; i < 256; ++i) {  // np.mod(i + shift, 180): the divisor's sign, as numpy's float mod
            double m = std::fmod(i + hue_shift, 180.0);
            if (m != 0 && m < 0) m += 180.0;
            t[i] = static_cast<uint8_t>(m);
        }
        cv::LUT(ch[0], lut_from(t), ch[0]);
    }
    if (sat_shift != 0) cv::LUT(ch[1], lut_from(clip_shift_lut(sat_shift)), ch[1]);
    if (val_shift != 0) cv::LUT(ch[2], lut_from(clip_shift_lut(val_shift)), ch[2]);
    cv::merge(ch, hsv);
    cv::Mat out;
    cv::cvtColor(hsv, out, cv::COLOR_HSV2RGB);
    return out;
}

// lut = arange(256).astype(float32); lut += shift (float32); clip; astype(uint8).
std::vector<uint8_t> float32_shift_lut(double shift) {
    std::vector<uint8_t> t(256);
    for (int i = 0; i < 256; ++i)
        t[i] =
            static_cast<uint8_t>(std::clamp(static_cast<float>(i) + static_cast<float>(shift), 0.0f, 255.0f));
    return t;
}

cv::Mat shift_rgb(const cv::Mat& rgb, double r, double g, double b) {
    std::vector<cv::Mat> ch;
    cv::split(rgb, ch);
    const double shifts[3] = {r, g, b};
    for (int c = 0; c < 3; ++c) cv::LUT(ch[c], lut_from(float32_shift_lut(shifts[c])), ch[c]);
    cv::Mat out;
    cv::merge(ch, out);
    return out;
}

// _brightness_contrast_adjust_uint with beta_by_max: float32 lut *= alpha; lut += beta * 255; clip; uint8.
cv::Mat brightness_contrast(const cv::Mat& rgb, double alpha, double beta) {
    std::vector<uint8_t> t(256);
    for (int i = 0; i < 256; ++i) {
        float v = static_cast<float>(i);
        if (alpha != 1) v *= static_cast<float>(alpha);
        if (beta != 0) v += static_cast<float>(beta * 255.0);
        t[i] = static_cast<uint8_t>(std::clamp(v, 0.0f, 255.0f));
    }
    cv::Mat out;
    cv::LUT(rgb, lut_from(t), out);
    return out;
}

}  // namespace

int py3round(double x) { return static_cast<int>(std::nearbyint(x)); }

cv::Mat rotation_matrix(int width, int height, double angle) {
    // (W / 2 - 0.5, H / 2 - 0.5) for the image and ((W - 1) * 0.5, (H - 1) * 0.5) for keypoints: the same
    // point.
    return cv::getRotationMatrix2D(
        cv::Point2f(static_cast<float>((width - 1) * 0.5), static_cast<float>((height - 1) * 0.5)), angle,
        1.0);
}

GeometryResult apply_geometry(const cv::Mat& image, const std::vector<cv::Point2d>& points,
                              const AugmentParams& params) {
    if (image.empty() || image.type() != CV_8UC3)
        fail("augmentation: the image must be a non-empty 8-bit RGB image", "HxWx3 uint8",
             image.empty() ? "an empty image" : "OpenCV type " + std::to_string(image.type()));
    GeometryResult r{image, points, std::vector<bool>(points.size(), true)};
    drop_outside(r);
    if (params.flip) {
        cv::Mat flipped;
        cv::flip(r.image, flipped, 1);
        r.image = flipped;
        for (auto& p : r.points) p.x = (r.image.cols - 1) - p.x;
        drop_outside(r);
    }
    if (params.rotate) {
        const cv::Mat m = rotation_matrix(r.image.cols, r.image.rows, params.angle);
        cv::Mat rotated;
        cv::warpAffine(r.image, rotated, m, r.image.size(), cv::INTER_LINEAR, cv::BORDER_REFLECT_101);
        r.image = rotated;
        const auto* a = m.ptr<double>(0);
        const auto* b = m.ptr<double>(1);
        for (auto& p : r.points) p = {a[0] * p.x + a[1] * p.y + a[2], b[0] * p.x + b[1] * p.y + b[2]};
        drop_outside(r);
    }
    const double scale = std::max(static_cast<double>(params.width) / r.image.cols,
                                  static_cast<double>(params.height) / r.image.rows);
    if (scale != 1.0) {
        const cv::Size size(py3round(r.image.cols * scale), py3round(r.image.rows * scale));
        cv::Mat resized;
        cv::resize(r.image, resized, size, 0, 0, cv::INTER_AREA);
        r.image = resized;
        for (auto& p : r.points) p *= scale;
        drop_outside(r);
    }
    if (r.image.cols < params.width || r.image.rows < params.height)
        fail("augmentation: the resized image is smaller than the crop",
             std::to_string(params.width) + "x" + std::to_string(params.height),
             std::to_string(r.image.cols) + "x" + std::to_string(r.image.rows));
    const int x1 = params.centre_crop ? (r.image.cols - params.width) / 2
                                      : static_cast<int>((r.image.cols - params.width + 1) * params.crop_x);
    const int y1 = params.centre_crop ? (r.image.rows - params.height) / 2
                                      : static_cast<int>((r.image.rows - params.height + 1) * params.crop_y);
    r.image = r.image(cv::Rect(x1, y1, params.width, params.height)).clone();
    for (auto& p : r.points) p -= cv::Point2d(x1, y1);
    drop_outside(r);
    return r;
}

cv::Mat apply_colour(const cv::Mat& rgb, const AugmentParams& params) {
    cv::Mat out = rgb;
    if (params.colour == ColourShift::hsv)
        out = shift_hsv(out, params.hue_shift, params.sat_shift, params.val_shift);
    else if (params.colour == ColourShift::rgb)
        out = shift_rgb(out, params.r_shift, params.g_shift, params.b_shift);
    if (params.brightness_contrast) out = brightness_contrast(out, params.alpha, params.beta);
    return out.data == rgb.data ? rgb.clone() : out;
}

}  // namespace stablepose
