// `stablepose bench train`: training throughput (samples/s) and peak memory for a config, measured on the
// real loop (loader, frozen encoders, adapter, U-Net backward, AdamW) with nothing written to disk.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace stablepose {

struct TrainBenchOptions {
    std::filesystem::path config;  // preset
    std::vector<std::string> overrides;  // --set key=value
    std::filesystem::path model_dir;
    std::filesystem::path data;
    int warmup = 2;  // optimizer steps not timed
    int steps = 5;   // timed optimizer steps
};

// {"samples_per_s", "seconds_per_step", "peak_memory_bytes", "peak_memory_mib", "batch_size", "grad_accum",
//  "precision", "device", "width", "height", "steps", "warmup", "mean_loss"}.
nlohmann::json run_train_bench(const TrainBenchOptions& options);

// The command line that repeats a benchmark.
std::string train_bench_command(const TrainBenchOptions& options);

}  // namespace stablepose
