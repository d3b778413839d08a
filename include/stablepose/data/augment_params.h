// The training augmentation of stable-pose.md §9.1 as settings (AugmentConfig) and one random draw of them
// (AugmentParams), drawn from an RNG derived from (seed, epoch, sample index) alone, so a sample gets the
// same augmentation whatever the number of loader threads or the order they run in. Reference:
// albumentations 1.3.0 defaults of HorizontalFlip, Rotate, SmallestMaxSize, RandomCrop,
// OneOf([HueSaturationValue, RGBShift]), RandomBrightnessContrast, as `ldm/data/dataset_pose.py` composes
// them.
#pragma once

#include <cstdint>
#include <string>

namespace stablepose {

struct AugmentConfig {
    int width = 512;  // training size; both multiples of 64
    int height = 512;
    double flip_p = 0.2;                // HorizontalFlip(p=0.2)
    bool flip_swaps_left_right = true;  // false: the official behaviour (labels stay, limb colours mirror)
    double rotate_p = 0.1;              // Rotate(p=0.1): angle ~ U(-limit, limit), reflect-101 border
    double rotate_limit = 90.0;
    bool random_crop = true;        // false: the deterministic centre crop (evaluation)
    double colour_p = 0.4;          // OneOf([HueSaturationValue(p=.5), RGBShift(p=.5)], p=0.4)
    double hue_shift_limit = 20.0;  // HueSaturationValue defaults (OpenCV's 0..179 hue scale)
    double sat_shift_limit = 30.0;
    double val_shift_limit = 20.0;
    double rgb_shift_limit = 20.0;       // RGBShift defaults, per channel
    double brightness_contrast_p = 0.2;  // RandomBrightnessContrast(p=0.2), brightness_by_max=True
    double brightness_limit = 0.2;
    double contrast_limit = 0.2;
    double text_dropout = 0.5;  // the prompt becomes "" with this probability (official 50%)

    // The official recipe with the left/right swap on flip (our default).
    static AugmentConfig training() { return {}; }
    // Exactly the official training pipeline: flips keep the joint labels.
    static AugmentConfig official_training();
    // Smallest-side resize and a centre crop only; no text dropout.
    static AugmentConfig evaluation();
    // Throws Error for a size that is not a positive multiple of 64 or a probability outside [0, 1].
    void validate() const;
};

enum class ColourShift { none, hsv, rgb };

// One draw: everything the transforms need, so a test (or a replay) can give them by hand.
struct AugmentParams {
    int width = 512;  // output size
    int height = 512;
    bool flip = false;
    double angle = 0.0;  // degrees, counter-clockwise as cv2.getRotationMatrix2D; applied when rotate is set
    bool rotate = false;
    bool centre_crop = false;
    double crop_x = 0.0;  // RandomCrop's w_start / h_start in [0, 1)
    double crop_y = 0.0;
    ColourShift colour = ColourShift::none;
    double hue_shift = 0.0, sat_shift = 0.0, val_shift = 0.0;
    double r_shift = 0.0, g_shift = 0.0, b_shift = 0.0;
    bool brightness_contrast = false;
    double alpha = 1.0;  // contrast: 1 + U(-contrast_limit, contrast_limit)
    double beta = 0.0;   // brightness: U(-brightness_limit, brightness_limit), times 255
    bool drop_text = false;
};

// A 64-bit seed for one sample: SplitMix64 over (seed, epoch, index).
uint64_t sample_seed(uint64_t seed, int64_t epoch, int64_t index);

// Draws every value in a fixed order from a std::mt19937_64 seeded with sample_seed, whether or not the
// transform it belongs to fires, so each decision is independent of the others.
AugmentParams sample_augment_params(const AugmentConfig& config, uint64_t seed, int64_t epoch, int64_t index);

std::string describe(const AugmentParams& params);

}  // namespace stablepose
