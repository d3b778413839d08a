#include "stablepose/data/augment_params.h"

#include <random>
#include <sstream>

#include "stablepose/error.h"

namespace stablepose {
namespace {

uint64_t splitmix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

// U[0, 1) from the top 53 bits: the same on every platform (std::uniform_real_distribution is not).
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }
double uniform(std::mt19937_64& rng, double lo, double hi) { return lo + (hi - lo) * uniform(rng); }

void check_probability(double p, const char* name) {
    if (!(p >= 0.0 && p <= 1.0))
        fail(std::string("augmentation: ") + name + " is not a probability", "a value in [0, 1]",
             std::to_string(p));
}

}  // namespace

AugmentConfig AugmentConfig::official_training() {
    AugmentConfig c;
    c.flip_swaps_left_right = false;
    return c;
}

AugmentConfig AugmentConfig::evaluation() {
    AugmentConfig c;
    c.flip_p = 0.0;
    c.rotate_p = 0.0;
    c.random_crop = false;
    c.colour_p = 0.0;
    c.brightness_contrast_p = 0.0;
    c.text_dropout = 0.0;
    return c;
}

void AugmentConfig::validate() const {
    if (width <= 0 || height <= 0 || width % 64 != 0 || height % 64 != 0)
        fail("augmentation: the training size must be a positive multiple of 64 on both sides",
             "e.g. 512x512 or 512x768", std::to_string(width) + "x" + std::to_string(height),
             "the VAE (8x) and the adapter's pose encoder (64x) need multiples of 64");
    check_probability(flip_p, "flip_p");
    check_probability(rotate_p, "rotate_p");
    check_probability(colour_p, "colour_p");
    check_probability(brightness_contrast_p, "brightness_contrast_p");
    check_probability(text_dropout, "text_dropout");
    if (!(rotate_limit >= 0.0 && rotate_limit <= 180.0))
        fail("augmentation: rotate_limit out of range", "degrees in [0, 180]", std::to_string(rotate_limit));
}

uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index) {
    uint64_t h = splitmix64(seed);
    h = splitmix64(h ^ static_cast<uint64_t>(epoch));
    return splitmix64(h ^ static_cast<uint64_t>(index));
}

AugmentParams sample_augment_params(const AugmentConfig& config, uint64_t seed, int64_t epoch,
                                    int64_t index) {
    config.validate();
    std::mt19937_64 rng(sample_seed(seed, epoch, index));
    AugmentParams p;
    p.width = config.width;
    p.height = config.height;
    p.drop_text = uniform(rng) < config.text_dropout;
    p.flip = uniform(rng) < config.flip_p;
    p.rotate = uniform(rng) < config.rotate_p;
    p.angle = uniform(rng, -config.rotate_limit, config.rotate_limit);
    p.centre_crop = !config.random_crop;
    p.crop_y = uniform(rng);  // albumentations draws h_start first
    p.crop_x = uniform(rng);
    const bool colour = uniform(rng) < config.colour_p;
    const bool hsv = uniform(rng) < 0.5;  // OneOf's choice between two transforms of equal p
    p.colour = !colour ? ColourShift::none : hsv ? ColourShift::hsv : ColourShift::rgb;
    p.hue_shift = uniform(rng, -config.hue_shift_limit, config.hue_shift_limit);
    p.sat_shift = uniform(rng, -config.sat_shift_limit, config.sat_shift_limit);
    p.val_shift = uniform(rng, -config.val_shift_limit, config.val_shift_limit);
    p.r_shift = uniform(rng, -config.rgb_shift_limit, config.rgb_shift_limit);
    p.g_shift = uniform(rng, -config.rgb_shift_limit, config.rgb_shift_limit);
    p.b_shift = uniform(rng, -config.rgb_shift_limit, config.rgb_shift_limit);
    p.brightness_contrast = uniform(rng) < config.brightness_contrast_p;
    p.alpha = 1.0 + uniform(rng, -config.contrast_limit, config.contrast_limit);
    p.beta = uniform(rng, -config.brightness_limit, config.brightness_limit);
    return p;
}

std::string describe(const AugmentParams& p) {
    std::ostringstream s;
    s << p.width << "x" << p.height << (p.flip ? " flip" : "");
    if (p.rotate) s << " rotate " << p.angle;
    if (p.centre_crop)
        s << " centre-crop";
    else
        s << " crop (" << p.crop_x << ", " << p.crop_y << ")";
    if (p.colour == ColourShift::hsv)
        s << " hsv (" << p.hue_shift << ", " << p.sat_shift << ", " << p.val_shift << ")";
    if (p.colour == ColourShift::rgb)
        s << " rgb (" << p.r_shift << ", " << p.g_shift << ", " << p.b_shift << ")";
    if (p.brightness_contrast) s << " contrast " << p.alpha << " brightness " << p.beta;
    if (p.drop_text) s << " no-text";
    return s.str();
}

}  // namespace stablepose
