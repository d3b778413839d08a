// stablepose sample: a job file (or one pose and one prompt) in; images, panels and manifest.jsonl out.
#include <filesystem>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/error.h"
#include "stablepose/pose/pose_condition_config.h"
#include "stablepose/sample/sample_run.h"

namespace stablepose::tools {

namespace {

struct QuickJob {
    std::string pose, prompt, negative_prompt = kOfficialNegativePrompt, sampler = "ddim", fit = "cover";
    int64_t seed = 42;
    int count = 1, width = 512, height = 512, steps = 50;
    double guidance = 7.5, control_scale = 1.0, control_start = 0.0, control_end = 1.0;
    std::vector<int> pose_size;
};

}  // namespace

void add_sample_command(CLI::App& app) {
    auto options = std::make_shared<SampleRunOptions>();
    auto quick = std::make_shared<QuickJob>();
    auto jobs_file = std::make_shared<std::string>();
    auto adapter = std::make_shared<std::string>();
    auto preset = std::make_shared<std::string>();
    auto normalization = std::make_shared<std::string>("ftfy");
    auto* cmd = app.add_subcommand("sample", "Generate images from a job file or one pose and prompt (docs/sample.md)");
    cmd->add_option("jobs", *jobs_file, "Job file (JSON, docs/sample.md); or use --pose and --prompt");
    cmd->add_option("--model", options->model_dir, "Frozen SD folder from scripts/export_sd.py")->required();
    cmd->add_option("--adapter", *adapter,
                    "Adapter .safetensors (stable_pose or controlnet mode) or a diffusers ControlNet folder; "
                    "without it: the plain SD baseline");
    cmd->add_option("-o,--out", options->output_dir, "Output folder (images/, panels/, manifest.jsonl)")->required();
    cmd->add_option("--batch-size", options->batch_size, "Images per denoising batch")->capture_default_str();
    cmd->add_flag("--overwrite", options->overwrite, "Regenerate images that already exist (default: skip them)");
    cmd->add_flag("--panels", options->panels, "Also write panels/: image | skeleton | keypoints on the image");
    cmd->add_flag("--dump-condition", options->dump_condition,
                  "Write conditions/<job>/: the exact skeleton and masks the model saw");
    cmd->add_flag("--ablate-pose-features", options->zero_condition_features,
                  "Diagnostic: give the adapter all-zero pose features (stable_pose masks still follow the pose)");
    cmd->add_option("--device", options->device, "auto, cpu, cuda or cuda:N")->capture_default_str();
    cmd->add_flag("--cuda-graph", options->cuda_graphs,
                  "On CUDA: replay each step's adapter and U-Net as one CUDA graph after two eager steps "
                  "(bit-identical to eager sampling on an H200; its SD 1.5-size speed is not measured yet: "
                  "docs/sample.md)");
    cmd->add_option("--config", *preset, "Preset whose \"pose_condition\" section sets style and masks")
        ->check(CLI::ExistingFile);
    cmd->add_option("--schema", options->schema, "Keypoint schema: coco17 or a schema JSON file")->capture_default_str();
    cmd->add_option("--skeleton-drawing", options->skeleton_drawing,
                    "auto (openpose for a diffusers ControlNet folder, else humansd), humansd or openpose")
        ->check(CLI::IsMember({"auto", "humansd", "openpose"}))
        ->capture_default_str();
    cmd->add_option("--normalization", *normalization, "Tokenizer text normalisation: ftfy (default) or transformers")
        ->check(CLI::IsMember({"ftfy", "transformers"}));
    // The quick form: one job from the command line.
    auto* pose = cmd->add_option("--pose", quick->pose, "Quick form: keypoint JSON, .npz (with --pose-size) or skeleton PNG");
    auto* prompt = cmd->add_option("--prompt", quick->prompt, "Quick form: the prompt");
    cmd->add_option("--negative-prompt", quick->negative_prompt, "Quick form: default the official one");
    cmd->add_option("--pose-size", quick->pose_size, "Quick form: W H of the image an .npz refers to")->expected(2);
    cmd->add_option("--seed", quick->seed, "Quick form: first seed")->capture_default_str();
    cmd->add_option("--count", quick->count, "Quick form: images (seeds seed, seed+1, ...)")->capture_default_str();
    cmd->add_option("--width", quick->width, "Quick form: multiple of 64")->capture_default_str();
    cmd->add_option("--height", quick->height, "Quick form: multiple of 64")->capture_default_str();
    cmd->add_option("--sampler", quick->sampler, "Quick form: ddim, dpmpp_2m or euler")->capture_default_str();
    cmd->add_option("--steps", quick->steps, "Quick form")->capture_default_str();
    cmd->add_option("--guidance", quick->guidance, "Quick form: classifier-free guidance scale")->capture_default_str();
    cmd->add_option("--control-scale", quick->control_scale, "Quick form")->capture_default_str();
    cmd->add_option("--control-start", quick->control_start, "Quick form: fraction of steps")->capture_default_str();
    cmd->add_option("--control-end", quick->control_end, "Quick form: fraction of steps")->capture_default_str();
    cmd->add_option("--fit", quick->fit, "Quick form: cover or stretch")->capture_default_str();
    cmd->callback([=] {
        JobFile jobs;
        const bool quick_form = pose->count() > 0 || prompt->count() > 0;
        if (quick_form == !jobs_file->empty())
            fail("sample: give a job file or --pose and --prompt", "exactly one of the two",
                 quick_form ? "both" : "neither", "e.g. stablepose sample jobs.json --model M --out OUT");
        if (!quick_form)
            for (const char* name :
                 {"--negative-prompt", "--pose-size", "--seed", "--count", "--width", "--height", "--sampler",
                  "--steps", "--guidance", "--control-scale", "--control-start", "--control-end", "--fit"})
                if (cmd->count(name) > 0)
                    fail(std::string("sample: ") + name + " belongs to the quick form (--pose, --prompt)",
                         "a job file's settings in its \"defaults\" or per job",
                         std::string(name) + " with a job file",
                         "put the setting in the job file (docs/sample.md), or leave out the job file");
        if (quick_form) {
            if (pose->count() == 0 || prompt->count() == 0)
                fail("sample: the quick form needs both --pose and --prompt", "--pose FILE --prompt TEXT", "one of them");
            nlohmann::json pose_value = quick->pose;
            if (!quick->pose_size.empty() && std::filesystem::path(quick->pose).extension() != ".npz")
                fail("sample: --pose-size is for an .npz pose", "--pose FILE.npz --pose-size W H",
                     "--pose " + quick->pose,
                     "leave out --pose-size: keypoint JSON and skeleton PNG carry their size");
            if (!quick->pose_size.empty())
                pose_value = {{"npz", quick->pose}, {"pose_size", quick->pose_size}};
            nlohmann::json job{{"name", std::filesystem::path(quick->pose).stem().string()},
                               {"pose", pose_value},
                               {"prompt", quick->prompt},
                               {"negative_prompt", quick->negative_prompt},
                               {"seed", quick->seed},
                               {"count", quick->count},
                               {"width", quick->width},
                               {"height", quick->height},
                               {"sampler", quick->sampler},
                               {"steps", quick->steps},
                               {"guidance_scale", quick->guidance},
                               {"control_scale", quick->control_scale},
                               {"control_start", quick->control_start},
                               {"control_end", quick->control_end},
                               {"fit", quick->fit}};
            jobs = parse_job_file({{"jobs", {job}}}, std::filesystem::current_path(), "command line");
            if (!jobs.errors.empty()) fail("sample: bad command-line job", "", "", jobs.errors.front().message);
        } else {
            jobs = read_job_file(*jobs_file);
        }
        if (!adapter->empty()) options->adapter = *adapter;
        if (!preset->empty()) options->pose_condition = load_pose_condition_config(*preset);  // else the adapter's
        options->tokenizer.normalization = parse_text_normalization(*normalization);
        const auto report = run_sampling(jobs, *options);
        spdlog::info("sample: {} images written, {} already there, {} failed jobs, {:.1f} s; manifest {}",
                     report.images_written, report.images_skipped, report.failed.size(), report.seconds,
                     report.manifest.string());
        if (!report.failed.empty())
            fail("sample: " + std::to_string(report.failed.size()) + " job(s) failed (the others finished)",
                 "every job to succeed", "first: job " + std::to_string(report.failed.front().index) + " (" +
                     report.failed.front().name + "): " + report.failed.front().message,
                 "fix those jobs and rerun: finished images are kept and skipped");
    });
}

}  // namespace stablepose::tools
