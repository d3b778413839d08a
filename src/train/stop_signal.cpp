// SIGINT/SIGTERM -> a stop flag for the training loop (stop_signal.h).
#include "stablepose/train/stop_signal.h"

#include <atomic>
#include <csignal>

namespace stablepose {

namespace {

std::atomic<int> g_signal{0};
struct sigaction g_previous_int, g_previous_term;

extern "C" void on_stop_signal(int signal) {
    g_signal.store(signal);
    std::signal(signal, SIG_DFL);  // a second Ctrl-C ends the process
}

}  // namespace

StopSignalGuard::StopSignalGuard() {
    g_signal.store(0);
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, &g_previous_int);
    sigaction(SIGTERM, &action, &g_previous_term);
}

StopSignalGuard::~StopSignalGuard() {
    sigaction(SIGINT, &g_previous_int, nullptr);
    sigaction(SIGTERM, &g_previous_term, nullptr);
    g_signal.store(0);  // handled: later runs start clean
}

bool stop_requested() { return g_signal.load() != 0; }
int stop_signal() { return g_signal.load(); }
void request_stop(int signal) { g_signal.store(signal); }

}  // namespace stablepose
