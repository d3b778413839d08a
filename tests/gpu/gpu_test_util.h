// Shared by the CUDA checks in tests/gpu (ctest label `gpu`): the device they run on and the skip rule.
#pragma once

#include <cstdlib>

#include <gtest/gtest.h>
#include <torch/torch.h>

namespace stablepose::testing {

// STABLEPOSE_GPU_TESTS_ON_CPU=1 runs them on the CPU instead (a dry run of the test code, not a CUDA check).
inline bool gpu_tests_dry_run_on_cpu() { return std::getenv("STABLEPOSE_GPU_TESTS_ON_CPU") != nullptr; }
inline torch::Device gpu_test_device() { return torch::cuda::is_available() ? torch::kCUDA : torch::kCPU; }

}  // namespace stablepose::testing

#define SKIP_WITHOUT_CUDA()                                                                   \
    if (!torch::cuda::is_available() && !::stablepose::testing::gpu_tests_dry_run_on_cpu()) \
    GTEST_SKIP() << "no CUDA device visible"
