#include "stablepose/io/device_memory.h"

#include <sys/resource.h>

#ifdef STABLEPOSE_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#include <c10/cuda/CUDAFunctions.h>
#endif

namespace stablepose {

void reset_peak_memory(const torch::Device& device) {
#ifdef STABLEPOSE_WITH_CUDA
    if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index() < 0 ? 0 : device.index());
#endif
    (void)device;
}

int64_t peak_memory_bytes(const torch::Device& device) {
#ifdef STABLEPOSE_WITH_CUDA
    if (device.is_cuda()) {
        const auto stats = c10::cuda::CUDACachingAllocator::getDeviceStats(device.index() < 0 ? 0 : device.index());
        return stats.allocated_bytes[static_cast<size_t>(c10::CachingAllocator::StatType::AGGREGATE)].peak;
    }
#endif
    struct rusage usage {};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<int64_t>(usage.ru_maxrss) * 1024;  // Linux reports KiB
}

void synchronize(const torch::Device& device) {
#ifdef STABLEPOSE_WITH_CUDA
    if (device.is_cuda()) c10::cuda::device_synchronize();
#endif
    (void)device;
}

}  // namespace stablepose
