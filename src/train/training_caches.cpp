// Text-embedding and VAE-moment caches for training (training_caches.h).
#include "stablepose/train/training_caches.h"

#include <functional>

#include "stablepose/io/sha256.h"

namespace stablepose {

namespace fs = std::filesystem;

namespace {

// The tensor stored under `key`, or compute() stored there first; counts the hit or miss.
torch::Tensor load_or_store(const FeatureCache& store, const std::string& key, const std::string& name,
                            const std::map<std::string, std::string>& metadata,
                            const std::function<torch::Tensor()>& compute, int64_t& hits, int64_t& misses) {
    if (auto hit = store.load(key); hit && hit->count(name)) {
        ++hits;
        return hit->at(name);
    }
    ++misses;
    torch::NoGradGuard no_grad;
    auto value = compute().to(torch::kCPU).contiguous();
    store.store(key, {{name, value}}, metadata);
    return value;
}

}  // namespace

fs::path training_cache_dir(const std::string& configured, const fs::path& dataset_source) {
    if (!configured.empty()) return configured;
    return dataset_source.parent_path() / ".stablepose-cache";
}

TextEmbeddingCache::TextEmbeddingCache(fs::path dir, std::string model_sha256, TextNormalization normalization)
    : store_(std::move(dir)), model_sha256_(std::move(model_sha256)),
      normalization_(normalization == TextNormalization::ftfy ? "ftfy" : "transformers") {}

std::string TextEmbeddingCache::key(const std::string& caption) const {
    return sha256_hex("stablepose.text-embedding/1\n" + model_sha256_ + "\n" + normalization_ + "\n" + caption);
}

torch::Tensor TextEmbeddingCache::embed(const std::vector<std::string>& captions, TextEncoder& encoder,
                                        const ClipTokenizer& tokenizer, const torch::Device& device) {
    std::vector<torch::Tensor> rows;
    for (const auto& caption : captions)
        rows.push_back(load_or_store(
            store_, key(caption), "embedding", {{"caption", caption}},
            [&] { return encoder.encode(tokenizer.encode_batch({caption})).squeeze(0); }, hits_, misses_));
    return torch::stack(rows).to(device);
}

LatentCache::LatentCache(fs::path dir, std::string model_sha256, int width, int height)
    : store_(std::move(dir)), model_sha256_(std::move(model_sha256)), width_(width), height_(height) {}

std::string LatentCache::key(const fs::path& image) {
    auto it = file_hashes_.find(image);
    if (it == file_hashes_.end()) it = file_hashes_.emplace(image, sha256_file(image)).first;
    return sha256_hex("stablepose.vae-moments/1\n" + model_sha256_ + "\n" + std::to_string(width_) + "x" +
                      std::to_string(height_) + " centre crop\n" + it->second);
}

torch::Tensor LatentCache::moments(const torch::Tensor& images, const std::vector<fs::path>& image_paths,
                                   VaeEncoder& encoder, const torch::Device& device) {
    std::vector<torch::Tensor> rows;
    for (int64_t i = 0; i < images.size(0); ++i) {
        const auto& path = image_paths.at(static_cast<size_t>(i));
        rows.push_back(load_or_store(
            store_, key(path), "moments", {{"image", path.string()}},
            [&] { return encoder.moments(images.narrow(0, i, 1).to(device)).squeeze(0); }, hits_, misses_));
    }
    return torch::stack(rows).to(device);
}

}  // namespace stablepose
