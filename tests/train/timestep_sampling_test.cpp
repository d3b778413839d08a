#include "stablepose/error.h"
#include "stablepose/train/timestep_sampling.h"
#include "test_util.h"

namespace stablepose {
namespace {

// diffusers' T2I-Adapter example: timesteps = ((1 - u**3) * T).long().clamp(0, T - 1).
TEST(TimestepSampling, CubicMatchesTheT2IAdapterFormula) {
    const auto u = torch::tensor({0.0f, 0.5f, 0.9f, 0.999f, 0.25f});
    const auto t = cubic_timesteps(u, 1000);
    ASSERT_EQ(t.scalar_type(), torch::kInt64);
    // What torch gives for the same float32 u (diffusers' lines run in Python): 1000 -> clamped 999,
    // 1000 (1 - 0.125) = 875, 1000 (1 - 0.729) = 271, 2.997 -> 2, 1000 (1 - 1/64) = 984.375 -> 984.
    const std::vector<int64_t> expected{999, 875, 271, 2, 984};
    for (size_t i = 0; i < expected.size(); ++i)
        EXPECT_EQ(t[static_cast<int64_t>(i)].item<int64_t>(), expected[i]) << "u = " << u[static_cast<int64_t>(i)].item<float>();
}

TEST(TimestepSampling, CubicFavoursNoisyTimesteps) {
    auto generator = at::make_generator<at::CPUGeneratorImpl>(5);
    const auto t = cubic_timesteps(torch::rand({200000}, generator, torch::kFloat32), 1000).to(torch::kFloat64);
    EXPECT_NEAR(t.mean().item<double>(), 749.5, 2.0);  // E[(1 - u^3) T] = 3T/4, minus the truncation's 1/2
    EXPECT_NEAR((t >= 500).to(torch::kFloat64).mean().item<double>(), std::cbrt(0.5), 0.005);  // P(u^3 <= 1/2)
    EXPECT_GE(t.min().item<double>(), 0);
    EXPECT_LE(t.max().item<double>(), 999);
    EXPECT_THROW(cubic_timesteps(torch::zeros({2}, torch::kInt64), 1000), Error);
}

}  // namespace
}  // namespace stablepose
