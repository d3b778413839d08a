// Gradients in training: the frozen U-Net gets none while the adapter gets all of its own, activation
// checkpointing gives the plain forward's gradients, and the fp16 loss scaler follows GradScaler's rules.
#include "stablepose/error.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/train/activation_checkpoint.h"
#include "stablepose/train/mixed_precision.h"
#include "stablepose/train/trainer.h"
#include "train_test_util.h"

namespace stablepose {
namespace {

struct TinySetup {
    FrozenStableDiffusion sd;
    StablePoseAdapter adapter{nullptr};
    torch::Tensor z, t, context, hint, masks;
};

TinySetup tiny_setup() {
    TinySetup s;
    s.sd = FrozenStableDiffusion::load(testing::tiny_sd_dir());
    auto config = testing::tiny_config().adapter.options;
    config.unet = s.sd.spec.unet;
    torch::manual_seed(0);
    s.adapter = StablePoseAdapter(config);
    initialize_adapter_from_unet(s.adapter, s.sd.unet.state_dict());
    {
        torch::NoGradGuard no_grad;  // non-zero output convs, so every parameter's gradient is non-trivial
        for (auto& item : s.adapter->named_parameters())
            if (item.key().rfind("controlnet_", 0) == 0) item.value().normal_(0, 0.05);
    }
    auto g = at::make_generator<at::CPUGeneratorImpl>(7);
    s.z = torch::randn({2, 4, 8, 8}, g);
    s.t = torch::tensor({10, 700}, torch::kInt64);
    s.context = torch::randn({2, 77, s.sd.spec.text_hidden_size}, g);
    s.hint = torch::rand({2, 3, 64, 64}, g) * 2 - 1;
    s.masks = (torch::rand({4, 8, 8}, g) > 0.5).to(torch::kFloat32);
    return s;
}

std::vector<torch::Tensor> run_adapter(TinySetup& s, const std::vector<torch::Tensor>& in) {
    return s.adapter->forward(in[0], in[1], in[2], s.adapter->encode_condition(in[3]), in[4]);
}

// The adapter's parameter gradients of a plain forward and backward; the gradients are cleared after.
std::vector<torch::Tensor> plain_gradients(TinySetup& s, const std::vector<torch::Tensor>& inputs) {
    s.sd.unet(s.z, s.t, s.context, run_adapter(s, inputs)).square().mean().backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : s.adapter->parameters()) {
        grads.push_back(p.grad().clone());
        p.mutable_grad() = torch::Tensor();
    }
    return grads;
}

TEST(TrainGradients, FrozenUNetGetsNoGradientTheAdapterGetsAll) {
    auto s = tiny_setup();
    const auto residuals = run_adapter(s, {s.z, s.t, s.context, s.hint, s.masks});
    s.sd.unet(s.z, s.t, s.context, residuals).square().mean().backward();
    int64_t unet_params = 0;
    for (const auto& [name, p] : s.sd.unet.state_dict()) {
        EXPECT_FALSE(p.requires_grad()) << name;
        EXPECT_FALSE(p.grad().defined()) << name;
        ++unet_params;
    }
    EXPECT_GT(unet_params, 100);
    for (const auto& item : s.adapter->named_parameters()) {
        ASSERT_TRUE(item.value().grad().defined()) << item.key();
    }
}

TEST(TrainGradients, ActivationCheckpointingGivesThePlainGradients) {
    auto s = tiny_setup();
    const std::vector<torch::Tensor> inputs{s.z, s.t, s.context, s.hint, s.masks};
    const auto plain = plain_gradients(s, inputs);
    const auto params = s.adapter->parameters();
    const auto residuals = checkpointed([&](const std::vector<torch::Tensor>& in) { return run_adapter(s, in); },
                                        inputs, params);
    s.sd.unet(s.z, s.t, s.context, residuals).square().mean().backward();
    for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(params[i].grad().defined()) << i;
        EXPECT_TRUE(torch::allclose(params[i].grad(), plain[i], 1e-5, 1e-7)) << i;
    }
}

// What train.activation_checkpointing does: every block recomputed on its own (the segment runner), and each
// recomputation actually happens in the backward pass.
TEST(TrainGradients, PerBlockCheckpointingGivesThePlainGradients) {
    auto s = tiny_setup();
    const std::vector<torch::Tensor> inputs{s.z, s.t, s.context, s.hint, s.masks};
    const auto plain = plain_gradients(s, inputs);
    int forward_calls = 0, segments = 0;
    s.adapter->set_segment_runner([&](const AdapterSegment& segment, const std::vector<torch::Tensor>& in,
                                      const std::vector<torch::Tensor>& params) {
        ++segments;
        const AdapterSegment counted = [&forward_calls, segment](const std::vector<torch::Tensor>& x) {
            ++forward_calls;
            return segment(x);
        };
        return checkpointed(counted, in, params);
    });
    const auto residuals = run_adapter(s, inputs);
    const int down_blocks = static_cast<int>(s.sd.spec.unet.block_out_channels.size());
    EXPECT_EQ(segments, 1 + down_blocks + 1);  // condition encoder, each down block, mid block
    EXPECT_EQ(forward_calls, segments);
    s.sd.unet(s.z, s.t, s.context, residuals).square().mean().backward();
    EXPECT_EQ(forward_calls, 2 * segments);  // each block recomputed once
    const auto params = s.adapter->parameters();
    for (size_t i = 0; i < params.size(); ++i) {
        ASSERT_TRUE(params[i].grad().defined()) << i;
        // The block inputs' gradients (temb, context, condition) sum in another order: rounding only (up to
        // 6e-7 on gradients of order 0.1 here).
        EXPECT_TRUE(torch::allclose(params[i].grad(), plain[i], 1e-5, 1e-6))
            << s.adapter->named_parameters().keys()[i] << ": max diff "
            << (params[i].grad() - plain[i]).abs().max().item<double>();
    }
    s.adapter->set_segment_runner({});
    forward_calls = 0;
    run_adapter(s, inputs);
    EXPECT_EQ(forward_calls, 0);  // cleared: the plain path again
}

TEST(TrainGradients, ActivationCheckpointingInTheLoopTrainsAlike) {
    const auto dir = testing::train_scratch("checkpointing");
    const auto data = testing::write_dataset(dir / "data", 4, "jsonl");
    TrainHooks hooks;
    hooks.console = false;
    TrainPaths p{testing::tiny_sd_dir(), data, dir / "plain", {}, {}};
    const auto plain = train(testing::tiny_config({"train.max_steps=3"}), p, hooks);
    p.out_dir = dir / "recompute";
    const auto recompute = train(testing::tiny_config({"train.max_steps=3", "train.activation_checkpointing=true"}), p, hooks);
    ASSERT_EQ(plain.losses.size(), 3u);
    EXPECT_EQ(plain.losses[0], recompute.losses[0]);
    for (size_t i = 1; i < 3; ++i) EXPECT_NEAR(plain.losses[i], recompute.losses[i], 1e-5 * std::abs(plain.losses[i]));
}

TEST(TrainLossScaler, UnscalesBacksOffAndGrowsLikeGradScaler) {
    LossScalerOptions o;
    o.init_scale = 1024;
    o.growth_interval = 2;
    LossScaler scaler(torch::kCPU, o, true);
    EXPECT_EQ(scaler.scale(torch::tensor(2.0f)).item<float>(), 2048.0f);
    auto g = torch::full({3}, 1024.0f);
    auto found = scaler.unscale_({g});
    EXPECT_EQ(found.item<float>(), 0.0f);
    EXPECT_TRUE(torch::equal(g, torch::ones({3})));
    scaler.update(found);
    EXPECT_EQ(scaler.current_scale(), 1024.0);  // 1 of 2 clean steps
    scaler.update(scaler.unscale_({torch::ones({2})}));
    EXPECT_EQ(scaler.current_scale(), 2048.0);  // grown after growth_interval clean steps
    auto bad = torch::tensor({1.0f, std::numeric_limits<float>::infinity()});
    found = scaler.unscale_({bad});
    EXPECT_EQ(found.item<float>(), 1.0f);
    scaler.update(found);
    EXPECT_EQ(scaler.current_scale(), 1024.0);  // backed off
    EXPECT_EQ(scaler.growth_tracker(), 0);
    LossScaler restored(torch::kCPU, o, true);
    restored.load_state(scaler.state());
    EXPECT_EQ(restored.current_scale(), 1024.0);
    LossScaler off(torch::kCPU, o, false);
    EXPECT_EQ(off.scale(torch::tensor(3.0f)).item<float>(), 3.0f);
    EXPECT_EQ(off.unscale_({bad}).item<float>(), 0.0f);  // disabled: nothing checked
}

TEST(TrainPrecision, AutoIsFp32OnTheCpuAndHalfPrecisionNeedsCuda) {
    EXPECT_EQ(resolve_precision("auto", torch::kCPU), Precision::fp32);
    EXPECT_EQ(resolve_precision("auto", torch::Device(torch::kCUDA)), Precision::bf16);
    EXPECT_THROW(resolve_precision("fp16", torch::kCPU), Error);
    EXPECT_THROW(resolve_precision("bf16", torch::kCPU), Error);
}

}  // namespace
}  // namespace stablepose
