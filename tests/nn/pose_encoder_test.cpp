#include "stablepose/error.h"
#include "stablepose/nn/pose_encoder.h"
#include "stablepose/nn/state_dict.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(PoseEncoder, ParameterCountAndOfficialNames) {
    PoseEncoder encoder;
    EXPECT_EQ(parameter_count(*encoder), 831'104);
    const auto names = state_dict(*encoder);
    EXPECT_EQ(names.size(), 14u);  // 7 convs, weight and bias
    for (const auto* key : {"pre_extractor.0.weight", "pre_extractor.2.weight", "pre_extractor.4.weight",
                            "pre_extractor.6.weight", "pre_extractor.8.bias", "extractors.0.0.weight",
                            "zero_convs.0.weight", "zero_convs.0.bias"})
        EXPECT_TRUE(names.count(key)) << key;
    EXPECT_EQ(names.at("extractors.0.0.weight").sizes(), (std::vector<int64_t>{192, 128, 3, 3}));
}

TEST(PoseEncoder, OutputIsExactlyZeroAtInitialisation) {
    torch::NoGradGuard no_grad;
    PoseEncoder encoder;
    const auto out = encoder(torch::rand({2, 3, 128, 96}) * 2 - 1);
    EXPECT_EQ(out.sizes(), (std::vector<int64_t>{2, 192, 16, 12}));
    EXPECT_EQ(out.abs().max().item<float>(), 0.0f);
    // ... while the features before the zero conv are not.
    EXPECT_GT(encoder->extractors[0]->as<torch::nn::Sequential>()->forward(
                             encoder->pre_extractor->forward(torch::rand({1, 3, 64, 64})))
                  .abs()
                  .max()
                  .item<float>(),
              0.0f);
}

TEST(PoseEncoder, OfficialSizeGivesTheLatentGrid) {
    torch::NoGradGuard no_grad;
    PoseEncoder encoder;
    EXPECT_EQ(encoder(torch::zeros({1, 3, 512, 512})).sizes(), (std::vector<int64_t>{1, 192, 64, 64}));
    EXPECT_THROW(encoder(torch::zeros({1, 3, 60, 64})), Error);
}

TEST(PoseEncoder, MatchesThePythonReference) {
    torch::NoGradGuard no_grad;
    PoseEncoder encoder;
    load_state_dict(*encoder, testing::golden_file("networks").tensors, "encoder.weights.");
    const auto out = encoder(testing::golden("networks", "encoder.input"));
    EXPECT_LE(testing::max_abs_diff(out, testing::golden("networks", "encoder.out")), 1e-4);
}

}  // namespace
}  // namespace stablepose
