#include "stablepose/sample/cuda_graph_step.h"

#include <c10/util/Exception.h>

#include "stablepose/error.h"

#ifdef STABLEPOSE_WITH_CUDA
#include <ATen/cuda/CUDAGraph.h>
#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#endif

namespace stablepose {

#ifdef STABLEPOSE_WITH_CUDA

struct CudaGraphStep::State {
    at::cuda::CUDAGraph graph;
    std::vector<torch::Tensor> inputs;  // static inputs: operator() copies into these
    torch::Tensor output;               // static output, in the graph's private memory pool
};

bool CudaGraphStep::supported(const torch::Device& device) { return device.is_cuda(); }

CudaGraphStep::CudaGraphStep(const Body& body, const std::vector<torch::Tensor>& example)
    : state_(std::make_unique<State>()) {
    if (example.empty() || !example.front().is_cuda())
        fail("CUDA graph: the step's inputs must be CUDA tensors", "tensors on a CUDA device",
             example.empty() ? "no inputs" : example.front().device().str());
    const auto device = example.front().device();
    for (const auto& x : example) state_->inputs.push_back(x.clone());
    c10::cuda::CUDAGuard device_guard(device);
    // Capture needs a stream other than the default one. The same stream first runs the body once eagerly, so
    // that what is made lazily per stream (cuBLAS workspaces, cuDNN plans) exists before capture begins.
    auto side = c10::cuda::getStreamFromPool(false, device.index());
    c10::cuda::device_synchronize();  // the static inputs are written
    try {
        c10::cuda::CUDAStreamGuard stream_guard(side);
        (void)body(state_->inputs);
        side.synchronize();
        // Thread-local mode: CUDA calls of other threads (none while sampling) cannot invalidate the capture.
        state_->graph.capture_begin({0, 0}, cudaStreamCaptureModeThreadLocal);
        try {
            state_->output = body(state_->inputs);
        } catch (...) {
            try {
                state_->graph.capture_end();
            } catch (...) {
            }
            throw;
        }
        state_->graph.capture_end();  // also instantiates
    } catch (const c10::Error& e) {
        fail("CUDA graph: capturing the denoising step failed",
             "a step without host synchronisation, pageable host-to-device copies or data-dependent shapes",
             e.what_without_backtrace(), "sample without --cuda-graph, and report the message above");
    }
    c10::cuda::device_synchronize();
}

CudaGraphStep::~CudaGraphStep() = default;

torch::Tensor CudaGraphStep::operator()(const std::vector<torch::Tensor>& inputs) {
    auto& s = *state_;
    if (inputs.size() != s.inputs.size())
        fail("CUDA graph: wrong number of step inputs", std::to_string(s.inputs.size()), std::to_string(inputs.size()));
    for (size_t i = 0; i < inputs.size(); ++i) {
        if (inputs[i].sizes() != s.inputs[i].sizes())
            fail("CUDA graph: a step input changed shape since capture", c10::str(s.inputs[i].sizes()),
                 c10::str(inputs[i].sizes()));
        s.inputs[i].copy_(inputs[i], /*non_blocking=*/true);
    }
    s.graph.replay();
    return s.output.clone();
}

#else  // LibTorch without its CUDA targets

struct CudaGraphStep::State {};

bool CudaGraphStep::supported(const torch::Device&) { return false; }

CudaGraphStep::CudaGraphStep(const Body&, const std::vector<torch::Tensor>&) {
    fail("CUDA graph: this build has no CUDA support", "stablepose configured with the CUDA toolkit",
         "a CPU-only build", "configure on a machine with the CUDA toolkit (docs/gpu.md), or sample without --cuda-graph");
}

CudaGraphStep::~CudaGraphStep() = default;

torch::Tensor CudaGraphStep::operator()(const std::vector<torch::Tensor>&) { return {}; }

#endif

}  // namespace stablepose
