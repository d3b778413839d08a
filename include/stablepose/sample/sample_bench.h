// `stablepose bench sample`: seconds per image and per stage (text encoder, adapter, U-Net, VAE) with peak
// memory, for one configuration, measured after warm-up runs.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "stablepose/sample/job_file.h"

namespace stablepose {

struct SampleBenchOptions {
    std::filesystem::path model_dir;
    std::optional<std::filesystem::path> adapter;  // none: the plain SD baseline, unless init_mode is set
    // "stable_pose" or "controlnet": an adapter of that mode with the default options, initialised from the
    // frozen U-Net as training starts it (stable-pose.md §14.2). Its compute is that of a trained adapter, so
    // it stands in for one when only speed and memory are measured (full-size models with random weights).
    std::string init_mode;
    std::filesystem::path pose;                    // keypoint JSON (default: the shipped example)
    GenerationSettings settings;
    int batch_size = 1;
    int warmup = 1;
    int repeats = 3;
    std::string device = "auto";
    bool cuda_graphs = false;  // PipelineOptions::cuda_graphs
};

// Runs warmup + repeats batches and returns {"seconds_per_image", "stages": {...}, "peak_memory_bytes": {...},
// "device", "settings", ...}; every figure is the mean over the timed repeats.
nlohmann::json run_sample_bench(const SampleBenchOptions& options);

}  // namespace stablepose
