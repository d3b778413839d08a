// Kernel Inception Distance (spec evaluation.md §8.5; torchmetrics KernelInceptionDistance): the unbiased MMD^2
// with the polynomial kernel k(x, y) = (gamma x.y + coef)^degree over random subsets of both feature sets.
#pragma once

#include <cstdint>
#include <vector>

#include <torch/types.h>

namespace stablepose {

struct KidOptions {
    int64_t subset_size = 1000;  // torchmetrics' default; the Stable-Pose protocol uses 200
    int64_t subsets = 100;
    int degree = 3;
    double gamma = 0.0;  // 0: 1 / feature dimension (torchmetrics' None)
    double coef = 1.0;
    uint64_t seed = 0;  // of the generator drawing the subsets; recorded with the result
};

struct KidResult {
    double mean = 0.0;
    double std = 0.0;            // population std over subsets (unbiased=False), as torchmetrics
    std::vector<double> values;  // one MMD^2 per subset
    int64_t subset_size = 0;
    uint64_t seed = 0;
};

// Unbiased MMD^2 of two equally sized subsets. real, fake: [m, d], m >= 2. Computed in float64: the reference
// keeps float32 features, whose kernel sums cancel to ~1e-4 relative; float64 gives the exact value of the same
// formula.
double polynomial_mmd(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options);

// real: [N, d], fake: [M, d]. Draws options.subsets pairs of subsets without replacement (randperm of each set,
// independently, from a CPU generator seeded with options.seed). Throws Error when subset_size exceeds a set.
KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options);

// Same with given subsets: real_subsets[i] and fake_subsets[i] are int64 index vectors of length subset_size.
KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options,
                                    const std::vector<torch::Tensor>& real_subsets,
                                    const std::vector<torch::Tensor>& fake_subsets);

}  // namespace stablepose
