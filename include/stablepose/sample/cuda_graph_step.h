// One denoising step's network evaluation (adapter, U-Net, guidance: everything between the scheduler's
// scale_model_input and its step), recorded once as a CUDA graph and replayed for the remaining steps.
//
// Eagerly, a step launches every kernel of the adapter and the U-Net one by one, and at batch 1 they are small;
// replaying them as one graph removes the host's launch cost, which is what torch.compile's "reduce-overhead"
// mode does for diffusers (BENCHMARKS.md).
// The body must be capturable: no host synchronisation, no copy from pageable host memory, no new
// allocation outside the graph's private pool, the same kernels every call. The adapter, the PMSA ViT and the
// traced U-Net satisfy this once warm (the ViT caches its position code on the device); the first steps run
// eagerly as the warm-up, so the TorchScript executor has profiled and optimised before capture.
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include <torch/types.h>

namespace stablepose {

class CudaGraphStep {
public:
    // body(static inputs) -> output; called once, during capture, on static copies of `example` (same shapes,
    // dtypes and device ever after).
    using Body = std::function<torch::Tensor(const std::vector<torch::Tensor>&)>;

    // True when this build has LibTorch's CUDA targets and `device` is a CUDA device.
    static bool supported(const torch::Device& device);

    // Records body on static copies of `example` (all on one CUDA device). Throws stablepose::Error when the
    // build has no CUDA, and when capture fails (the message names the usual causes).
    CudaGraphStep(const Body& body, const std::vector<torch::Tensor>& example);
    ~CudaGraphStep();
    CudaGraphStep(const CudaGraphStep&) = delete;
    CudaGraphStep& operator=(const CudaGraphStep&) = delete;

    // Copies `inputs` into the static inputs, replays the graph on the current stream and returns a copy of
    // the output (the static output is overwritten by the next replay).
    torch::Tensor operator()(const std::vector<torch::Tensor>& inputs);

private:
    struct State;
    std::unique_ptr<State> state_;
};

}  // namespace stablepose
