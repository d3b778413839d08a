// stablepose toyworld: the procedural mannequin world (`generate` writes a HumanSD-layout dataset, `jobs` a
// sample job file for its held-out poses).
#include <spdlog/spdlog.h>

#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/toyworld/generator.h"
#include "stablepose/toyworld/sample_jobs.h"

namespace stablepose::tools {

void add_toyworld_command(CLI::App& app) {
    auto* group = app.add_subcommand("toyworld", "The procedural toy world of mannequin figures");
    group->require_subcommand(1);
    auto options = std::make_shared<toyworld::GenerateOptions>();
    auto* gen = group->add_subcommand("generate", "Write a dataset in the HumanSD layout (docs/toyworld.md)");
    gen->add_option("--out", options->out_dir, "Output directory")->required();
    gen->add_option("--count", options->count, "Number of images")->capture_default_str();
    gen->add_option("--size", options->size, "Image width and height in pixels")->capture_default_str();
    gen->add_option("--seed", options->seed, "Generator seed")
        ->check(whole_number_at_least(0))
        ->capture_default_str();
    gen->add_option("--split-name", options->split, "Split: names mapping_file_<split>.json")
        ->check(CLI::IsMember({"training", "validation"}))
        ->capture_default_str();
    gen->add_option("--threads", options->threads, "Worker threads (0: all cores; output identical)")
        ->capture_default_str();
    gen->callback([options] {
        spdlog::info("toyworld generate: {}", options->to_json().dump());
        const auto s = toyworld::generate_dataset(*options);
        spdlog::info("{} images, {} people (front {}, side {}, back {}) in {:.1f} s ({:.1f} images/s)", s.count,
                     s.people, s.views[0], s.views[1], s.views[2], s.seconds, s.count / std::max(s.seconds, 1e-9));
        spdlog::info("wrote {} and {}", s.mapping_file.string(), s.metadata_file.string());
    });

    auto jobs = std::make_shared<toyworld::SampleJobsOptions>();
    struct JobDefaults {
        std::optional<std::string> sampler;
        std::optional<int> steps;
        std::optional<double> guidance_scale, control_scale;
    };
    auto defaults = std::make_shared<JobDefaults>();
    auto* job_cmd = group->add_subcommand("jobs", "A `stablepose sample` job file for a split's poses, view as scenario");
    job_cmd->add_option("--data", jobs->data_dir, "A `toyworld generate` output folder")->required();
    job_cmd->add_option("--split", jobs->split, "Split (toyworld_<split>.json)")
        ->check(CLI::IsMember({"training", "validation"}))
        ->capture_default_str();
    job_cmd->add_option("-o,--out", jobs->out_file, "The job file to write")->required();
    auto real_manifest = std::make_shared<std::filesystem::path>();
    job_cmd->add_option("--real-manifest", *real_manifest,
                        "Also write the real images of these poses as a manifest for `eval report`");
    job_cmd->add_option("--count", jobs->count, "The first N images (0: all)")->capture_default_str();
    job_cmd->add_option("--people", jobs->people, "Only images with exactly N figures (0: any)")->capture_default_str();
    job_cmd->add_option("--seed", jobs->seed, "Image k is sampled with seed + k")
        ->check(whole_number_at_least(0))
        ->capture_default_str();
    job_cmd->add_option("--prompts", jobs->prompts,
                        "caption: the image's caption (it names the figures); count-free: \"figures on a <background> "
                        "background\", so only the pose says how many")
        ->check(CLI::IsMember({"caption", "count-free"}))
        ->capture_default_str();
    job_cmd->add_option("--sampler", defaults->sampler, "Default sampler of the jobs");
    job_cmd->add_option("--steps", defaults->steps, "Default steps of the jobs");
    job_cmd->add_option("--guidance", defaults->guidance_scale, "Default guidance scale of the jobs");
    job_cmd->add_option("--control-scale", defaults->control_scale, "Default control scale of the jobs");
    job_cmd->callback([jobs, defaults, real_manifest] {
        if (defaults->sampler) jobs->defaults["sampler"] = *defaults->sampler;
        if (defaults->steps) jobs->defaults["steps"] = *defaults->steps;
        if (defaults->guidance_scale) jobs->defaults["guidance_scale"] = *defaults->guidance_scale;
        if (defaults->control_scale) jobs->defaults["control_scale"] = *defaults->control_scale;
        const auto file = toyworld::make_sample_jobs(*jobs);
        write_file_atomic(jobs->out_file, file.dump(1) + "\n");
        std::map<std::string, int> scenarios;
        for (const auto& job : file["jobs"]) ++scenarios[job["scenario"].get<std::string>()];
        spdlog::info("wrote {}: {} jobs, scenarios {}", jobs->out_file.string(), file["jobs"].size(),
                     nlohmann::json(scenarios).dump());
        if (!real_manifest->empty()) {
            write_file_atomic(*real_manifest, toyworld::make_real_image_manifest(*jobs, *real_manifest));
            spdlog::info("wrote {}: the real images of the same poses", real_manifest->string());
        }
    });
}

}  // namespace stablepose::tools
