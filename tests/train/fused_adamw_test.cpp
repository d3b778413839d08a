// fused_adamw_step against LibTorch's own AdamW::step (the per-parameter update torch.optim.AdamW defines):
// the same parameters, gradients and options give the same parameters and state, step after step.
#include <vector>

#include <torch/torch.h>

#include "stablepose/error.h"
#include "stablepose/train/fused_adamw.h"
#include "test_util.h"

namespace stablepose {
namespace {

// A conv weight (channels-last, as a channels-last model holds it), a matrix, a bias, and one parameter
// that never gets a gradient.
std::vector<torch::Tensor> make_params() {
    torch::manual_seed(3);
    return {torch::randn({8, 4, 3, 3}).contiguous(torch::MemoryFormat::ChannelsLast).requires_grad_(),
            torch::randn({16, 32}).requires_grad_(), torch::randn({32}).requires_grad_(),
            torch::randn({5}).requires_grad_()};
}

torch::optim::AdamWOptions options() {
    return torch::optim::AdamWOptions(3e-3).betas({0.85, 0.99}).eps(1e-6).weight_decay(0.05);
}

void set_grads(std::vector<torch::Tensor>& params, int step) {
    auto g = at::make_generator<at::CPUGeneratorImpl>(100 + step);
    for (size_t i = 0; i + 1 < params.size(); ++i)
        params[i].mutable_grad() = torch::randn(params[i].sizes(), g).contiguous(params[i].suggest_memory_format());
}

TEST(FusedAdamW, MatchesLibTorchAdamWStepByStep) {
    auto ours = make_params(), reference = make_params();
    torch::optim::AdamW ours_opt(ours, options()), reference_opt(reference, options());
    for (int step = 1; step <= 6; ++step) {
        set_grads(ours, step);
        set_grads(reference, step);
        fused_adamw_step(ours_opt);
        reference_opt.step();
        for (size_t i = 0; i < ours.size(); ++i)
            EXPECT_LE(testing::max_abs_diff(ours[i], reference[i]), 2e-6 * reference[i].abs().max().item<double>())
                << "parameter " << i << ", step " << step;
    }
    EXPECT_TRUE(torch::equal(ours[3], make_params()[3]));  // no gradient: untouched
    EXPECT_EQ(ours_opt.state().count(ours[3].unsafeGetTensorImpl()), 0u);
    for (size_t i = 0; i + 1 < ours.size(); ++i) {
        const auto& a = static_cast<torch::optim::AdamWParamState&>(*ours_opt.state().at(ours[i].unsafeGetTensorImpl()));
        const auto& b =
            static_cast<torch::optim::AdamWParamState&>(*reference_opt.state().at(reference[i].unsafeGetTensorImpl()));
        EXPECT_EQ(a.step(), 6);
        EXPECT_LE(testing::max_abs_diff(a.exp_avg(), b.exp_avg()), 1e-6) << i;
        EXPECT_LE(testing::max_abs_diff(a.exp_avg_sq(), b.exp_avg_sq()), 1e-6) << i;
    }
}

// A state read back from a checkpoint is contiguous while a channels-last parameter is not: the update must
// still pair each element with its own moment (the kernel walks memory linearly).
TEST(FusedAdamW, StateLaidOutDifferentlyFromItsParameterIsRealigned) {
    auto ours = make_params(), reference = make_params();
    torch::optim::AdamW ours_opt(ours, options()), reference_opt(reference, options());
    set_grads(ours, 1);
    set_grads(reference, 1);
    fused_adamw_step(ours_opt);
    reference_opt.step();
    auto& s = static_cast<torch::optim::AdamWParamState&>(*ours_opt.state().at(ours[0].unsafeGetTensorImpl()));
    s.exp_avg(s.exp_avg().contiguous());
    s.exp_avg_sq(s.exp_avg_sq().contiguous());
    ASSERT_NE(s.exp_avg().strides(), ours[0].strides());
    set_grads(ours, 2);
    set_grads(reference, 2);
    fused_adamw_step(ours_opt);
    reference_opt.step();
    EXPECT_LE(testing::max_abs_diff(ours[0], reference[0]), 2e-6 * reference[0].abs().max().item<double>());
}

TEST(FusedAdamW, RefusesAmsgrad) {
    auto params = make_params();
    torch::optim::AdamW opt(params, options().amsgrad(true));
    set_grads(params, 1);
    EXPECT_THROW(fused_adamw_step(opt), Error);
}

}  // namespace
}  // namespace stablepose
