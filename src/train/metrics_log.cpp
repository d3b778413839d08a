// Training logs (metrics_log.h).
#include "stablepose/train/metrics_log.h"

#include <cmath>
#include <sstream>
#include <vector>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {

namespace fs = std::filesystem;

MetricsLog::MetricsLog(fs::path path, int64_t resume_step) : path_(std::move(path)) {
    if (resume_step >= 0 && fs::exists(path_)) {
        std::ifstream in(path_);
        std::vector<std::string> kept;
        for (std::string line; std::getline(in, line);) {
            const auto j = nlohmann::json::parse(line, nullptr, false);
            if (!j.is_discarded() && j.contains("step") && j.at("step").get<int64_t>() <= resume_step)
                kept.push_back(line);
        }
        in.close();
        std::ofstream rewrite(path_, std::ios::trunc);
        for (const auto& line : kept) rewrite << line << "\n";
    }
    fs::create_directories(path_.parent_path());
    out_.open(path_, std::ios::app);
    if (!out_) fail("cannot write the metrics file " + path_.string(), "a writable run folder", "open failed");
}

void MetricsLog::write(const StepReport& r, int64_t epoch) {
    nlohmann::json j{{"step", r.step},
                     {"epoch", epoch},
                     {"loss", std::isfinite(r.loss) ? nlohmann::json(r.loss) : nlohmann::json(nullptr)},
                     {"lr", r.lr},
                     {"samples_per_s", r.samples_per_second},
                     {"peak_memory_bytes", r.peak_memory_bytes},
                     {"seconds", r.seconds},
                     {"skipped", r.skipped}};
    if (r.grad_norm) j["grad_norm"] = std::isfinite(*r.grad_norm) ? nlohmann::json(*r.grad_norm) : nlohmann::json(nullptr);
    if (r.loss_scale != 1.0) j["loss_scale"] = r.loss_scale;
    out_ << j.dump() << "\n";
    out_.flush();
}

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    const auto s = static_cast<int64_t>(std::llround(seconds));
    return fmt::format("{}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60);
}

ProgressReporter::ProgressReporter(int64_t start_step, int64_t total_steps, bool bar)
    : start_step_(start_step), total_steps_(total_steps), bar_(bar), start_(std::chrono::steady_clock::now()) {}

std::string ProgressReporter::line(const StepReport& r, int64_t epoch) {
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const int64_t done = r.step - start_step_;
    const double eta = done > 0 ? elapsed / static_cast<double>(done) * static_cast<double>(total_steps_ - r.step) : -1;
    const double fraction = total_steps_ > 0 ? static_cast<double>(r.step) / static_cast<double>(total_steps_) : 0;
    std::string bar;
    if (bar_) {
        const int filled = static_cast<int>(fraction * 20);
        bar = " [" + std::string(static_cast<size_t>(filled), '#') + std::string(static_cast<size_t>(20 - filled), '-') + "]";
    }
    return fmt::format("step {}/{}{} {:.0f}% | epoch {} | loss {:.4f}{} | lr {:.2e} | {:.2f} samples/s | peak {} MiB | ETA {}",
                       r.step, total_steps_, bar, 100 * fraction, epoch, r.loss, r.skipped ? " (skipped)" : "", r.lr,
                       r.samples_per_second, r.peak_memory_bytes >> 20, format_duration(eta));
}

}  // namespace stablepose
