// stablepose eval fid / eval clip-score: image quality (FID, KID) and text alignment (CLIP-score) of a generated
// image set, printed as one JSON object (evaluation.md §8-9, docs/evaluate.md).
#include <iostream>
#include <memory>

#include "commands.h"
#include "stablepose/eval/clip_score.h"
#include "stablepose/eval/feature_cache.h"
#include "stablepose/eval/image_quality.h"

namespace stablepose::tools {
namespace {

namespace fs = std::filesystem;

struct CommonArgs {
    std::string device;
    int batch_size = 32;
    bool reference_compat = false, quiet = false;
};

void add_common(CLI::App* cmd, CommonArgs& a, const std::string& compat_help) {
    cmd->add_option("--device", a.device, "cpu or cuda (default: CUDA when available and the exported file allows it)")
        ->check(CLI::IsMember({"cpu", "cuda"}));
    cmd->add_option("--batch-size", a.batch_size, "Images per network call (default 32)")
        ->check(whole_number_at_least(1));
    cmd->add_flag("--reference-compat", a.reference_compat, compat_help);
    cmd->add_flag("--quiet", a.quiet, "No progress line on stderr");
}

MetricNetworkOptions network_options(const CommonArgs& a) {
    MetricNetworkOptions o;
    if (!a.device.empty()) o.device = torch::Device(a.device);
    return o;
}

void add_fid_command(CLI::App& eval) {
    struct Args : CommonArgs {
        std::string real, fake, inception, cache_dir;
        bool no_cache = false;
        FidKidOptions metrics;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = eval.add_subcommand("fid", "FID and KID of a generated image set against a reference set; prints JSON");
    cmd->add_option("--real", a->real, "Reference images: a folder, a JSONL manifest, or a folder with manifest.jsonl")
        ->required();
    cmd->add_option("--fake", a->fake, "Generated images (same forms as --real)")->required();
    cmd->add_option("--inception", a->inception, "inception.pt from scripts/export_metric_models.py inception")
        ->required();
    cmd->add_option("--dims", a->metrics.fid_dims, "FID features: 2048 (standard, default) or 64 (the papers' FID)")
        ->check(CLI::IsMember({64, 2048}));
    cmd->add_option("--kid-dims", a->metrics.kid_dims, "KID features: 2048 (default, as the papers) or 64")
        ->check(CLI::IsMember({64, 2048}));
    cmd->add_option("--kid-subset-size", a->metrics.kid.subset_size,
                    "Images per KID subset (default 1000, torchmetrics; the Stable-Pose protocol uses 200)")
        ->check(whole_number_at_least(2));
    cmd->add_option("--kid-subsets", a->metrics.kid.subsets, "Number of KID subsets (default 100)")
        ->check(whole_number_at_least(1));
    cmd->add_option("--seed", a->metrics.kid.seed, "Seed of the KID subset draws (default 0)")
        ->check(whole_number_at_least(0));
    cmd->add_option(
        "--cache-dir", a->cache_dir,
        "Feature cache folder (default $STABLEPOSE_CACHE_DIR, else $XDG_CACHE_HOME/stablepose/features, "
        "else ~/.cache/stablepose/features)");
    cmd->add_flag("--no-cache", a->no_cache, "Neither read nor write cached features");
    add_common(cmd, *a,
               "The reference pipeline's input: ImageNet-normalised, x255 and cast to uint8 with wrap-around "
               "(evaluation.md §8.2-8.3); default: the images as they are");
    cmd->callback([a] {
        ImageQualityRequest r{a->real, a->fake, a->inception, a->metrics, {}, network_options(*a)};
        r.extraction.batch_size = a->batch_size;
        r.extraction.reference_compat = a->reference_compat;
        r.extraction.progress = !a->quiet;
        if (!a->no_cache) r.extraction.cache_dir = a->cache_dir.empty() ? FeatureCache::default_dir() : fs::path(a->cache_dir);
        std::cout << evaluate_image_quality(r).dump(2) << '\n';
    });
}

void add_clip_score_command(CLI::App& eval) {
    struct Args : CommonArgs {
        std::string images, clip, normalization = "ftfy";
        bool per_image = false;
    };
    auto a = std::make_shared<Args>();
    auto* cmd = eval.add_subcommand("clip-score", "CLIP-score (100 x cosine, mean clamped at 0) of images and prompts");
    cmd->add_option("--images", a->images,
                    "JSONL manifest with \"path\" (or \"image\") and \"prompt\", or a folder holding manifest.jsonl")
        ->required();
    cmd->add_option("--clip", a->clip, "Folder from scripts/export_metric_models.py clip")->required();
    cmd->add_option("--normalization", a->normalization,
                    "Prompt text handling: ftfy (transformers 4.19, as the papers ran; default) or transformers (5.x)")
        ->check(CLI::IsMember({"ftfy", "transformers"}));
    cmd->add_flag("--per-image", a->per_image, "Include every image's score in the JSON");
    add_common(cmd, *a, "Cut each prompt to its first 77 characters, as the Stable-Pose code does; default: 75 tokens");
    cmd->callback([a] {
        ClipScoreOptions o;
        o.reference_compat = a->reference_compat;
        o.batch_size = a->batch_size;
        o.progress = !a->quiet;
        auto j = evaluate_clip_score(a->images, a->clip, o, network_options(*a),
                                     parse_text_normalization(a->normalization));
        if (!a->per_image) j.erase("per_image");
        std::cout << j.dump(2) << '\n';
    });
}

}  // namespace

void add_eval_images_commands(CLI::App& app) {
    auto& eval = eval_command_group(app);
    add_fid_command(eval);
    add_clip_score_command(eval);
}

}  // namespace stablepose::tools
