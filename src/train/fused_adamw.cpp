#include "stablepose/train/fused_adamw.h"

#include <map>
#include <tuple>
#include <vector>

#include <ATen/ops/_fused_adamw.h>
#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// Parameters updated by one fused call: one device, one dtype, one step count.
struct Bucket {
    std::vector<torch::Tensor> params, grads, exp_avgs, exp_avg_sqs;
};

// The fused kernel walks each tensor's memory linearly, so a state tensor must be laid out as its parameter
// (a state read from a checkpoint is contiguous; a channels-last parameter is not).
torch::Tensor laid_out_as(const torch::Tensor& t, const torch::Tensor& param) {
    if (t.strides() == param.strides()) return t;
    return torch::empty_like(param, torch::MemoryFormat::Preserve).copy_(t);
}

}  // namespace

void fused_adamw_step(torch::optim::AdamW& optimizer) {
    torch::NoGradGuard no_grad;
    auto& state = optimizer.state();
    for (auto& group : optimizer.param_groups()) {
        const auto& o = static_cast<const torch::optim::AdamWOptions&>(group.options());
        if (o.amsgrad())
            fail("fused AdamW: AMSGrad is not supported", "amsgrad = false", "amsgrad = true");
        std::map<std::tuple<std::string, torch::ScalarType, int64_t>, Bucket> buckets;
        for (auto& p : group.params()) {
            if (!p.grad().defined()) continue;
            if (p.grad().is_sparse()) fail("fused AdamW: sparse gradients are not supported");
            auto it = state.find(p.unsafeGetTensorImpl());
            if (it == state.end()) {  // as AdamW::step initialises it
                auto fresh = std::make_unique<torch::optim::AdamWParamState>();
                fresh->exp_avg(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                fresh->exp_avg_sq(torch::zeros_like(p, torch::MemoryFormat::Preserve));
                state[p.unsafeGetTensorImpl()] = std::move(fresh);
                it = state.find(p.unsafeGetTensorImpl());
            }
            auto& s = static_cast<torch::optim::AdamWParamState&>(*it->second);
            s.exp_avg(laid_out_as(s.exp_avg(), p));
            s.exp_avg_sq(laid_out_as(s.exp_avg_sq(), p));
            s.step(s.step() + 1);
            auto& b = buckets[{p.device().str(), p.scalar_type(), s.step()}];
            b.params.push_back(p);
            b.grads.push_back(laid_out_as(p.grad(), p));
            b.exp_avgs.push_back(s.exp_avg());
            b.exp_avg_sqs.push_back(s.exp_avg_sq());
        }
        const auto [beta1, beta2] = o.betas();
        for (auto& [key, b] : buckets) {
            // The kernel reads the step count (already incremented, as torch.optim does before calling it) from
            // one float32 tensor per parameter on their device; they all hold the same count here.
            const auto step = torch::full({}, static_cast<double>(std::get<2>(key)),
                                          torch::TensorOptions().dtype(torch::kFloat32).device(b.params.front().device()));
            const std::vector<torch::Tensor> steps(b.params.size(), step);
            at::_fused_adamw_(b.params, b.grads, b.exp_avgs, b.exp_avg_sqs, {}, steps, o.lr(), beta1, beta2,
                              o.weight_decay(), o.eps(), /*amsgrad=*/false, /*maximize=*/false);
        }
    }
}

}  // namespace stablepose
