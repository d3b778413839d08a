// Training benchmark (train_bench.h).
#include "stablepose/train/train_bench.h"

#include <cmath>

#include "stablepose/error.h"
#include "stablepose/train/mixed_precision.h"
#include "stablepose/sample/sample_run.h"
#include "stablepose/train/trainer.h"

namespace stablepose {

nlohmann::json run_train_bench(const TrainBenchOptions& options) {
    if (options.steps < 1 || options.warmup < 0)
        fail("bench train: bad step counts", "--steps >= 1, --warmup >= 0",
             std::to_string(options.steps) + ", " + std::to_string(options.warmup));
    auto overrides = options.overrides;
    overrides.push_back("train.max_steps=" + std::to_string(options.warmup + options.steps));
    overrides.push_back("checkpoint.every=0");
    overrides.push_back("log.validation_every=0");
    const auto config = load_train_config(options.config, overrides);
    TrainHooks hooks;
    hooks.write_files = false;
    hooks.handle_signals = false;
    hooks.console = false;
    double seconds = 0, loss = 0;
    int64_t samples = 0, peak = 0, measured = 0;
    hooks.on_step = [&](const StepReport& r) {
        if (r.step <= options.warmup) return;
        seconds += r.seconds;
        samples += static_cast<int64_t>(std::llround(r.samples_per_second * r.seconds));
        peak = std::max(peak, r.peak_memory_bytes);
        loss += r.loss;
        ++measured;
    };
    TrainPaths paths;
    paths.model_dir = options.model_dir;
    paths.data = options.data;
    paths.out_dir = std::filesystem::temp_directory_path() / "stablepose-bench-train";  // nothing is written
    train(config, paths, hooks);
    const auto device = resolve_device(config.train.device);
    return {{"samples_per_s", static_cast<double>(samples) / seconds},
            {"seconds_per_step", seconds / static_cast<double>(measured)},
            {"peak_memory_bytes", peak},
            {"peak_memory_mib", static_cast<double>(peak) / (1 << 20)},
            {"peak_memory_kind", device.is_cuda() ? "CUDA allocator peak" : "process peak RSS"},
            {"batch_size", config.data.batch_size},
            {"grad_accum", config.optim.grad_accum},
            {"precision", to_string(resolve_precision(config.precision.mode, device))},
            {"device", device.str()},
            {"mode", to_string(config.adapter.options.mode)},
            {"activation_checkpointing", config.train.activation_checkpointing},
            {"width", config.data.augment.width},
            {"height", config.data.augment.height},
            {"steps", options.steps},
            {"warmup", options.warmup},
            {"mean_loss", loss / static_cast<double>(measured)}};
}

std::string train_bench_command(const TrainBenchOptions& options) {
    std::string command = "stablepose bench train --config " + options.config.string() + " --model " +
                          options.model_dir.string() + " --data " + options.data.string() + " --warmup " +
                          std::to_string(options.warmup) + " --steps " + std::to_string(options.steps);
    for (const auto& o : options.overrides) command += " --set " + o;
    return command;
}

}  // namespace stablepose
