// stablepose bench: performance figures printed with the command that repeats them.
#include <iostream>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "stablepose/sample/sample_bench.h"

namespace stablepose::tools {

CLI::App& bench_command_group(CLI::App& app) {
    for (auto* sub : app.get_subcommands([](CLI::App* a) { return a->get_name() == "bench"; })) return *sub;
    auto* group = app.add_subcommand("bench", "Benchmarks: throughput and peak memory");
    group->require_subcommand(1);
    return *group;
}

void add_bench_sample_command(CLI::App& app) {
    auto options = std::make_shared<SampleBenchOptions>();
    auto adapter = std::make_shared<std::string>();
    auto* cmd = bench_command_group(app).add_subcommand("sample", "Seconds per image and per stage, peak memory");
    cmd->add_option("--model", options->model_dir, "Frozen SD folder")->required();
    cmd->add_option("--adapter", *adapter, "Adapter .safetensors or diffusers ControlNet folder (default: none)");
    cmd->add_option("--init-adapter-mode", options->init_mode,
                    "stable_pose or controlnet: time an adapter initialised from the U-Net (no weights file)")
        ->check(CLI::IsMember({"stable_pose", "controlnet"}));
    cmd->add_option("--pose", options->pose, "Keypoint JSON (default: the shipped two-person example)");
    auto& s = options->settings;
    cmd->add_option("--width", s.width)->capture_default_str();
    cmd->add_option("--height", s.height)->capture_default_str();
    cmd->add_option("--steps", s.steps)->capture_default_str();
    cmd->add_option("--sampler", s.sampler)->capture_default_str();
    cmd->add_option("--guidance", s.guidance_scale)->capture_default_str();
    cmd->add_option("--batch-size", options->batch_size)->capture_default_str();
    cmd->add_option("--warmup", options->warmup)->capture_default_str();
    cmd->add_option("--repeats", options->repeats)->capture_default_str();
    cmd->add_option("--device", options->device)->capture_default_str();
    cmd->add_flag("--cuda-graph", options->cuda_graphs,
                  "On CUDA: replay each step as a CUDA graph (stablepose sample --cuda-graph)");
    cmd->callback([=] {
        const auto& s = options->settings;  // the parsed values (the `s` above was copied before parsing)
        if (!adapter->empty()) options->adapter = *adapter;
        auto result = run_sample_bench(*options);
        std::string command = "stablepose bench sample --model " + options->model_dir.string();
        if (options->adapter) command += " --adapter " + options->adapter->string();
        if (!options->init_mode.empty()) command += " --init-adapter-mode " + options->init_mode;
        if (!options->pose.empty()) command += " --pose " + options->pose.string();
        command += " --width " + std::to_string(s.width) + " --height " + std::to_string(s.height) + " --steps " +
                   std::to_string(s.steps) + " --sampler " + s.sampler + " --guidance " +
                   std::to_string(s.guidance_scale) + " --batch-size " + std::to_string(options->batch_size) +
                   " --warmup " + std::to_string(options->warmup) + " --repeats " + std::to_string(options->repeats) +
                   " --device " + options->device;
        result["command"] = command;
        std::cout << result.dump(2) << std::endl;
    });
}

}  // namespace stablepose::tools
