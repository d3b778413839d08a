// Procedural background textures for the toy world (hand-built: gradients, value noise, OpenCV strokes).
#include "stablepose/toyworld/background.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"
#include "stablepose/toyworld/random.h"

namespace stablepose::toyworld {
namespace {

constexpr double kTwoPi = 2.0 * std::numbers::pi;
using Texel = cv::Vec3f;  // RGB, 0..255, float while composing

// Smooth value noise in [-1, 1]: a cells x cells random grid, bicubically enlarged.
cv::Mat value_noise(int width, int height, int cells, Random& rng) {
    cv::Mat grid(cells, cells, CV_32F);
    for (int y = 0; y < cells; ++y)
        for (int x = 0; x < cells; ++x) grid.at<float>(y, x) = static_cast<float>(rng.uniform(-1, 1));
    cv::Mat out;
    cv::resize(grid, out, cv::Size(width, height), 0, 0, cv::INTER_CUBIC);
    return out;
}

// Adds per-pixel grain of +-amplitude and the noise field times `tint`, then converts to 8-bit.
cv::Mat finish(cv::Mat& img, const cv::Mat& noise, const Texel& tint, double grain, Random& rng) {
    for (int y = 0; y < img.rows; ++y)
        for (int x = 0; x < img.cols; ++x) {
            const float g = static_cast<float>(rng.uniform(-grain, grain));
            img.at<Texel>(y, x) += tint * noise.at<float>(y, x) + Texel(g, g, g);
        }
    cv::Mat out;
    img.convertTo(out, CV_8UC3);  // saturating
    return out;
}

cv::Mat vertical_gradient(int w, int h, const Texel& top, const Texel& bottom) {
    cv::Mat img(h, w, CV_32FC3);
    for (int y = 0; y < h; ++y) {
        const float t = h > 1 ? static_cast<float>(y) / (h - 1) : 0.0f;
        img.row(y).setTo(cv::Scalar(top * (1 - t) + bottom * t));
    }
    return img;
}

cv::Mat sky(int w, int h, Random& rng) {
    cv::Mat img = vertical_gradient(w, h, {60, 120, 210}, {175, 210, 245});
    cv::Mat clouds = cv::Mat::zeros(h, w, CV_32F);
    const int n = rng.uniform_int(2, 4);
    for (int c = 0; c < n; ++c) {
        const cv::Point2d centre(rng.uniform(0, w), rng.uniform(0.05, 0.7) * h);
        for (int puff = 0; puff < 5; ++puff) {
            const cv::Point p(static_cast<int>(centre.x + rng.uniform(-0.12, 0.12) * w),
                              static_cast<int>(centre.y + rng.uniform(-0.03, 0.03) * h));
            const int r = std::max(2, static_cast<int>(rng.uniform(0.04, 0.08) * w));
            cv::ellipse(clouds, p, cv::Size(r * 3 / 2, r), 0, 0, 360, cv::Scalar(1.0), cv::FILLED, cv::LINE_AA);
        }
    }
    cv::GaussianBlur(clouds, clouds, cv::Size(0, 0), 0.015 * w + 0.5);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const float a = std::min(1.0f, clouds.at<float>(y, x)) * 0.9f;
            img.at<Texel>(y, x) = img.at<Texel>(y, x) * (1 - a) + Texel(250, 250, 252) * a;
        }
    return finish(img, value_noise(w, h, 4, rng), {4, 4, 6}, 2, rng);
}

// Wind ripples across a base colour: brightness waves along a wavy horizontal line.
cv::Mat rippled(int w, int h, const Texel& base, double amplitude, double period, double grain, Random& rng) {
    cv::Mat img(h, w, CV_32FC3);
    const double phase = rng.uniform(0, kTwoPi), wobble = rng.uniform(1.5, 3.0);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const double yy = y + 0.03 * h * std::sin(kTwoPi * wobble * x / w + phase);
            const float s = static_cast<float>(amplitude * std::sin(kTwoPi * yy / (period * h)));
            img.at<Texel>(y, x) = base + Texel(s, s, s);
        }
    return finish(img, value_noise(w, h, 6, rng), base * 0.08f, grain, rng);
}

cv::Mat grassy(int w, int h, Random& rng) {
    cv::Mat img(h, w, CV_32FC3, cv::Scalar(70, 135, 50));
    cv::Mat noise = value_noise(w, h, 6, rng);
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) img.at<Texel>(y, x) += Texel(10, 25, 8) * noise.at<float>(y, x);
    const int blades = w * h / 30;
    const int thickness = std::max(1, w / 160);
    for (int i = 0; i < blades; ++i) {
        const cv::Point a(rng.uniform_int(0, w - 1), rng.uniform_int(0, h - 1));
        const double len = rng.uniform(0.02, 0.05) * h;
        const cv::Point b(a.x + static_cast<int>(rng.uniform(-0.4, 0.4) * len), a.y - static_cast<int>(len));
        const double g = rng.uniform(-1, 1);
        cv::line(img, a, b, cv::Scalar(60 + 25 * g, 140 + 40 * g, 40 + 15 * g), thickness, cv::LINE_AA);
    }
    return finish(img, value_noise(w, h, 3, rng), {0, 0, 0}, 6, rng);
}

cv::Mat snowy(int w, int h, Random& rng) {
    cv::Mat img = rippled(w, h, {232, 238, 248}, 6, 0.35, 2, rng);
    cv::Mat f;
    img.convertTo(f, CV_32FC3);
    const int flakes = w * h / 250;
    for (int i = 0; i < flakes; ++i) {
        const cv::Point p(rng.uniform_int(0, w - 1), rng.uniform_int(0, h - 1));
        const int r = std::max(1, static_cast<int>(rng.uniform(0.004, 0.012) * w));
        const float tone = static_cast<float>(rng.uniform(-1, 1));
        const cv::Scalar colour = tone > 0 ? cv::Scalar(255, 255, 255) : cv::Scalar(190, 205, 225);
        cv::circle(f, p, r, colour, cv::FILLED, cv::LINE_AA);
    }
    cv::Mat out;
    f.convertTo(out, CV_8UC3);
    return out;
}

// Rows of rectangular cells with mortar/grout lines; `cell_colour` gives each cell its colour.
template <class CellColour>
cv::Mat masonry(int w, int h, int rows, int columns, bool staggered, const Texel& mortar, double mortar_width,
                CellColour cell_colour, Random& rng) {
    cv::Mat img(h, w, CV_32FC3, cv::Scalar(mortar));
    const double cell_h = static_cast<double>(h) / rows, cell_w = static_cast<double>(w) / columns;
    const double gap = std::max(1.0, mortar_width * w);
    for (int r = 0; r < rows; ++r) {
        const double shift = staggered && r % 2 == 1 ? -cell_w / 2 : 0.0;
        for (int c = 0; c <= columns; ++c) {
            const cv::Point2d p0(c * cell_w + shift + gap / 2, r * cell_h + gap / 2);
            const cv::Point2d p1(p0.x + cell_w - gap, p0.y + cell_h - gap);
            cv::rectangle(img, cv::Point(cvRound(p0.x), cvRound(p0.y)), cv::Point(cvRound(p1.x), cvRound(p1.y)),
                          cv::Scalar(cell_colour(r, c)), cv::FILLED, cv::LINE_AA);
        }
    }
    return img;
}

cv::Mat brick(int w, int h, Random& rng) {
    cv::Mat img = masonry(w, h, 10, 5, true, {205, 198, 185}, 0.012,
                          [&](int, int) {
                              const float v = static_cast<float>(rng.uniform(-1, 1));
                              return Texel(165 + 20 * v, 70 + 12 * v, 50 + 8 * v);
                          },
                          rng);
    return finish(img, value_noise(w, h, 8, rng), {8, 5, 4}, 7, rng);
}

cv::Mat tiled(int w, int h, Random& rng) {
    const Texel light(228, 226, 218), dark(110, 125, 150);
    cv::Mat img = masonry(w, h, 8, 8, false, {170, 170, 165}, 0.008,
                          [&](int r, int c) { return (r + c) % 2 == 0 ? light : dark; }, rng);
    return finish(img, value_noise(w, h, 5, rng), {5, 5, 5}, 3, rng);
}

cv::Mat wooden(int w, int h, Random& rng) {
    const int planks = 6;
    cv::Mat img(h, w, CV_32FC3);
    std::vector<Texel> tone(planks);
    std::vector<double> phase(planks);
    for (int p = 0; p < planks; ++p) {
        const float v = static_cast<float>(rng.uniform(-1, 1));
        tone[p] = Texel(150 + 18 * v, 100 + 12 * v, 60 + 8 * v);
        phase[p] = rng.uniform(0, kTwoPi);
    }
    const double plank_h = static_cast<double>(h) / planks;
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const int p = std::min(planks - 1, static_cast<int>(y / plank_h));
            const double local = (y - p * plank_h) / plank_h;
            const double grain = std::sin(kTwoPi * (6.0 * local + 0.6 * std::sin(kTwoPi * x / w * 1.5 + phase[p])));
            const float s = static_cast<float>(14 * grain);
            const bool seam = local * plank_h < std::max(1.0, 0.01 * h);
            img.at<Texel>(y, x) = seam ? Texel(70, 45, 28) : tone[p] + Texel(s, s * 0.7f, s * 0.45f);
        }
    return finish(img, value_noise(w, h, 6, rng), {6, 4, 3}, 4, rng);
}

}  // namespace

const std::vector<std::string>& background_names() {
    static const std::vector<std::string> names{"sandy", "grassy", "snowy", "brick", "sky", "wooden", "tiled"};
    return names;
}

cv::Mat render_background(const std::string& name, int width, int height, Random& rng) {
    if (name == "sandy") return rippled(width, height, {218, 190, 138}, 9, 0.08, 7, rng);
    if (name == "grassy") return grassy(width, height, rng);
    if (name == "snowy") return snowy(width, height, rng);
    if (name == "brick") return brick(width, height, rng);
    if (name == "sky") return sky(width, height, rng);
    if (name == "wooden") return wooden(width, height, rng);
    if (name == "tiled") return tiled(width, height, rng);
    std::string known;
    for (const auto& n : background_names()) known += (known.empty() ? "" : ", ") + n;
    fail("unknown toy-world background '" + name + "'", "one of " + known, name);
}

}  // namespace stablepose::toyworld
