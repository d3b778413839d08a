// Per-image-set feature cache: the Inception features of a set, stored as safetensors under a key made of the
// file list, each file's content hash, the network's sha256 and the preprocessing, so comparing a second run
// against the same reference set does not run the network on the reference images again.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>

#include <torch/types.h>

#include "stablepose/eval/image_set.h"

namespace stablepose {

class FeatureCache {
public:
    explicit FeatureCache(std::filesystem::path dir) : dir_(std::move(dir)) {}

    // $STABLEPOSE_CACHE_DIR, else $XDG_CACHE_HOME/stablepose/features, else ~/.cache/stablepose/features.
    static std::filesystem::path default_dir();

    // sha256 over a format tag, `model_sha256`, `preprocessing`, and for every image (in set order) its path
    // relative to the set's root and the sha256 of its bytes. Reads every file (throws Error for a missing one).
    static std::string key(const ImageSet& set, const std::string& model_sha256, const std::string& preprocessing);

    // The tensors stored under `key`, or nothing when absent. A file that cannot be read is reported and treated
    // as absent (it is rewritten by the next store).
    std::optional<std::map<std::string, torch::Tensor>> load(const std::string& key) const;
    // Writes <dir>/<key>.safetensors atomically.
    void store(const std::string& key, const std::map<std::string, torch::Tensor>& tensors,
               const std::map<std::string, std::string>& metadata) const;

    std::filesystem::path path(const std::string& key) const { return dir_ / (key + ".safetensors"); }
    const std::filesystem::path& dir() const { return dir_; }

private:
    std::filesystem::path dir_;
};

}  // namespace stablepose
