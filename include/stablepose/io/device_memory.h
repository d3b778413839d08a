// Peak memory of a stage, for benchmarks and training logs: the CUDA caching allocator's peak on a GPU, the
// process's peak resident set on the CPU.
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace stablepose {

// Resets the device's peak counter (CUDA); a no-op on the CPU, where the peak RSS cannot be reset.
void reset_peak_memory(const torch::Device& device);
// Bytes: CUDA peak allocated since the last reset, or the CPU process's peak resident set size.
int64_t peak_memory_bytes(const torch::Device& device);
// Waits for queued GPU work so that wall-clock timings of a stage are true; a no-op on the CPU.
void synchronize(const torch::Device& device);

}  // namespace stablepose
