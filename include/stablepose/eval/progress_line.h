// A one-line progress report on stderr for long feature extractions: rewritten in place on a terminal, one line
// per 10% otherwise (logs stay short).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace stablepose {

class ProgressLine {
public:
    ProgressLine(std::string label, int64_t total, bool enabled = true);
    ~ProgressLine();
    ProgressLine(const ProgressLine&) = delete;
    ProgressLine& operator=(const ProgressLine&) = delete;

    void advance(int64_t n);
    void finish();  // prints the final count and the rate; called by the destructor if not before

private:
    void print(bool final);

    std::string label_;
    int64_t total_, done_ = 0;
    int last_decile_ = -1;
    bool enabled_, tty_, finished_ = false;
    std::chrono::steady_clock::time_point start_;
};

}  // namespace stablepose
