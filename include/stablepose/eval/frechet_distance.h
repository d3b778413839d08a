// Fréchet Inception Distance from feature matrices (spec evaluation.md §8.4; torchmetrics FrechetInceptionDistance).
#pragma once

#include <cstdint>

#include <torch/types.h>

namespace stablepose {

// Gaussian statistics of one feature set, accumulated in float64 as torchmetrics does: the sum, the sum of outer
// products and the count; mean = sum / N, cov = (outer - N * mean * mean^T) / (N - 1).
struct FeatureMoments {
    torch::Tensor mean;  // [d] float64
    torch::Tensor cov;   // [d, d] float64
    int64_t count = 0;
};

// features: [N, d] (any float dtype; converted to float64 first), N >= 2. Throws Error otherwise.
FeatureMoments feature_moments(const torch::Tensor& features);

// Tr((a * b)^{1/2}) for symmetric positive semi-definite a, b: [d, d] float64.
double trace_sqrt_product(const torch::Tensor& a, const torch::Tensor& b);

// ||mu_a - mu_b||^2 + Tr(cov_a) + Tr(cov_b) - 2 Tr((cov_a cov_b)^{1/2}), in float64.
double frechet_distance(const FeatureMoments& a, const FeatureMoments& b);

// real: [N, d], fake: [M, d]; the FID of the two sets.
double frechet_inception_distance(const torch::Tensor& real, const torch::Tensor& fake);

}  // namespace stablepose
