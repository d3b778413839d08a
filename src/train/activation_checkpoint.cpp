// Activation checkpointing through a custom autograd Function (activation_checkpoint.h).
#include "stablepose/train/activation_checkpoint.h"

#include <ATen/autocast_mode.h>
#include <torch/autograd.h>

#include "stablepose/train/mixed_precision.h"

namespace stablepose {

namespace {

using torch::autograd::AutogradContext;
using torch::autograd::variable_list;

struct SegmentHolder : torch::CustomClassHolder {
    CheckpointSegment segment;
    size_t num_inputs = 0;
    bool cuda_autocast = false;
    torch::ScalarType cuda_autocast_dtype = torch::kFloat32;
};

class CheckpointFunction : public torch::autograd::Function<CheckpointFunction> {
public:
    static variable_list forward(AutogradContext* ctx, c10::intrusive_ptr<SegmentHolder> holder,
                                 at::TensorList inputs, at::TensorList params) {
        // Grad mode is off here (Function::apply): nothing inside the segment is recorded.
        std::vector<torch::Tensor> in(inputs.begin(), inputs.end());
        auto outputs = holder->segment(in);
        std::vector<torch::Tensor> saved = in;
        saved.insert(saved.end(), params.begin(), params.end());
        ctx->save_for_backward(saved);
        ctx->saved_data["segment"] = c10::IValue::make_capsule(holder);
        return outputs;
    }

    static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
        auto holder = c10::static_intrusive_pointer_cast<SegmentHolder>(ctx->saved_data["segment"].toCapsule());
        const auto saved = ctx->get_saved_variables();
        const size_t n = holder->num_inputs;
        std::vector<torch::Tensor> inputs, targets;
        std::vector<int> target_of(saved.size(), -1);
        for (size_t i = 0; i < n; ++i) {
            auto x = saved[i].detach();
            if (saved[i].requires_grad()) {
                x.requires_grad_(true);
                target_of[i] = static_cast<int>(targets.size());
                targets.push_back(x);
            }
            inputs.push_back(x);
        }
        for (size_t i = n; i < saved.size(); ++i)
            if (saved[i].requires_grad()) {
                target_of[i] = static_cast<int>(targets.size());
                targets.push_back(saved[i]);
            }
        std::vector<torch::Tensor> outputs;
        {
            torch::AutoGradMode grad(true);
            // The engine runs backward with autocast off; the recomputation must cast as the forward did.
            AutocastGuard autocast(torch::Device(torch::kCUDA), holder->cuda_autocast_dtype, holder->cuda_autocast);
            outputs = holder->segment(inputs);
        }
        std::vector<torch::Tensor> outs, grads;
        for (size_t i = 0; i < outputs.size() && i < grad_outputs.size(); ++i)
            if (outputs[i].requires_grad() && grad_outputs[i].defined()) {
                outs.push_back(outputs[i]);
                grads.push_back(grad_outputs[i]);
            }
        std::vector<torch::Tensor> target_grads;
        if (!outs.empty() && !targets.empty())
            target_grads = torch::autograd::grad(outs, targets, grads, /*retain_graph=*/false,
                                                 /*create_graph=*/false, /*allow_unused=*/true);
        variable_list result{torch::Tensor()};  // the holder argument
        for (size_t i = 0; i < saved.size(); ++i)
            result.push_back(target_of[i] >= 0 && !target_grads.empty() ? target_grads[target_of[i]] : torch::Tensor());
        return result;
    }
};

}  // namespace

std::vector<torch::Tensor> checkpointed(const CheckpointSegment& segment, const std::vector<torch::Tensor>& inputs,
                                        const std::vector<torch::Tensor>& params) {
    auto holder = c10::make_intrusive<SegmentHolder>();
    holder->segment = segment;
    holder->num_inputs = inputs.size();
    holder->cuda_autocast = at::autocast::is_autocast_enabled(c10::DeviceType::CUDA);
    holder->cuda_autocast_dtype = at::autocast::get_autocast_dtype(c10::DeviceType::CUDA);
    return CheckpointFunction::apply(holder, at::TensorList(inputs), at::TensorList(params));
}

}  // namespace stablepose
