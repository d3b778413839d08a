// One training example as the official loader yields it (stable-pose.md §11.3): the augmented image, the
// skeleton drawn after augmentation, the 10x17x3 pose, the pose masks, and the (possibly dropped) caption.
// Reference: HumanSD / Stable-Pose `ldm/data/dataset_pose.py::__getitem__`, `StablePose.get_input` (masks).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>
#include <opencv2/core.hpp>

#include "stablepose/data/augment.h"
#include "stablepose/data/augment_params.h"
#include "stablepose/data/dataset_sample.h"
#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/pose/pose_masks.h"
#include "stablepose/pose/skeleton_renderer.h"

namespace stablepose {

struct TrainingExample {
    torch::Tensor image;  // [3, H, W] float32 in [-1, 1] (img / 255 * 2 - 1)
    torch::Tensor hint;   // [3, H, W] float32 in [-1, 1]: the skeleton drawn after augmentation
    torch::Tensor pose;   // [max_people, J, 3] float32 in output pixels; missing joints (-1, -1, 0)
    torch::Tensor masks;  // [K, H / 8, W / 8] float32 0/1, one per Gaussian kernel (§6.1)
    std::string caption;  // "" when the text was dropped
    std::filesystem::path image_path;
    std::filesystem::path pose_path;  // empty for inline people
    AugmentParams params;
};

struct ExampleOptions {
    AugmentConfig augment;
    SkeletonStyle style;                                // threshold 0.02, 10 people, line width 10
    PoseMaskConfig masks = PoseMaskConfig::training();  // training threshold (> -1)
    const KeypointSchema* schema = nullptr;             // nullptr: COCO-17
};

// The official keypoint handling around the augmentation, for `pose` (people of an image of size w x h):
// 1. the first max_people people; a joint outside [0, w) x [0, h) is moved to (0, 0) (confidence kept);
//    empty slots are (0, 0, 0). Returns the max_people * J points the geometry transforms.
std::vector<cv::Point2d> official_keypoints_before(const Pose& pose, int max_people, int num_joints);
// 2. after the geometry: a joint that was kept and whose original confidence is > threshold gets
//    (x', y', confidence), every other joint (-1, -1, 0); with `flip_permutation` (non-empty when the image
//    was flipped and labels are swapped) joint j takes the values of joint perm[j].
//    Returns [max_people, J, 3] float32.
torch::Tensor official_pose_after(const Pose& pose, const GeometryResult& geometry, int max_people,
                                  int num_joints, float threshold, const std::vector<int>& flip_permutation);

// The example for a decoded image and its people with explicit params (what tests and replays use).
TrainingExample augment_example(const cv::Mat& rgb, const Pose& pose, const std::string& caption,
                                const AugmentParams& params, const ExampleOptions& options = {});

// Reads the sample's image and people, draws the params from (seed, epoch, index) and augments: the same
// inputs give the same bytes in any thread and any order. Throws Error naming the file for a missing or
// corrupt image or pose file, or an image whose size differs from the one its annotations record.
TrainingExample make_training_example(const DatasetSample& sample, const ExampleOptions& options,
                                      uint64_t seed, int64_t epoch, int64_t index);

}  // namespace stablepose
