// Full-precision fp32 convolutions on CUDA while a guard lives. cuDNN's default there is TF32 (inputs rounded
// to a 10-bit mantissa); where a result must not depend on the device (a metric's detector, a CUDA-vs-CPU
// comparison) convolutions run in IEEE fp32 instead. Sets ATen's per-op precision (CUDA, CONV) and restores
// the previous value on exit; the CPU is unaffected.
#pragma once

#include <ATen/Context.h>

namespace stablepose {

class FullFp32CudaConvolutions {
public:
    FullFp32CudaConvolutions()
        : saved_(at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::CONV)) {
        at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::CONV,
                                                at::Float32Precision::IEEE);
    }
    ~FullFp32CudaConvolutions() {
        at::globalContext().setFloat32Precision(at::Float32Backend::CUDA, at::Float32Op::CONV, saved_);
    }
    FullFp32CudaConvolutions(const FullFp32CudaConvolutions&) = delete;
    FullFp32CudaConvolutions& operator=(const FullFp32CudaConvolutions&) = delete;

private:
    at::Float32Precision saved_;
};

}  // namespace stablepose
