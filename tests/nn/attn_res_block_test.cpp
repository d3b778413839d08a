#include "stablepose/error.h"
#include "stablepose/nn/attn_res_block.h"
#include "stablepose/nn/state_dict.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(AttnResBlock, ParameterCountIncludingViTAndCondConv) {
    AttnResBlock block;
    EXPECT_EQ(parameter_count(*block), 6'174'912);
    EXPECT_EQ(parameter_count(*block->cond_conv), 553'280);
    const auto names = state_dict(*block);
    for (const auto* key : {"in_layers.2.weight", "emb_layers.1.weight", "out_layers.3.weight", "cond_conv.bias",
                            "attn_layer.to_out.1.weight"})
        EXPECT_TRUE(names.count(key)) << key;
    EXPECT_FALSE(names.count("norm.weight"));  // GroupNorm without affine parameters
}

TEST(AttnResBlock, ShapesAt512AndNonSquare) {
    torch::NoGradGuard no_grad;
    AttnResBlock block;
    for (auto [h, w] : {std::pair{64, 64}, std::pair{32, 48}}) {
        const auto x = torch::randn({1, 320, h, w});
        const auto out = block(x, torch::randn({1, 1280}), torch::randn({1, 192, h, w}), torch::ones({2, h, w}));
        EXPECT_EQ(out.sizes(), x.sizes());
    }
    EXPECT_THROW(block(torch::randn({1, 320, 8, 8}), torch::randn({1, 1280}), torch::randn({1, 192, 4, 4})), Error);
    EXPECT_THROW(block(torch::randn({1, 320, 8, 8}), torch::randn({2, 1280}), torch::randn({1, 192, 8, 8})), Error);
}

TEST(AttnResBlock, MatchesThePythonReference) {
    torch::NoGradGuard no_grad;
    AttnResBlock block;
    load_state_dict(*block, testing::golden_file("networks").tensors, "block.weights.");
    const auto out = block(testing::golden("networks", "block.x"), testing::golden("networks", "block.emb"),
                           testing::golden("networks", "block.pose"), testing::golden("networks", "block.masks"));
    EXPECT_LE(testing::max_abs_diff(out, testing::golden("networks", "block.out")), 1e-4);
}

TEST(StateDict, MismatchesNameTheKey) {
    AttnResBlock block;
    auto weights = state_dict(*block);
    weights["cond_conv.weight"] = torch::zeros({320, 191, 3, 3});
    try {
        load_state_dict(*block, weights);
        FAIL();
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("cond_conv.weight"), std::string::npos);
    }
    weights = state_dict(*block);
    weights.erase("in_layers.2.bias");
    EXPECT_THROW(load_state_dict(*block, weights), Error);
    weights = state_dict(*block);
    weights["attn_layer.extra"] = torch::zeros({1});
    EXPECT_THROW(load_state_dict(*block, weights), Error);
}

}  // namespace
}  // namespace stablepose
