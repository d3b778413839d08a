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
    std::optional<std::filesystem::path> adapter;  // none: the plain SD baseline
    std::filesystem::path pose;                    // keypoint JSON (default: the shipped example)
    GenerationSettings settings;
    int batch_size = 1;
    int warmup = 1;
    int repeats = 3;
    std::string device = "auto";
};

// Runs warmup + repeats batches and returns {"seconds_per_image", "stages": {...}, "peak_memory_bytes": {...},
// "device", "settings", ...}; every figure is the mean over the timed repeats.
nlohmann::json run_sample_bench(const SampleBenchOptions& options);

}  // namespace stablepose
