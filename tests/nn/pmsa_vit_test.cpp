#include <cmath>
#include <vector>

#include "stablepose/error.h"
#include "stablepose/nn/pmsa_vit.h"
#include "stablepose/nn/state_dict.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(PmsaVit, ParameterCountsAtTheOfficialConfiguration) {
    PmsaVit vit;
    EXPECT_EQ(parameter_count(*vit), 3'367'872);
    // stable-pose.md §13: tokeniser 633,472; one transformer layer 1,182,720; detokeniser 368,960.
    EXPECT_EQ(parameter_count(*vit->to_patch_embedding), 633'472);
    EXPECT_EQ(parameter_count(*vit->transformer->layers[0]), 1'182'720);
    EXPECT_EQ(parameter_count(*vit->to_out), 368'960);
}

TEST(PmsaVit, OfficialParameterNames) {
    PmsaVit vit;
    const auto names = state_dict(*vit);
    for (const auto* key : {"to_patch_embedding.0.weight", "to_patch_embedding.2.bias", "to_patch_embedding.3.weight",
                            "to_patch_embedding.4.weight", "transformer.layers.0.0.norm.weight",
                            "transformer.layers.1.0.to_qkv.weight", "transformer.layers.1.0.to_out.weight",
                            "transformer.layers.0.1.net.0.bias", "transformer.layers.0.1.net.1.weight",
                            "transformer.layers.0.1.net.3.bias", "to_out.1.weight"})
        EXPECT_TRUE(names.count(key)) << key;
    EXPECT_FALSE(names.count("transformer.layers.0.0.to_qkv.bias"));  // no bias, as the official code
    EXPECT_EQ(names.at("transformer.layers.0.0.to_out.weight").sizes(), (std::vector<int64_t>{512, 320}));
}

TEST(PmsaVit, ShapesAt512AndNonSquareGrids) {
    torch::NoGradGuard no_grad;
    PmsaVit vit;
    for (auto [h, w] : {std::pair{64, 64}, std::pair{48, 80}, std::pair{6, 10}}) {
        const auto x = torch::randn({1, 320, h, w});
        const auto masks = torch::randint(0, 2, {2, h, w}).to(torch::kFloat32);
        EXPECT_EQ(vit(x, masks).sizes(), x.sizes()) << h << "x" << w;
    }
    EXPECT_THROW(vit(torch::randn({1, 320, 7, 8})), Error);   // not divisible by the patch size
    EXPECT_THROW(vit(torch::randn({1, 64, 8, 8})), Error);    // wrong channels
    EXPECT_THROW(vit(torch::randn({2, 320, 8, 8}), torch::ones({2, 8, 8})), Error);  // one mask for 2 layers
    EXPECT_THROW(vit(torch::randn({2, 320, 8, 8}), torch::ones({6, 8, 8})), Error);  // three chunks
    EXPECT_THROW(vit(torch::randn({1, 320, 8, 8}), torch::ones({2, 4, 4})), Error);  // wrong grid
}

TEST(PmsaVit, MatchesThePythonReferenceWithOfficialNames) {
    torch::NoGradGuard no_grad;
    PmsaVit vit;
    load_state_dict(*vit, testing::golden_file("networks").tensors, "vit.");
    for (const std::string name : {"square", "wide"}) {
        const auto x = testing::golden("networks", name + ".input");
        const auto masks = testing::golden("networks", name + ".masks");
        EXPECT_LE(testing::max_abs_diff(vit(x, masks), testing::golden("networks", name + ".out_masked")), 1e-4) << name;
        EXPECT_LE(testing::max_abs_diff(vit(x), testing::golden("networks", name + ".out_plain")), 1e-4) << name;
        EXPECT_LE(testing::max_abs_diff(vit(x, torch::ones_like(masks)), testing::golden("networks", name + ".out_ones")),
                  1e-4) << name;
    }
}

// The position code is cached per grid, device and dtype: a module that has seen other grids (the transposed
// one has as many tokens) and another dtype gives what a fresh module with the same weights gives.
TEST(PmsaVit, CachedPositionCodeFollowsTheGridAndTheDtype) {
    torch::NoGradGuard no_grad;
    PmsaVit reused;
    for (auto [h, w] : {std::pair{8, 16}, std::pair{16, 8}, std::pair{8, 16}, std::pair{12, 12}}) {
        PmsaVit fresh;
        load_state_dict(*fresh, state_dict(*reused), "");
        const auto x = torch::randn({1, 320, h, w});
        const auto masks = torch::randint(0, 2, {2, h, w}).to(torch::kFloat32);
        EXPECT_TRUE(torch::equal(reused(x, masks), fresh(x, masks))) << h << "x" << w;
    }
    PmsaVit fresh;
    load_state_dict(*fresh, state_dict(*reused), "");
    reused->to(torch::kFloat64);
    fresh->to(torch::kFloat64);
    const auto x = torch::randn({1, 320, 8, 16}, torch::kFloat64);
    EXPECT_TRUE(torch::equal(reused(x), fresh(x)));
}

TEST(PmsaVit, PositionCodeMatchesReferenceForAnyGrid) {
    EXPECT_LE(testing::max_abs_diff(posemb_sincos_2d(16, 24, 512), testing::golden("networks", "posemb_16x24")), 1e-6);
    const auto pe = posemb_sincos_2d(2, 3, 8);  // token n = i*3 + j; x (column) first
    EXPECT_FLOAT_EQ(pe[4][0].item<float>(), std::sin(1.0f));         // token (1, 1): sin(j * w_0), w_0 = 1
    EXPECT_FLOAT_EQ(pe[5][0].item<float>(), std::sin(2.0f));         // token (1, 2)
    EXPECT_FLOAT_EQ(pe[5][4].item<float>(), std::sin(1.0f));         // sin(i * w_0) for i = 1
    EXPECT_NEAR(pe[5][1].item<float>(), std::sin(2.0f / 10000.0f), 1e-7);  // w_1 = 1 / 10000^(1/1)
}

TEST(PmsaVit, PatchifyOrderIsChannelFastest) {
    const auto x = torch::arange(2 * 4 * 4).view({1, 2, 4, 4}).to(torch::kFloat32);  // C = 2, 4x4
    const auto t = patchify(x, 2);                                                   // [1, 4, 8]
    // token 1 = (i 0, j 1) covers pixels (0..1, 2..3); index (p1*2 + p2)*C + c.
    EXPECT_EQ(t[0][1][0].item<float>(), x[0][0][0][2].item<float>());
    EXPECT_EQ(t[0][1][1].item<float>(), x[0][1][0][2].item<float>());
    EXPECT_EQ(t[0][1][2].item<float>(), x[0][0][0][3].item<float>());
    EXPECT_EQ(t[0][1][4].item<float>(), x[0][0][1][2].item<float>());
    EXPECT_TRUE(torch::equal(unpatchify(t, 2, 2, 2), x));
}

TEST(PmsaVit, TokenForegroundAndPairMask) {
    auto mask = torch::zeros({1, 4, 6});
    mask[0][3][5] = 1;  // bottom-right cell -> token (1, 2) = 5
    const auto fg = token_foreground(mask, 2);
    EXPECT_EQ(fg.sizes(), (std::vector<int64_t>{1, 6}));
    EXPECT_TRUE(fg[0][5].item<bool>());
    EXPECT_EQ(fg.sum().item<int64_t>(), 1);
    const auto allowed = allowed_pairs(fg);
    EXPECT_TRUE(allowed[0][5][0].item<bool>());   // foreground query sees everything
    EXPECT_TRUE(allowed[0][0][5].item<bool>());   // background query sees the foreground
    EXPECT_FALSE(allowed[0][0][1].item<bool>());  // background -> background is masked
}

// Naive reference: explicit loops over images, heads, queries and keys.
torch::Tensor naive_attention(PmsaAttention& attn, const torch::Tensor& x, const torch::Tensor& allowed, int heads,
                              int dh, bool per_image_min) {
    const auto b = x.size(0), n = x.size(1);
    const auto qkv = attn->to_qkv(attn->norm(x));  // [B, N, 3*h*d]
    const double scale = 1.0 / std::sqrt(static_cast<double>(dh));
    std::vector<double> logits(b * heads * n * n);
    auto L = [&](int64_t i, int hh, int64_t q, int64_t k) -> double& { return logits[((i * heads + hh) * n + q) * n + k]; };
    for (int64_t i = 0; i < b; ++i)
        for (int hh = 0; hh < heads; ++hh)
            for (int64_t q = 0; q < n; ++q)
                for (int64_t k = 0; k < n; ++k) {
                    double s = 0;
                    for (int d = 0; d < dh; ++d)
                        s += qkv[i][q][hh * dh + d].item<double>() * qkv[i][k][heads * dh + hh * dh + d].item<double>();
                    L(i, hh, q, k) = s * scale;
                }
    std::vector<double> fill(b, INFINITY);
    for (int64_t i = 0; i < b; ++i)
        for (int64_t j = 0; j < heads * n * n; ++j) fill[i] = std::min(fill[i], logits[i * heads * n * n + j]);
    const double global_min = *std::min_element(fill.begin(), fill.end());
    auto merged = torch::zeros({b, n, heads * dh}, torch::kFloat64);
    for (int64_t i = 0; i < b; ++i)
        for (int hh = 0; hh < heads; ++hh)
            for (int64_t q = 0; q < n; ++q) {
                std::vector<double> row(n);
                double top = -INFINITY, z = 0;
                for (int64_t k = 0; k < n; ++k) {
                    row[k] = allowed[i][q][k].item<bool>() ? L(i, hh, q, k) : (per_image_min ? fill[i] : global_min);
                    top = std::max(top, row[k]);
                }
                for (auto& r : row) z += (r = std::exp(r - top));
                for (int d = 0; d < dh; ++d) {
                    double acc = 0;
                    for (int64_t k = 0; k < n; ++k) acc += row[k] / z * qkv[i][k][2 * heads * dh + hh * dh + d].item<double>();
                    merged[i][q][hh * dh + d] = acc;
                }
            }
    return attn->to_out(merged.to(torch::kFloat32));
}

TEST(PmsaVit, MaskedAttentionMatchesNaiveLoopsIncludingAnImageWithoutForeground) {
    torch::manual_seed(3);
    torch::NoGradGuard no_grad;
    for (const auto scope : {MaskFillScope::kBatch, MaskFillScope::kImage}) {
        PmsaVitOptions o;
        o.dim = 12, o.heads = 2, o.dim_head = 3, o.fill_scope = scope;
        PmsaAttention attn(o);
        const auto x = torch::randn({3, 6, 12});
        auto fg = torch::zeros({3, 6}, torch::kBool);
        fg[0][1] = true, fg[0][4] = true, fg[1][0] = true;  // image 2: no foreground at all
        const auto allowed = allowed_pairs(fg);
        const auto expected = naive_attention(attn, x, allowed, 2, 3, scope == MaskFillScope::kImage);
        EXPECT_LE(testing::max_abs_diff(attn(x, allowed), expected), 1e-5);
        // Unmasked: fused (SDPA) and explicit paths agree with the loops given all-true pairs.
        const auto all = torch::ones({3, 6, 6}, torch::kBool);
        EXPECT_LE(testing::max_abs_diff(attn(x), naive_attention(attn, x, all, 2, 3, false)), 1e-5);
    }
}

TEST(PmsaVit, ImageWithoutForegroundGetsUniformAttention) {
    torch::NoGradGuard no_grad;
    PmsaVitOptions o;
    o.dim = 8, o.heads = 2, o.dim_head = 4, o.fused_unmasked_attention = false;
    PmsaAttention attn(o);
    const auto x = torch::randn({1, 5, 8});
    const auto none = allowed_pairs(torch::zeros({1, 5}, torch::kBool));
    // Uniform weights: every query gets the mean of the values.
    const auto v = attn->to_qkv(attn->norm(x)).chunk(3, -1)[2];  // [1, 5, 8]
    const auto expected = attn->to_out(v.mean(1, true).expand({1, 5, 8}));
    EXPECT_LE(testing::max_abs_diff(attn(x, none), expected), 1e-6);
}

TEST(PmsaVit, BatchMinimumCouplesImagesPerImageOptionDoesNot) {
    torch::manual_seed(5);
    torch::NoGradGuard no_grad;
    PmsaVitOptions o;
    o.dim = 8, o.heads = 2, o.dim_head = 4;
    PmsaAttention batch_min(o);
    o.fill_scope = MaskFillScope::kImage;
    PmsaAttention image_min(o);
    load_state_dict(*image_min, state_dict(*batch_min));
    auto min_logit = [&](const torch::Tensor& x) {
        const auto qkv = batch_min->to_qkv(batch_min->norm(x)).chunk(3, -1);
        return torch::matmul(qkv[0].view({-1, 5, 2, 4}).transpose(1, 2), qkv[1].view({-1, 5, 2, 4}).transpose(1, 2).transpose(-1, -2))
            .min()
            .item<float>();
    };
    const auto x0 = torch::randn({1, 5, 8});
    torch::Tensor x1 = torch::randn({1, 5, 8});
    while (min_logit(x1) >= min_logit(x0)) x1 = torch::randn({1, 5, 8});  // image 1 holds the batch minimum
    auto fg = torch::zeros({2, 5}, torch::kBool);
    fg[0][0] = true, fg[1][2] = true;
    const auto allowed = allowed_pairs(fg);
    const auto pair = torch::cat({x0, x1});
    const auto alone = allowed.narrow(0, 0, 1);
    // Official: image 0's result depends on image 1 (its disallowed logits take image 1's lower minimum).
    EXPECT_GT(testing::max_abs_diff(batch_min(pair, allowed)[0], batch_min(x0, alone)[0]), 1e-6);
    EXPECT_LE(testing::max_abs_diff(image_min(pair, allowed)[0], image_min(x0, alone)[0]), 1e-6);
}

}  // namespace
}  // namespace stablepose
