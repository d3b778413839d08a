// Optional on-disk caches of the frozen encoders' outputs, stored beside the dataset (or in cache.dir) and
// keyed by content hash and model hash, so a changed caption, image or model never reads a stale entry:
//  - text embeddings of the frozen CLIP: always valid (a caption's embedding does not depend on augmentation);
//  - VAE moments (mean and log-variance, before sampling): only valid when the image augmentation is off
//    (train_config.h refuses the latent cache otherwise). The posterior is still sampled every step from the
//    trainer's VAE generator, so a cached run draws the same latents as an uncached one.
// Storage: one safetensors file per entry via eval/feature_cache.h.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <torch/types.h>

#include "stablepose/eval/feature_cache.h"
#include "stablepose/sd/clip_tokenizer.h"
#include "stablepose/sd/frozen_sd.h"

namespace stablepose {

// <dataset folder>/.stablepose-cache when `configured` is empty.
std::filesystem::path training_cache_dir(const std::string& configured, const std::filesystem::path& dataset_source);

class TextEmbeddingCache {
public:
    TextEmbeddingCache(std::filesystem::path dir, std::string model_sha256, TextNormalization normalization);
    // [B, 77, D] float32 on `device`. A miss is encoded alone (so a stored row never depends on the batch it
    // came with) and written.
    torch::Tensor embed(const std::vector<std::string>& captions, TextEncoder& encoder, const ClipTokenizer& tokenizer,
                        const torch::Device& device);
    std::string key(const std::string& caption) const;
    int64_t hits() const { return hits_; }
    int64_t misses() const { return misses_; }

private:
    FeatureCache store_;
    std::string model_sha256_, normalization_;
    int64_t hits_ = 0, misses_ = 0;
};

class LatentCache {
public:
    // width, height: the training size (the centre-cropped image the moments belong to).
    LatentCache(std::filesystem::path dir, std::string model_sha256, int width, int height);
    // images: [B, 3, H, W] in [-1, 1] (the batch, on any device); image_paths: their files (content-hashed).
    // Returns the moments [B, 2 * latent, H/8, W/8] float32 on `device`; misses run the VAE one image at a time.
    torch::Tensor moments(const torch::Tensor& images, const std::vector<std::filesystem::path>& image_paths,
                          VaeEncoder& encoder, const torch::Device& device);
    std::string key(const std::filesystem::path& image);
    int64_t hits() const { return hits_; }
    int64_t misses() const { return misses_; }

private:
    FeatureCache store_;
    std::string model_sha256_;
    int width_, height_;
    std::map<std::filesystem::path, std::string> file_hashes_;
    int64_t hits_ = 0, misses_ = 0;
};

}  // namespace stablepose
