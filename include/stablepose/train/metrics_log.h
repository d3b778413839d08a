// Training logs: RUN/metrics.jsonl (one JSON object per optimizer step) and the console line with a progress
// bar and ETA.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <string>

#include "stablepose/train/trainer.h"

namespace stablepose {

class MetricsLog {
public:
    // Opens `path` for appending; with `resume_step` >= 0, first drops the lines of steps after it (the part of
    // an interrupted run that the resumed run repeats).
    MetricsLog(std::filesystem::path path, int64_t resume_step);
    void write(const StepReport& report, int64_t epoch);
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::ofstream out_;
};

// "step 120/1000 [###-------] 12% | epoch 0 | loss 0.1234 | lr 1.00e-05 | 3.2 samples/s | peak 812 MiB | ETA 0:12:34"
class ProgressReporter {
public:
    ProgressReporter(int64_t start_step, int64_t total_steps, bool bar);
    std::string line(const StepReport& report, int64_t epoch);

private:
    int64_t start_step_, total_steps_;
    bool bar_;
    std::chrono::steady_clock::time_point start_;
};

std::string format_duration(double seconds);  // H:MM:SS

}  // namespace stablepose
