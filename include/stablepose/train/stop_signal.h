// Graceful stop on SIGINT/SIGTERM: the handler only sets a flag; the training loop finishes its step, writes
// a checkpoint and returns. A second signal gets the default action (the process ends at once).
#pragma once

namespace stablepose {

// Installs the handlers while alive and restores the previous ones on destruction. Clears the flag.
class StopSignalGuard {
public:
    StopSignalGuard();
    ~StopSignalGuard();
    StopSignalGuard(const StopSignalGuard&) = delete;
    StopSignalGuard& operator=(const StopSignalGuard&) = delete;
};

bool stop_requested();
int stop_signal();  // the signal that asked, 0 when none
void request_stop(int signal);  // what the handler does; tests and embedding code may call it directly

}  // namespace stablepose
