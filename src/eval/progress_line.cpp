#include "stablepose/eval/progress_line.h"

#include <cstdio>

#include <unistd.h>

#include <fmt/format.h>

namespace stablepose {

ProgressLine::ProgressLine(std::string label, int64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled && total > 0), tty_(isatty(fileno(stderr)) != 0),
      start_(std::chrono::steady_clock::now()) {}

ProgressLine::~ProgressLine() { finish(); }

void ProgressLine::advance(int64_t n) {
    done_ += n;
    if (!enabled_) return;
    const int decile = static_cast<int>(10 * done_ / total_);
    if (tty_ || decile != last_decile_) print(false);
    last_decile_ = decile;
}

void ProgressLine::finish() {
    if (finished_) return;
    finished_ = true;
    if (enabled_) print(true);
}

void ProgressLine::print(bool final) {
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    const double rate = seconds > 0 ? static_cast<double>(done_) / seconds : 0.0;
    const auto line = fmt::format("{}: {}/{} images ({:.0f}%, {:.1f} img/s, {:.0f} s)", label_, done_, total_,
                                  100.0 * static_cast<double>(done_) / static_cast<double>(total_), rate, seconds);
    if (tty_) std::fprintf(stderr, "\r%s%s", line.c_str(), final ? "\n" : "");
    else if (!final || done_ != total_ || last_decile_ != 10) std::fprintf(stderr, "%s\n", line.c_str());
    std::fflush(stderr);
}

}  // namespace stablepose
