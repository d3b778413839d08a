#include "stablepose/eval/feature_cache.h"

#include <cstdlib>
#include <string_view>

#include <cstdio>

#include "stablepose/error.h"
#include "stablepose/io/safetensors.h"
#include "stablepose/io/sha256.h"

namespace stablepose {
namespace fs = std::filesystem;

namespace {
constexpr const char* kCacheFormat = "stablepose.feature-cache.v1";
}

fs::path FeatureCache::default_dir() {
    if (const char* d = std::getenv("STABLEPOSE_CACHE_DIR"); d && *d) return fs::path(d);
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d) return fs::path(d) / "stablepose" / "features";
    if (const char* d = std::getenv("HOME"); d && *d) return fs::path(d) / ".cache" / "stablepose" / "features";
    return fs::temp_directory_path() / "stablepose-features";
}

std::string FeatureCache::key(const ImageSet& set, const std::string& model_sha256, const std::string& preprocessing) {
    std::string text;
    for (const std::string_view part : {std::string_view(kCacheFormat), std::string_view(model_sha256),
                                        std::string_view(preprocessing)})
        (text += part) += '\n';
    for (size_t i = 0; i < set.size(); ++i) {
        if (!fs::is_regular_file(set.files[i]))
            fail("image not found: '" + set.files[i].string() + "'", "every image of the set to exist", "no such file",
                 set.manifest.empty() ? "" : "check the paths in " + set.manifest.string());
        text += set.relative(i) + "\t" + sha256_file(set.files[i]) + "\n";
    }
    return sha256_hex(text);
}

std::optional<std::map<std::string, torch::Tensor>> FeatureCache::load(const std::string& key) const {
    const auto file = path(key);
    if (!fs::is_regular_file(file)) return std::nullopt;
    try {
        auto st = read_safetensors(file);
        if (st.metadata["format"] != kCacheFormat || st.metadata["key"] != key) {
            std::fprintf(stderr, "ignoring feature cache %s: written by another version\n", file.string().c_str());
            return std::nullopt;
        }
        return std::move(st.tensors);
    } catch (const Error& e) {
        std::fprintf(stderr, "ignoring unreadable feature cache %s: %s\n", file.string().c_str(), e.what());
        return std::nullopt;
    }
}

void FeatureCache::store(const std::string& key, const std::map<std::string, torch::Tensor>& tensors,
                         const std::map<std::string, std::string>& metadata) const {
    auto meta = metadata;
    meta["format"] = kCacheFormat;
    meta["key"] = key;
    write_safetensors(path(key), tensors, meta);
}

}  // namespace stablepose
