// CLIP-score (spec evaluation.md §9; torchmetrics CLIPScore with openai/clip-vit-base-patch16): per image
// 100 * cos(image_embeds, text_embeds), the mean over images clamped at 0. The towers come from
// scripts/export_metric_models.py clip (clip_image.pt, clip_text.pt, clip.json, tokenizer/).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include "stablepose/eval/image_set.h"
#include "stablepose/eval/metric_network.h"
#include "stablepose/sd/clip_tokenizer.h"

namespace stablepose {

class ClipModel {
public:
    // dir: the exporter's folder. Checks clip.json, both files' sha256 and signatures, and a probe call of each
    // tower. `normalization`: the prompt text handling (ftfy: the transformers 4.19 tokenizer the papers ran).
    static ClipModel load(const std::filesystem::path& dir, const MetricNetworkOptions& options = {},
                          TextNormalization normalization = TextNormalization::ftfy);

    // pixel_values: [B, 3, 224, 224] float32 (clip_pixel_values); returns image_embeds [B, P] float32 on the CPU.
    torch::Tensor image_embeds(const torch::Tensor& pixel_values);
    // input_ids: [B, 77] int64; returns text_embeds [B, P] float32 on the CPU.
    torch::Tensor text_embeds(const torch::Tensor& input_ids);

    const ClipTokenizer& tokenizer() const { return *tokenizer_; }
    const nlohmann::json& spec() const { return spec_; }
    int64_t projection_dim() const { return projection_dim_; }
    torch::Device image_device() const { return image_device_; }

private:
    nlohmann::json spec_;
    torch::jit::Module image_, text_;
    torch::Device image_device_ = torch::kCPU, text_device_ = torch::kCPU;
    std::shared_ptr<ClipTokenizer> tokenizer_;
    int64_t projection_dim_ = 0;
};

// rgb: HxWx3 uint8. Returns pixel_values [3, 224, 224] float32 as transformers 4.19's CLIPFeatureExtractor makes
// them: shorter side resized to 224 (the longer to int(224 * long / short)) with antialiased bicubic
// interpolation (LibTorch's uint8 path, within one grey level of Pillow's BICUBIC), centre crop with
// top = (H - 224 + 1) / 2, left likewise, then /255 and the CLIP mean/std.
torch::Tensor clip_pixel_values(const cv::Mat& rgb);

// Python's text[:n] for UTF-8 text: the first n code points.
std::string first_code_points(std::string_view utf8, size_t n);

struct ClipPromptIds {
    std::vector<int64_t> ids;  // 77 ids: [49406] + content + [49407], padded with 49407
    bool truncated = false;    // content was longer than 75 tokens and was cut
};

// Clean: the whole prompt tokenised, first 75 content tokens kept. reference_compat: Stable-Pose's text[:77]
// character cut first (the reference then crashes on > 77 tokens; here such prompts are truncated and flagged).
ClipPromptIds clip_prompt_ids(const ClipTokenizer& tokenizer, const std::string& prompt, bool reference_compat);

// image_embeds, text_embeds: [N, P]; returns [N] float64: 100 * cosine of each L2-normalised pair.
torch::Tensor clip_cosine_scores(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds);

struct ClipScoreOptions {
    bool reference_compat = false;  // the 77-character prompt cut
    int batch_size = 32;
    bool progress = true;
};

struct ClipScoreResult {
    double score = 0.0;               // max(mean, 0)
    double mean = 0.0;                // before the clamp
    std::vector<double> per_image;    // 100 * cosine, in set order
    std::vector<size_t> truncated;    // indices of prompts cut to 75 tokens
};

// CLIP-score of `set` (images with prompts, e.g. from a manifest). Throws Error for a set without prompts or
// with a missing or corrupt image.
ClipScoreResult clip_score(ClipModel& model, const ImageSet& set, const ClipScoreOptions& options);

nlohmann::json to_json(const ClipScoreResult& r);

// What `stablepose eval clip-score` runs: the image set (a manifest with prompts, or a folder holding
// manifest.jsonl) against the exported CLIP folder. Returns the result JSON plus the settings (prompt cut, model
// source and hashes, tokenizer normalisation).
nlohmann::json evaluate_clip_score(const std::filesystem::path& images, const std::filesystem::path& clip_dir,
                                   const ClipScoreOptions& options, const MetricNetworkOptions& network = {},
                                   TextNormalization normalization = TextNormalization::ftfy);

}  // namespace stablepose
