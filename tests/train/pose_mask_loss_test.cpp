#include <torch/optim/adamw.h>

#include "stablepose/error.h"
#include "stablepose/nn/attn_res_block.h"
#include "stablepose/nn/pose_encoder.h"
#include "stablepose/pose/pose_masks.h"
#include "stablepose/train/pose_mask_loss.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(PoseMaskLoss, EqualsAHandComputation) {
    // B = 1, C = 2, 1x2 latent; mask = [1, 0]. Squared errors: c0 = [1, 4], c1 = [9, 0].
    const auto eps = torch::tensor({1.0f, 2.0f, 3.0f, 0.0f}).view({1, 2, 1, 2});
    const auto pred = torch::zeros({1, 2, 1, 2});
    const auto mask = torch::tensor({1.0f, 0.0f}).view({1, 1, 2});
    // alpha = 5: weights [5, 1] per channel -> (5*1 + 1*4 + 5*9 + 1*0) / 4 = 54 / 4.
    EXPECT_FLOAT_EQ(pose_mask_guided_loss(pred, eps, mask).item<float>(), 13.5f);
    EXPECT_FLOAT_EQ(pose_mask_guided_loss(pred, eps, mask, 1.0).item<float>(), 14.0f / 4);  // plain MSE
    // Not renormalised by the mask area: an all-zero mask gives plain MSE.
    EXPECT_FLOAT_EQ(pose_mask_guided_loss(pred, eps, torch::zeros({1, 1, 2})).item<float>(), 3.5f);
    EXPECT_THROW(pose_mask_guided_loss(pred, eps, torch::zeros({2, 1, 2})), Error);
    EXPECT_THROW(pose_mask_guided_loss(torch::zeros({1, 2, 2, 1}), eps, mask), Error);
}

TEST(PoseMaskLoss, GradientsReachEveryTrainableParameter) {
    torch::manual_seed(11);
    PoseEncoder encoder;
    AttnResBlock block;
    std::vector<torch::Tensor> params = encoder->parameters();
    for (const auto& p : block->parameters()) params.push_back(p);
    torch::optim::AdamW optimizer(params, torch::optim::AdamWOptions(1e-3).weight_decay(0.01));

    const auto skeleton = torch::rand({2, 3, 64, 64}) * 2 - 1;
    const auto masks = build_pose_masks(skeleton, PoseMaskConfig::training());  // [4, 8, 8]
    const auto x = torch::randn({2, 320, 8, 8});
    const auto emb = torch::randn({2, 1280});
    const auto eps = torch::randn({2, 4, 8, 8});
    auto step = [&] {
        optimizer.zero_grad();
        const auto h = block(x, emb, encoder(skeleton), masks);
        const auto pred = h.narrow(1, 0, 4);  // stand-in for the frozen U-Net's epsilon head
        const auto loss = pose_mask_guided_loss(pred, eps, masks.narrow(0, 2, 2));
        loss.backward();
    };
    step();
    for (const auto& p : params) ASSERT_TRUE(p.grad().defined());
    // At initialisation the zero conv blocks the pose path: only it receives a non-zero gradient there.
    EXPECT_GT(encoder->zero_convs[0]->as<torch::nn::Conv2d>()->weight.grad().abs().max().item<float>(), 0.0f);
    EXPECT_EQ(encoder->pre_extractor[0]->as<torch::nn::Conv2d>()->weight.grad().abs().max().item<float>(), 0.0f);
    optimizer.step();
    step();
    for (const auto& item : encoder->named_parameters())
        EXPECT_GT(item.value().grad().abs().max().item<float>(), 0.0f) << "encoder " << item.key();
    for (const auto& item : block->named_parameters())
        EXPECT_GT(item.value().grad().abs().max().item<float>(), 0.0f) << "block " << item.key();
}

}  // namespace
}  // namespace stablepose
