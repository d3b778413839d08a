#include "stablepose/eval/image_quality.h"

#include <cstdio>
#include <map>
#include <set>

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/eval/feature_cache.h"
#include "stablepose/eval/frechet_distance.h"
#include "stablepose/eval/progress_line.h"
#include "stablepose/io/image_io.h"

namespace stablepose {

std::string inception_preprocessing_name(bool reference_compat) {
    return reference_compat ? "reference-resize-crop-wrap" : "clean";
}

ImageSetFeatures extract_inception_features(InceptionNetwork& network, const ImageSet& set,
                                            const FeatureExtractionOptions& options, const std::string& label) {
    if (set.size() == 0) fail("empty image set '" + label + "'", "at least one image", "none");
    if (options.batch_size < 1) fail("bad batch size", ">= 1", std::to_string(options.batch_size));
    ImageSetFeatures out;
    const auto preprocessing = inception_preprocessing_name(options.reference_compat);
    std::optional<FeatureCache> cache;
    if (options.cache_dir) {
        cache.emplace(*options.cache_dir);
        out.cache_key = FeatureCache::key(set, network.sha256(), preprocessing);
        if (auto hit = cache->load(out.cache_key)) {
            auto& t = *hit;
            if (t.count("features_64") && t.count("features_2048") &&
                t["features_64"].size(0) == static_cast<int64_t>(set.size())) {
                out.features = {t["features_64"], t["features_2048"]};
                out.from_cache = true;
                // stderr: stdout carries the commands' JSON.
                if (options.progress)
                    std::fprintf(stderr, "%s: %zu images, features from the cache (%s)\n", label.c_str(), set.size(),
                                 cache->path(out.cache_key).string().c_str());
                return out;
            }
        }
    }
    std::vector<torch::Tensor> f64, f2048, batch;
    ProgressLine progress(label + " (Inception, " + network.device().str() + ")", static_cast<int64_t>(set.size()),
                          options.progress);
    const auto flush = [&] {
        if (batch.empty()) return;
        auto f = network(torch::stack(batch));
        f64.push_back(f.f64);
        f2048.push_back(f.f2048);
        progress.advance(static_cast<int64_t>(batch.size()));
        batch.clear();
    };
    for (size_t i = 0; i < set.size(); ++i) {
        auto image = inception_input(read_image_rgb(set.files[i]), options.reference_compat);
        if (!batch.empty() && (batch.front().sizes() != image.sizes() ||
                               static_cast<int>(batch.size()) == options.batch_size))
            flush();
        batch.push_back(std::move(image));
    }
    flush();
    progress.finish();
    out.features = {torch::cat(f64), torch::cat(f2048)};
    if (cache) {
        cache->store(out.cache_key, {{"features_64", out.features.f64}, {"features_2048", out.features.f2048}},
                     {{"network_sha256", network.sha256()},
                      {"preprocessing", preprocessing},
                      {"images", std::to_string(set.size())},
                      {"root", set.root.string()}});
    }
    return out;
}

namespace {

FidKidResult compute(const InceptionFeatures& real, const InceptionFeatures& fake, const FidKidOptions& options,
                     bool stable_pose_kid_rule) {
    FidKidResult r;
    r.real_count = real.count();
    r.fake_count = fake.count();
    r.fid_dims = options.fid_dims;
    r.kid_dims = options.kid_dims;
    r.fid = frechet_inception_distance(real.of_dims(options.fid_dims), fake.of_dims(options.fid_dims));
    const int64_t m = options.kid.subset_size;
    if (stable_pose_kid_rule && r.fake_count <= m)
        r.kid_skipped = "the reference protocol needs more than subset_size (" + std::to_string(m) + ") fake images";
    else if (std::min(r.real_count, r.fake_count) < m)
        r.kid_skipped = "fewer images than subset_size (" + std::to_string(m) + ")";
    else
        r.kid = kernel_inception_distance(real.of_dims(options.kid_dims), fake.of_dims(options.kid_dims), options.kid);
    return r;
}

InceptionFeatures rows(const InceptionFeatures& f, const std::vector<int64_t>& index) {
    const auto idx = torch::tensor(index, torch::kInt64);
    return {f.f64.index_select(0, idx), f.f2048.index_select(0, idx)};
}

}  // namespace

FidKidResult fid_kid(const InceptionFeatures& real, const InceptionFeatures& fake, const FidKidOptions& options) {
    return compute(real, fake, options, false);
}

ScenarioAverage scenario_average(const InceptionFeatures& real, const std::vector<std::string>& real_labels,
                                 const InceptionFeatures& fake, const std::vector<std::string>& fake_labels,
                                 const FidKidOptions& options) {
    if (static_cast<int64_t>(real_labels.size()) != real.count() ||
        static_cast<int64_t>(fake_labels.size()) != fake.count())
        fail("per-scenario FID/KID needs one scenario label per image",
             std::to_string(real.count()) + " real and " + std::to_string(fake.count()) + " fake labels",
             std::to_string(real_labels.size()) + " and " + std::to_string(fake_labels.size()));
    std::map<std::string, std::vector<int64_t>> real_rows, fake_rows;
    for (size_t i = 0; i < real_labels.size(); ++i) real_rows[real_labels[i]].push_back(static_cast<int64_t>(i));
    for (size_t i = 0; i < fake_labels.size(); ++i) fake_rows[fake_labels[i]].push_back(static_cast<int64_t>(i));
    std::set<std::string> labels;
    for (const auto& [l, _] : real_rows) labels.insert(l);
    for (const auto& [l, _] : fake_rows) labels.insert(l);
    ScenarioAverage out;
    double fid_sum = 0.0, kid_sum = 0.0;
    for (const auto& label : labels) {
        if (!real_rows.count(label) || !fake_rows.count(label))
            fail("scenario '" + label + "' has images in one set only", "real and fake images for every scenario",
                 real_rows.count(label) ? "no fake images" : "no real images");
        if (real_rows[label].size() < 2 || fake_rows[label].size() < 2)
            fail(
                "scenario '" + label + "' has too few images for its own FID",
                "at least 2 real and 2 fake images in every scenario (FID and KID are computed per scenario "
                "when both manifests label every image with a scenario)",
                std::to_string(real_rows[label].size()) + " real and " +
                    std::to_string(fake_rows[label].size()) + " fake",
                "sample more images per scenario, or score the whole sets by leaving \"scenario\" out of one "
                "manifest");
        auto r = compute(rows(real, real_rows[label]), rows(fake, fake_rows[label]), options, true);
        fid_sum += r.fid;
        if (r.kid) {
            kid_sum += r.kid->mean;
            ++out.kid_scenarios;
        }
        out.scenarios.push_back({label, std::move(r)});
    }
    out.fid_mean = fid_sum / static_cast<double>(out.scenarios.size());
    if (out.kid_scenarios > 0) out.kid_mean = kid_sum / out.kid_scenarios;
    return out;
}

nlohmann::json to_json(const FidKidResult& r) {
    nlohmann::json j{{"fid", r.fid}, {"fid_dims", r.fid_dims}, {"real_images", r.real_count},
                     {"fake_images", r.fake_count}, {"kid_dims", r.kid_dims}};
    if (r.kid) {
        j["kid"] = {{"mean", r.kid->mean}, {"std", r.kid->std}, {"subset_size", r.kid->subset_size},
                    {"subsets", r.kid->values.size()}, {"seed", r.kid->seed}};
    } else {
        j["kid"] = nullptr;
        j["kid_skipped"] = r.kid_skipped;
    }
    return j;
}

nlohmann::json to_json(const ScenarioAverage& r) {
    nlohmann::json scenarios = nlohmann::json::object();
    for (const auto& s : r.scenarios) scenarios[s.scenario] = to_json(s.result);
    return {{"fid_mean", r.fid_mean},
            {"kid_mean", r.kid_mean ? nlohmann::json(*r.kid_mean) : nlohmann::json(nullptr)},
            {"kid_scenarios", r.kid_scenarios},
            {"scenarios", scenarios}};
}

nlohmann::json evaluate_image_quality(const ImageQualityRequest& request) {
    const auto real_set = open_image_set(request.real);
    const auto fake_set = open_image_set(request.fake);
    auto network = InceptionNetwork::load(request.inception, request.network);
    const auto real = extract_inception_features(network, real_set, request.extraction, "real");
    const auto fake = extract_inception_features(network, fake_set, request.extraction, "fake");
    auto j = to_json(fid_kid(real.features, fake.features, request.metrics));
    const auto cache_state = [&](const ImageSetFeatures& f) {
        return request.extraction.cache_dir ? (f.from_cache ? "hit" : "stored") : "off";
    };
    j["preprocessing"] = inception_preprocessing_name(request.extraction.reference_compat);
    j["inception"] = {{"file", request.inception.string()},
                      {"sha256", network.sha256()},
                      {"source", network.spec().value("source", nlohmann::json::object())},
                      {"device", network.device().str()}};
    j["real"] = {{"path", request.real.string()}, {"images", real_set.size()}, {"cache", cache_state(real)}};
    j["fake"] = {{"path", request.fake.string()}, {"images", fake_set.size()}, {"cache", cache_state(fake)}};
    if (!real_set.scenarios.empty() && !fake_set.scenarios.empty())
        j["per_scenario"] = to_json(scenario_average(real.features, real_set.scenarios, fake.features,
                                                     fake_set.scenarios, request.metrics));
    return j;
}

}  // namespace stablepose
