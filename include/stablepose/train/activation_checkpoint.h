// Activation checkpointing for LibTorch, which has no torch.utils.checkpoint (runtime.md §4 rule 5): a custom
// autograd Function runs a segment without keeping its activations and recomputes it in the backward pass
// (autocast state restored), returning the gradients of its tensor inputs and of the parameters it uses.
// Reference: torch/utils/checkpoint.py (the non-reentrant idea, with parameters passed explicitly).
#pragma once

#include <functional>
#include <vector>

#include <torch/types.h>

namespace stablepose {

using CheckpointSegment = std::function<std::vector<torch::Tensor>(const std::vector<torch::Tensor>& inputs)>;

// Returns segment(inputs), differentiable with respect to `inputs` that require grad and to `params` (every
// trainable tensor the segment reads; gradients of parameters not listed are lost). The segment must be
// deterministic (no dropout or random draws): it runs twice.
std::vector<torch::Tensor> checkpointed(const CheckpointSegment& segment, const std::vector<torch::Tensor>& inputs,
                                        const std::vector<torch::Tensor>& params);

}  // namespace stablepose
