// CLIP-score with the tiny random CLIP exported by scripts/export_metric_models.py, against torchmetrics CLIPScore
// with the same transformers model (tests/reference/make_metrics_golden.py).
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/error.h"
#include "stablepose/eval/clip_score.h"
#include "stablepose/io/image_io.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
const fs::path kDir = fs::path(STABLEPOSE_GOLDEN_DIR) / "metrics";

torch::Tensor g(const std::string& name) { return testing::golden("metrics", name); }

// transformers 5's CLIPTokenizer (what torchmetrics uses today); the prompts are plain ASCII, where the ftfy
// normalisation gives the same ids.
ClipModel& model() {
    static auto m = ClipModel::load(kDir / "clip", {torch::Device(torch::kCPU)}, TextNormalization::transformers);
    return m;
}

TEST(ClipScore, PixelValuesMatchTheProcessorAndPillow) {
    const auto set = read_image_manifest(kDir / "clip_set" / "manifest.jsonl");
    for (size_t i = 0; i < set.size(); ++i) {
        const auto rgb = read_image_rgb(set.files[i]);
        const auto ours = clip_pixel_values(rgb);
        const double d = testing::max_abs_diff(ours, g("clip.pixel_values." + std::to_string(i)));
        std::printf("CLIP pixel_values %zu (%dx%d): max diff %.3g\n", i, rgb.rows, rgb.cols, d);
        EXPECT_LE(d, 1e-5) << i;
        // Against Pillow's BICUBIC (transformers 4.19): within one grey level (1/255/std < 0.06 after normalising).
        const auto pil = g("clip.pil_resized." + std::to_string(i));
        const int64_t top = (pil.size(1) - 224 + 1) / 2, left = (pil.size(2) - 224 + 1) / 2;
        const auto std_dev = torch::tensor({0.26862954, 0.26130258, 0.27577711}).view({3, 1, 1});
        const auto levels = (ours.to(torch::kFloat64) * std_dev * 255.0) -
                            ((pil.slice(1, top, top + 224).slice(2, left, left + 224).to(torch::kFloat64)) -
                             torch::tensor({0.48145466, 0.4578275, 0.40821073}).view({3, 1, 1}) * 255.0);
        EXPECT_LE(levels.abs().max().item<double>(), 1.0 + 1e-3) << i;
    }
}

TEST(ClipScore, MatchesTorchmetricsClipScore) {
    ClipScoreOptions o;
    o.batch_size = 2;
    o.progress = false;
    const auto r = clip_score(model(), read_image_manifest(kDir / "clip_set" / "manifest.jsonl"), o);
    const auto expected = g("clip.per_image");
    ASSERT_EQ(r.per_image.size(), static_cast<size_t>(expected.size(0)));
    const auto ours = torch::tensor(r.per_image, torch::kFloat64);
    std::printf("CLIP-score %.8f, torchmetrics %.8f; per-image max diff %.3g\n", r.score,
                g("clip.score").item<double>(), testing::max_abs_diff(ours, expected));
    EXPECT_LE(testing::max_abs_diff(ours, expected), 1e-3);
    EXPECT_NEAR(r.mean, expected.mean().item<double>(), 1e-3);
    // The random tiny CLIP gives negative similarities: the clamped mean is 0 in both.
    EXPECT_LT(r.mean, 0.0);
    EXPECT_EQ(r.score, g("clip.score").item<double>());
    EXPECT_EQ(r.score, 0.0);
    EXPECT_TRUE(r.truncated.empty());
}

TEST(ClipScore, ReferenceModeCutsPromptsAt77Characters) {
    ClipScoreOptions o;
    o.reference_compat = true;
    o.progress = false;
    const auto r = clip_score(model(), read_image_manifest(kDir / "clip_set" / "manifest.jsonl"), o);
    const auto expected = g("clip.per_image_reference");
    EXPECT_LE(testing::max_abs_diff(torch::tensor(r.per_image, torch::kFloat64), expected), 1e-3);
    EXPECT_NEAR(r.mean, expected.mean().item<double>(), 1e-3);
    EXPECT_EQ(r.score, g("clip.score_reference").item<double>());
    // The two long prompts score differently once cut.
    EXPECT_GT(testing::max_abs_diff(expected, g("clip.per_image")), 1e-3);
}

TEST(ClipScore, PromptCutsAndTruncationFlags) {
    const auto& tok = model().tokenizer();
    EXPECT_EQ(first_code_points("héllo wörld", 4), "héll");
    EXPECT_EQ(first_code_points("abc", 77), "abc");
    std::string digits;
    for (int i = 0; i < 60; ++i) digits += std::to_string(i % 10);  // one token per digit
    const auto clean = clip_prompt_ids(tok, digits + " " + digits, false);
    EXPECT_TRUE(clean.truncated);
    EXPECT_EQ(clean.ids.size(), 77u);
    EXPECT_EQ(clean.ids[76], ClipTokenizer::kEndOfText);
    const auto cut = clip_prompt_ids(tok, digits + " " + digits, true);  // 77 characters: 76 tokens > 75
    EXPECT_TRUE(cut.truncated);
    EXPECT_FALSE(clip_prompt_ids(tok, "a photo of a cat", true).truncated);
}

TEST(ClipScore, CosineScoresAndClampAtZero) {
    const auto a = torch::tensor({{1.0, 0.0}, {0.0, 2.0}});
    const auto b = torch::tensor({{3.0, 0.0}, {0.0, -1.0}});
    const auto s = clip_cosine_scores(a, b);
    EXPECT_NEAR(s[0].item<double>(), 100.0, 1e-12);
    EXPECT_NEAR(s[1].item<double>(), -100.0, 1e-12);
}

TEST(ClipScoreErrors, FolderWithoutPromptsMissingModelAndCorruptImage) {
    const auto dir = fs::temp_directory_path() / ("stablepose_clip_" + std::to_string(::getpid()));
    remove_tree(dir);
    fs::create_directories(dir);
    fs::copy_file(kDir / "clip_set" / "img_00.png", dir / "a.png");
    ClipScoreOptions o;
    o.progress = false;
    try {
        clip_score(model(), open_image_set(dir), o);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("needs a prompt for every image"), std::string::npos) << e.what();
    }
    EXPECT_THROW(ClipModel::load(dir / "no_such_clip"), Error);
    std::ofstream(dir / "bad.png", std::ios::binary) << "not a png";
    std::ofstream(dir / "manifest.jsonl") << R"({"path": "a.png", "prompt": "x"})" "\n"
                                          << R"({"path": "bad.png", "prompt": "y"})" "\n";
    try {
        clip_score(model(), open_image_set(dir), o);
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cannot decode image"), std::string::npos) << e.what();
    }
    std::ofstream(dir / "manifest.jsonl") << R"({"path": "a.png", "prompt": "x"})" "\n" << R"({"path": "a.png"})" "\n";
    EXPECT_THROW(open_image_set(dir), Error);  // a prompt on some lines only
}

}  // namespace
}  // namespace stablepose
