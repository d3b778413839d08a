// stablepose toyworld: the procedural mannequin world (`generate` writes a HumanSD-layout dataset).
#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "stablepose/toyworld/generator.h"

namespace stablepose::tools {

void add_toyworld_command(CLI::App& app) {
    auto* group = app.add_subcommand("toyworld", "The procedural toy world of mannequin figures");
    group->require_subcommand(1);
    auto options = std::make_shared<toyworld::GenerateOptions>();
    auto* gen = group->add_subcommand("generate", "Write a dataset in the HumanSD layout (docs/toyworld.md)");
    gen->add_option("--out", options->out_dir, "Output directory")->required();
    gen->add_option("--count", options->count, "Number of images")->capture_default_str();
    gen->add_option("--size", options->size, "Image width and height in pixels")->capture_default_str();
    gen->add_option("--seed", options->seed, "Generator seed")->capture_default_str();
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
}

}  // namespace stablepose::tools
