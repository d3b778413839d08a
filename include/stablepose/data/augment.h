// The image and keypoint transforms of stable-pose.md §9.1, in the official order: horizontal flip, rotate,
// smallest-side resize, crop (geometry, keypoints moved with the image), then colour. Each step reproduces
// albumentations 1.3.0 on uint8 RGB images (formulas quoted in docs/data.md):
//   flip      image[:, ::-1];                    x' = (W - 1) - x
//   rotate    cv2.warpAffine(INTER_LINEAR, BORDER_REFLECT_101) with cv2.getRotationMatrix2D(((W-1)/2,
//   (H-1)/2),
//             angle, 1); keypoints through the same matrix
//   resize    scale = max(Wt / W, Ht / H) (= 512 / min(W, H) for the square official size), new size
//             round-half-even(W * scale) x (H * scale), INTER_AREA; x' = x * scale
//   crop      x1 = int((W - Wt + 1) * crop_x) (centre: (W - Wt) / 2); x' = x - x1
// After every geometric step a keypoint outside [0, W) x [0, H) is removed (KeypointParams remove_invisible,
// check_each_transform), as albumentations does.
#pragma once

#include <vector>

#include <opencv2/core.hpp>

#include "stablepose/data/augment_params.h"

namespace stablepose {

struct GeometryResult {
    cv::Mat image;                    // params.height x params.width x 3 uint8 RGB
    std::vector<cv::Point2d> points;  // transformed positions (meaningful where kept)
    std::vector<bool> kept;           // false once a point left the image at some step
};

// image: HxWx3 uint8 RGB; points in its pixels. Throws Error when the resized image is smaller than the
// output (cannot happen for valid params) or the image is empty.
GeometryResult apply_geometry(const cv::Mat& image, const std::vector<cv::Point2d>& points,
                              const AugmentParams& params);

// The colour steps on a uint8 RGB image: OneOf(HueSaturationValue, RGBShift) as params.colour says, then
// RandomBrightnessContrast when params.brightness_contrast. Returns a new image.
cv::Mat apply_colour(const cv::Mat& rgb, const AugmentParams& params);

// The 2x3 rotation matrix albumentations uses for both the image and keypoints (float64).
cv::Mat rotation_matrix(int width, int height, double angle);
// round-half-even, as albumentations' py3round.
int py3round(double x);

}  // namespace stablepose
