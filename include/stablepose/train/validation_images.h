// Fixed-seed validation images during training: the first N dataset samples with the evaluation transform
// (smallest-side resize + centre crop, no text dropout), sampled through the SamplingPipeline with a copy of
// the adapter's current weights, written as RUN/validation/step-NNNNNNNN/NN.png (+ skeleton NN_pose.png).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <torch/types.h>

#include "stablepose/data/dataset.h"
#include "stablepose/data/training_example.h"
#include "stablepose/nn/adapter_file.h"
#include "stablepose/pose/pose_condition_config.h"
#include "stablepose/sd/clip_tokenizer.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/train/train_config.h"

namespace stablepose {

struct ValidationSet {
    std::vector<torch::Tensor> skeletons;  // [3, H, W] in [-1, 1]
    std::vector<std::string> prompts;
    std::vector<int64_t> seeds;
};

ValidationSet make_validation_set(const Dataset& dataset, const ExampleOptions& training_options, const LogConfig& log,
                                  uint64_t seed);

// Returns the files written.
std::vector<std::filesystem::path> write_validation_images(const FrozenStableDiffusion& sd,
                                                           const StablePoseAdapter& adapter, ConditionRange range,
                                                           const ClipTokenizer& tokenizer,
                                                           const PoseConditionConfig& pose_condition,
                                                           const ValidationSet& set, const LogConfig& log,
                                                           const std::filesystem::path& out_dir);

}  // namespace stablepose
