#include "stablepose/eval/clip_score.h"

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/eval/progress_line.h"
#include "stablepose/io/image_io.h"

namespace stablepose {
namespace {

const char* kHint = "export it with scripts/export_metric_models.py clip (--from HF_CLIP_FOLDER or --tiny)";
constexpr int64_t kClipSize = 224;
constexpr int kClipLength = 77;

torch::Tensor expect_embeddings(const torch::jit::IValue& out, int64_t batch, int64_t dim, const std::string& what) {
    if (!out.isTensor())
        fail(what + " returned a " + std::string(out.tagKind()), "a [B, P] float32 tensor", out.tagKind(), kHint);
    auto t = out.toTensor();
    if (t.dim() != 2 || t.size(0) != batch || (dim > 0 && t.size(1) != dim) || t.scalar_type() != torch::kFloat32)
        fail(what + " returned the wrong output",
             "[" + std::to_string(batch) + ", " + (dim > 0 ? std::to_string(dim) : "P") + "] float32",
             c10::str(t.sizes()) + " " + c10::toString(t.scalar_type()), kHint);
    return t.to(torch::kCPU);
}

}  // namespace

ClipModel ClipModel::load(const std::filesystem::path& dir, const MetricNetworkOptions& options,
                          TextNormalization normalization) {
    if (!std::filesystem::is_directory(dir))
        fail("CLIP model folder not found: '" + dir.string() + "'", "the folder written by the exporter (clip.json, "
             "clip_image.pt, clip_text.pt, tokenizer/)", std::filesystem::exists(dir) ? "not a folder" : "no such folder",
             kHint);
    ClipModel m;
    m.spec_ = read_metric_network_json(dir / "clip.json", "clip");
    const auto traced = m.spec_.value("device", std::string("cpu"));
    try {
        m.projection_dim_ = m.spec_.at("projection_dim").get<int64_t>();
        const auto& c = m.spec_.at("components");
        const auto& img = c.at("clip_image");
        const auto& txt = c.at("clip_text");
        m.image_device_ = metric_network_device(img, traced, options.device);
        m.text_device_ = metric_network_device(txt, traced, txt.value("device_portable", false) ? options.device
                                                                                                : std::nullopt);
        m.image_ = load_metric_module(dir / img.at("file").get<std::string>(), img.at("sha256").get<std::string>(), 1,
                                      m.image_device_, options.verify_hash, kHint);
        m.text_ = load_metric_module(dir / txt.at("file").get<std::string>(), txt.at("sha256").get<std::string>(), 1,
                                     m.text_device_, options.verify_hash, kHint);
        const auto& tok = m.spec_.at("tokenizer");
        const auto vocab = dir / (tok.contains("bpe") ? tok.at("bpe") : tok.at("vocab")).get<std::string>();
        m.tokenizer_ = std::make_shared<ClipTokenizer>(ClipTokenizer::from_file(vocab, {normalization}));
    } catch (const nlohmann::json::exception& e) {
        fail((dir / "clip.json").string() + ": a required field is missing or has the wrong type",
             "projection_dim, components.clip_image / clip_text {file, sha256}, tokenizer", e.what(), kHint);
    }
    // Probes: documented shapes in, [1, P] float32 out.
    m.image_embeds(torch::zeros({1, 3, kClipSize, kClipSize}));
    m.text_embeds(torch::tensor(m.tokenizer_->encode_padded(""), torch::kInt64).unsqueeze(0));
    return m;
}

torch::Tensor ClipModel::image_embeds(const torch::Tensor& pixel_values) {
    if (pixel_values.dim() != 4 || pixel_values.size(1) != 3 || pixel_values.size(2) != kClipSize ||
        pixel_values.size(3) != kClipSize)
        fail("CLIP image tower input", "[B, 3, 224, 224] float32", c10::str(pixel_values.sizes()));
    auto out = call_metric_module(image_, {pixel_values.to(image_device_, torch::kFloat32)}, "CLIP image tower", kHint);
    return expect_embeddings(out, pixel_values.size(0), projection_dim_, "the CLIP image tower");
}

torch::Tensor ClipModel::text_embeds(const torch::Tensor& input_ids) {
    if (input_ids.dim() != 2 || input_ids.size(1) != kClipLength)
        fail("CLIP text tower input", "[B, 77] int64", c10::str(input_ids.sizes()));
    auto out = call_metric_module(text_, {input_ids.to(text_device_, torch::kInt64)}, "CLIP text tower", kHint);
    return expect_embeddings(out, input_ids.size(0), projection_dim_, "the CLIP text tower");
}

torch::Tensor clip_pixel_values(const cv::Mat& rgb) {
    if (rgb.type() != CV_8UC3)
        fail("clip_pixel_values: expected an 8-bit RGB image", "CV_8UC3", "OpenCV type " + std::to_string(rgb.type()));
    const cv::Mat contiguous = rgb.isContinuous() ? rgb : rgb.clone();
    auto x = torch::from_blob(contiguous.data, {1, rgb.rows, rgb.cols, 3}, torch::kUInt8).permute({0, 3, 1, 2}).clone();
    const int64_t h = rgb.rows, w = rgb.cols;
    const int64_t shorter = std::min(h, w), longer = std::max(h, w);
    if (shorter != kClipSize) {  // transformers 4.19 leaves an image whose shorter side is 224 untouched
        const auto other = static_cast<int64_t>(static_cast<double>(kClipSize * longer) / static_cast<double>(shorter));
        const std::vector<int64_t> size = h <= w ? std::vector<int64_t>{kClipSize, other}
                                                 : std::vector<int64_t>{other, kClipSize};
        namespace F = torch::nn::functional;
        x = F::interpolate(x, F::InterpolateFuncOptions().size(size).mode(torch::kBicubic).align_corners(false)
                                  .antialias(true));
    }
    const int64_t top = (x.size(2) - kClipSize + 1) / 2, left = (x.size(3) - kClipSize + 1) / 2;
    x = x.slice(2, top, top + kClipSize).slice(3, left, left + kClipSize);
    const auto mean = torch::tensor({0.48145466f, 0.4578275f, 0.40821073f}).view({3, 1, 1});
    const auto std_dev = torch::tensor({0.26862954f, 0.26130258f, 0.27577711f}).view({3, 1, 1});
    return ((x[0].to(torch::kFloat32) / 255.0f - mean) / std_dev).contiguous();
}

std::string first_code_points(std::string_view utf8, size_t n) {
    size_t pos = 0, count = 0;
    while (pos < utf8.size() && count < n) {
        const auto c = static_cast<unsigned char>(utf8[pos]);
        pos += c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xE ? 3 : 4;
        ++count;
    }
    return std::string(utf8.substr(0, std::min(pos, utf8.size())));
}

ClipPromptIds clip_prompt_ids(const ClipTokenizer& tokenizer, const std::string& prompt, bool reference_compat) {
    require_utf8(prompt, "prompt");
    const auto text = reference_compat ? first_code_points(prompt, 77) : prompt;
    ClipPromptIds out;
    out.truncated = static_cast<int>(tokenizer.encode(text).size()) > kClipLength - 2;
    out.ids = tokenizer.encode_padded(text, kClipLength);
    return out;
}

torch::Tensor clip_cosine_scores(const torch::Tensor& image_embeds, const torch::Tensor& text_embeds) {
    if (image_embeds.dim() != 2 || image_embeds.sizes() != text_embeds.sizes())
        fail("CLIP-score: one text embedding per image embedding", "[N, P] and [N, P]",
             c10::str(image_embeds.sizes()) + " and " + c10::str(text_embeds.sizes()));
    // As torchmetrics: x / ||x|| per row, then 100 * the dot product (here in float64 after the float32 towers).
    const auto a = image_embeds.to(torch::kFloat64), b = text_embeds.to(torch::kFloat64);
    const auto an = a / a.norm(2, -1, true), bn = b / b.norm(2, -1, true);
    return 100.0 * (an * bn).sum(-1);
}

ClipScoreResult clip_score(ClipModel& model, const ImageSet& set, const ClipScoreOptions& options) {
    if (set.size() == 0) fail("CLIP-score of an empty image set", "at least one image", "none");
    if (set.prompts.size() != set.size())
        fail("CLIP-score needs a prompt for every image", "a manifest (JSONL) with \"path\" and \"prompt\" per line",
             set.manifest.empty() ? "a plain image folder ('" + set.root.string() + "')"
                                  : "a manifest without \"prompt\" ('" + set.manifest.string() + "')",
             "pass --images MANIFEST.jsonl, or the output folder of `stablepose sample`");
    if (options.batch_size < 1) fail("bad batch size", ">= 1", std::to_string(options.batch_size));
    ClipScoreResult result;
    std::vector<torch::Tensor> scores, pixels;
    std::vector<std::vector<int64_t>> ids;
    ProgressLine progress("CLIP-score (" + model.image_device().str() + ")", static_cast<int64_t>(set.size()),
                          options.progress);
    const auto flush = [&] {
        if (pixels.empty()) return;
        auto ids_tensor = torch::empty({static_cast<int64_t>(ids.size()), kClipLength}, torch::kInt64);
        for (size_t r = 0; r < ids.size(); ++r)
            ids_tensor[static_cast<int64_t>(r)] = torch::tensor(ids[r], torch::kInt64);
        scores.push_back(clip_cosine_scores(model.image_embeds(torch::stack(pixels)), model.text_embeds(ids_tensor)));
        progress.advance(static_cast<int64_t>(pixels.size()));
        pixels.clear();
        ids.clear();
    };
    for (size_t i = 0; i < set.size(); ++i) {
        pixels.push_back(clip_pixel_values(read_image_rgb(set.files[i])));
        auto prompt = clip_prompt_ids(model.tokenizer(), set.prompts[i], options.reference_compat);
        if (prompt.truncated) result.truncated.push_back(i);
        ids.push_back(std::move(prompt.ids));
        if (static_cast<int>(pixels.size()) == options.batch_size) flush();
    }
    flush();
    progress.finish();
    const auto all = torch::cat(scores);
    result.per_image.assign(all.data_ptr<double>(), all.data_ptr<double>() + all.numel());
    result.mean = all.mean().item<double>();
    result.score = std::max(result.mean, 0.0);
    return result;
}

nlohmann::json to_json(const ClipScoreResult& r) {
    return {{"clip_score", r.score}, {"mean_unclamped", r.mean}, {"images", r.per_image.size()},
            {"truncated_prompts", r.truncated.size()}, {"per_image", r.per_image}};
}

nlohmann::json evaluate_clip_score(const std::filesystem::path& images, const std::filesystem::path& clip_dir,
                                   const ClipScoreOptions& options, const MetricNetworkOptions& network,
                                   TextNormalization normalization) {
    const auto set = open_image_set(images);
    auto model = ClipModel::load(clip_dir, network, normalization);
    auto j = to_json(clip_score(model, set, options));
    const auto& components = model.spec().at("components");
    j["prompt_cut"] = options.reference_compat ? "77 characters, then 75 tokens (reference)" : "75 tokens";
    j["text_normalization"] = std::string(to_string(normalization));
    j["clip"] = {{"dir", clip_dir.string()},
                 {"source", model.spec().value("source", nlohmann::json::object())},
                 {"image_sha256", components.at("clip_image").value("sha256", "")},
                 {"text_sha256", components.at("clip_text").value("sha256", "")},
                 {"device", model.image_device().str()}};
    j["images_path"] = images.string();
    return j;
}

}  // namespace stablepose
