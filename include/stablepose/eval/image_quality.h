// Image quality metrics between a reference set and a generated set (spec evaluation.md §8): Inception features
// of each set (batched, on the network's device, cached per set), FID on the 64-d or 2048-d features, KID, and the
// per-scenario averaging of Stable-Pose's eval_quality.py (Human-Art).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/eval/image_set.h"
#include "stablepose/eval/inception.h"
#include "stablepose/eval/kernel_inception_distance.h"

namespace stablepose {

struct FeatureExtractionOptions {
    int batch_size = 32;
    bool reference_compat = false;                  // ImageNet normalisation + wrapping uint8 cast (§8.2-8.3)
    bool progress = true;                           // a progress line on stderr
    std::optional<std::filesystem::path> cache_dir;  // nothing: no cache
};

struct ImageSetFeatures {
    InceptionFeatures features;
    bool from_cache = false;
    std::string cache_key;  // empty without a cache
};

// "clean" or "reference-resize-crop-wrap": the preprocessing tag recorded with features and results.
std::string inception_preprocessing_name(bool reference_compat);

// Features of every image of `set`, in set order. Images are decoded as 8-bit RGB (Error for a missing or corrupt
// file); consecutive images of equal size go through the network together, up to batch_size at a time.
ImageSetFeatures extract_inception_features(InceptionNetwork& network, const ImageSet& set,
                                            const FeatureExtractionOptions& options, const std::string& label);

struct FidKidOptions {
    int fid_dims = 2048;  // 64: the reference protocol's FID features
    int kid_dims = 2048;  // torchmetrics' KID default, also in the reference protocol
    KidOptions kid;
};

struct FidKidResult {
    double fid = 0.0;
    std::optional<KidResult> kid;
    std::string kid_skipped;  // why KID is absent (too few images for the subset size)
    int64_t real_count = 0, fake_count = 0;
    int fid_dims = 2048, kid_dims = 2048;
};

// FID and KID of two feature sets. KID is computed when both sets hold at least subset_size images (torchmetrics'
// condition), and otherwise left out with the reason in kid_skipped.
FidKidResult fid_kid(const InceptionFeatures& real, const InceptionFeatures& fake, const FidKidOptions& options);

struct ScenarioFidKid {
    std::string scenario;
    FidKidResult result;
};

struct ScenarioAverage {
    std::vector<ScenarioFidKid> scenarios;  // sorted by label
    double fid_mean = 0.0;                  // unweighted mean over scenarios
    std::optional<double> kid_mean;         // unweighted mean over the scenarios that have a KID
    int kid_scenarios = 0;
};

// Stable-Pose's per-scenario protocol: FID and KID per scenario label (real images of a label against fake images
// of the same label), then the unweighted mean over scenarios. As in the reference, a scenario's KID is None, and
// left out of the KID mean, unless it has more than subset_size fake images. real_labels / fake_labels: one label
// per row of the features. Throws Error for a label present in one set only or with fewer than 2 images.
ScenarioAverage scenario_average(const InceptionFeatures& real, const std::vector<std::string>& real_labels,
                                 const InceptionFeatures& fake, const std::vector<std::string>& fake_labels,
                                 const FidKidOptions& options);

nlohmann::json to_json(const FidKidResult& r);
nlohmann::json to_json(const ScenarioAverage& r);

// What `stablepose eval fid` runs: both sets (folders or manifests, see open_image_set), one Inception file.
struct ImageQualityRequest {
    std::filesystem::path real, fake, inception;
    FidKidOptions metrics;
    FeatureExtractionOptions extraction;
    MetricNetworkOptions network;
};

// Loads the network, extracts (or reuses cached) features of both sets, and returns one JSON object: fid, kid
// {mean, std, subset_size, subsets, seed} (null with kid_skipped when a set is too small), the image counts, the
// preprocessing, the network's sha256 and source, whether each set came from the cache, and "per_scenario"
// (scenario_average) when both sets are manifests with a "scenario" on every line.
nlohmann::json evaluate_image_quality(const ImageQualityRequest& request);

}  // namespace stablepose
