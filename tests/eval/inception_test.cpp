// The exported FID Inception against torch-fidelity's module (tests/reference/make_metrics_golden.py), the uint8
// wrap quirk against a transcription of the reference, the feature cache, and the load-time errors.
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/error.h"
#include "stablepose/eval/feature_cache.h"
#include "stablepose/eval/frechet_distance.h"
#include "stablepose/eval/image_quality.h"
#include "stablepose/eval/inception.h"
#include "stablepose/io/image_io.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(STABLEPOSE_GOLDEN_DIR) / "metrics";
const fs::path kInception = kDir / "inception" / "inception.pt";

torch::Tensor g(const std::string& name) { return testing::golden("metrics", name); }

using testing::error_of;

fs::path fresh_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("stablepose_inception_" + name + "_" + std::to_string(::getpid()));
    remove_tree(dir);
    fs::create_directories(dir);
    return dir;
}

InceptionNetwork& network() {
    static auto net = InceptionNetwork::load(kInception, {torch::Device(torch::kCPU)});
    return net;
}

TEST(InceptionExport, FeaturesMatchTorchFidelityAt64And2048Dims) {
    for (const std::string set : {"real", "fake"}) {
        FeatureExtractionOptions o;
        o.batch_size = 2;  // batches break at size changes and at 2 images
        o.progress = false;
        const auto f = extract_inception_features(network(), list_image_folder(kDir / set), o, set).features;
        const double d64 = testing::scaled_diff(f.f64, g("inception." + set + ".f64"));
        const double d2048 = testing::scaled_diff(f.f2048, g("inception." + set + ".f2048"));
        std::printf("Inception %s: max scaled diff 64-d %.3g, 2048-d %.3g\n", set.c_str(), d64, d2048);
        EXPECT_LE(d64, 1e-5) << set;
        EXPECT_LE(d2048, 1e-5) << set;
    }
}

TEST(InceptionExport, FidOfTwoFoldersMatchesTorchmetrics) {
    FeatureExtractionOptions o;
    o.progress = false;
    const auto real = extract_inception_features(network(), list_image_folder(kDir / "real"), o, "real").features;
    const auto fake = extract_inception_features(network(), list_image_folder(kDir / "fake"), o, "fake").features;
    const double fid = frechet_inception_distance(real.f64, fake.f64);
    const double expected = g("inception.fid64").item<double>();
    std::printf("FID64 of the folders: %.10g, torchmetrics %.10g (its float32 output %.8g)\n", fid, expected,
                g("inception.fid64_f32").item<double>());
    EXPECT_LE(std::abs(fid - expected) / expected, 1e-4);  // 5 vs 4 images: rank-deficient 64-d covariances
}

TEST(InceptionWrapQuirk, MatchesTheTranscribedReferenceCast) {
    // Every grey level through ImageNet normalisation, x255 and the truncating, wrapping cast.
    EXPECT_TRUE(torch::equal(imagenet_normalize_wrap_uint8(g("wrap.ramp")), g("wrap.ramp_u8")));
    // Whole images (299x299, then 512x512: resized and cropped to 299 first), decoded from the files the
    // reference read.
    for (int i = 0; i < 2; ++i) {
        const auto rgb = read_image_rgb(kDir / "real" / ("img_0" + std::to_string(i) + ".png"));
        EXPECT_TRUE(torch::equal(inception_input(rgb, true), g("wrap.img" + std::to_string(i)))) << i;
        // Clean mode passes the pixels through at their size.
        const auto clean = inception_input(rgb, false);
        EXPECT_EQ(clean.sizes(), torch::IntArrayRef({3, rgb.rows, rgb.cols}));
        EXPECT_EQ(clean[0][5][7].item<int>(), rgb.at<cv::Vec3b>(5, 7)[0]);
    }
    // The spec's worked example: R = 0 -> -540.07 -> 228, R = 1 -> 573.47 -> 61.
    auto x = torch::zeros({3, 1, 2});
    x.index_put_({0, 0, 1}, 1.0);
    const auto u = imagenet_normalize_wrap_uint8(x);
    EXPECT_EQ(u[0][0][0].item<int>(), 228);
    EXPECT_EQ(u[0][0][1].item<int>(), 61);
}

TEST(InceptionWrapQuirk, ReferenceCompatFeaturesMatch) {
    FeatureExtractionOptions o;
    o.reference_compat = true;
    o.progress = false;
    ImageSet two = list_image_folder(kDir / "real");
    two.files.resize(2);
    const auto f = extract_inception_features(network(), two, o, "real").features;
    EXPECT_LE(testing::scaled_diff(f.f64, g("inception.real_wrap.f64")), 1e-5);
}

TEST(InceptionFeatureCache, SecondExtractionComesFromTheCache) {
    const auto cache = fresh_dir("cache");
    const auto images = fresh_dir("images");
    for (const auto& name : {"img_00.png", "img_01.png"}) fs::copy_file(kDir / "fake" / name, images / name);
    FeatureExtractionOptions o;
    o.progress = false;
    o.cache_dir = cache;
    const auto first = extract_inception_features(network(), list_image_folder(images), o, "a");
    EXPECT_FALSE(first.from_cache);
    EXPECT_TRUE(fs::exists(FeatureCache(cache).path(first.cache_key)));
    const auto second = extract_inception_features(network(), list_image_folder(images), o, "a");
    EXPECT_TRUE(second.from_cache);
    EXPECT_TRUE(torch::equal(first.features.f2048, second.features.f2048));
    // Another preprocessing, or changed image bytes, is another key.
    o.reference_compat = true;
    EXPECT_FALSE(extract_inception_features(network(), list_image_folder(images), o, "a").from_cache);
    o.reference_compat = false;
    fs::copy_file(kDir / "fake" / "img_02.png", images / "img_01.png", fs::copy_options::overwrite_existing);
    const auto changed = extract_inception_features(network(), list_image_folder(images), o, "a");
    EXPECT_FALSE(changed.from_cache);
    EXPECT_NE(changed.cache_key, first.cache_key);
}

TEST(InceptionErrors, WrongTorchScriptSignatures) {
    const auto outputs = error_of([] { InceptionNetwork::load(kDir / "wrong_outputs" / "inception.pt"); });
    EXPECT_NE(outputs.find("wrong outputs"), std::string::npos) << outputs;
    EXPECT_NE(outputs.find("expected: a tuple ([B, 64] float32, [B, 2048] float32)"), std::string::npos) << outputs;
    const auto inputs = error_of([] { InceptionNetwork::load(kDir / "wrong_inputs" / "inception.pt"); });
    EXPECT_NE(inputs.find("wrong signature"), std::string::npos) << inputs;
    EXPECT_NE(inputs.find("found:    2 input(s)"), std::string::npos) << inputs;
}

TEST(InceptionErrors, ChangedFileAndMissingSidecar) {
    const auto dir = fresh_dir("tampered");
    fs::copy_file(kDir / "wrong_inputs" / "inception.pt", dir / "inception.pt");
    fs::copy_file(kInception.parent_path() / "inception.json", dir / "inception.json");
    const auto hash = error_of([&] { InceptionNetwork::load(dir / "inception.pt"); });
    EXPECT_NE(hash.find("does not match its sidecar"), std::string::npos) << hash;
    fs::remove(dir / "inception.json");
    const auto sidecar = error_of([&] { InceptionNetwork::load(dir / "inception.pt"); });
    EXPECT_NE(sidecar.find("no metadata file"), std::string::npos) << sidecar;
    EXPECT_NE(error_of([&] { InceptionNetwork::load(dir / "missing.pt"); }).find("not found"), std::string::npos);
}

TEST(InceptionErrors, MissingFolderEmptySetAndCorruptImage) {
    const auto missing = error_of([] { list_image_folder("/nonexistent/stablepose/images"); });
    EXPECT_NE(missing.find("no such folder"), std::string::npos) << missing;
    const auto empty = fresh_dir("empty");
    std::ofstream(empty / "notes.txt") << "not an image";
    const auto none = error_of([&] { open_image_set(empty); });
    EXPECT_NE(none.find("no images in"), std::string::npos) << none;
    const auto corrupt = fresh_dir("corrupt");
    fs::copy_file(kDir / "fake" / "img_00.png", corrupt / "a.png");
    std::ofstream(corrupt / "b.png", std::ios::binary) << "\x89PNG\r\n\x1a\n truncated";
    FeatureExtractionOptions o;
    o.progress = false;
    const auto bad = error_of([&] { extract_inception_features(network(), list_image_folder(corrupt), o, "x"); });
    EXPECT_NE(bad.find("cannot decode image"), std::string::npos) << bad;
    EXPECT_NE(bad.find("b.png"), std::string::npos) << bad;
}

}  // namespace
}  // namespace stablepose
