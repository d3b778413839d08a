#include "stablepose/eval/kernel_inception_distance.h"

#include <cmath>
#include <string>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {
namespace {

torch::Tensor polynomial_kernel(const torch::Tensor& x, const torch::Tensor& y, const KidOptions& o, double gamma) {
    return (x.mm(y.t()) * gamma + o.coef).pow(o.degree);
}

void check_sets(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options) {
    if (real.dim() != 2 || fake.dim() != 2 || real.size(1) != fake.size(1))
        fail("KID needs two feature matrices of the same width", "[N, d] and [M, d]",
             c10::str(real.sizes()) + " and " + c10::str(fake.sizes()));
    if (options.subset_size < 2 || options.subsets < 1)
        fail("KID: bad subset settings", "subset_size >= 2 and subsets >= 1",
             "subset_size " + std::to_string(options.subset_size) + ", subsets " + std::to_string(options.subsets));
    const int64_t smaller = std::min(real.size(0), fake.size(0));
    if (options.subset_size > smaller)
        fail("KID subset size exceeds an image set", "subset_size <= " + std::to_string(smaller) + " (real " +
             std::to_string(real.size(0)) + ", fake " + std::to_string(fake.size(0)) + " images)",
             "subset_size " + std::to_string(options.subset_size),
             "lower --kid-subset-size (the Stable-Pose protocol uses 200 per scenario) or add images");
}

}  // namespace

double polynomial_mmd(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options) {
    const auto x = real.to(torch::kFloat64), y = fake.to(torch::kFloat64);
    const double m = static_cast<double>(x.size(0));
    const double gamma = options.gamma > 0.0 ? options.gamma : 1.0 / static_cast<double>(x.size(1));
    const auto k_xx = polynomial_kernel(x, x, options, gamma);
    const auto k_yy = polynomial_kernel(y, y, options, gamma);
    const auto k_xy = polynomial_kernel(x, y, options, gamma);
    const double xx = (k_xx.sum() - k_xx.diagonal().sum()).item<double>();
    const double yy = (k_yy.sum() - k_yy.diagonal().sum()).item<double>();
    const double xy = k_xy.sum().item<double>();
    return (xx + yy) / (m * (m - 1.0)) - 2.0 * xy / (m * m);
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options) {
    check_sets(real, fake, options);
    auto generator = at::make_generator<at::CPUGeneratorImpl>(options.seed);
    std::vector<torch::Tensor> real_subsets, fake_subsets;
    for (int64_t i = 0; i < options.subsets; ++i) {
        // Same order of draws as torchmetrics: a real permutation, then a fake one, per subset.
        real_subsets.push_back(torch::randperm(real.size(0), generator, torch::kInt64).slice(0, 0, options.subset_size));
        fake_subsets.push_back(torch::randperm(fake.size(0), generator, torch::kInt64).slice(0, 0, options.subset_size));
    }
    return kernel_inception_distance(real, fake, options, real_subsets, fake_subsets);
}

KidResult kernel_inception_distance(const torch::Tensor& real, const torch::Tensor& fake, const KidOptions& options,
                                    const std::vector<torch::Tensor>& real_subsets,
                                    const std::vector<torch::Tensor>& fake_subsets) {
    check_sets(real, fake, options);
    if (real_subsets.size() != fake_subsets.size() || real_subsets.empty())
        fail("KID: one real and one fake index list per subset", "equal, non-zero counts",
             std::to_string(real_subsets.size()) + " real and " + std::to_string(fake_subsets.size()) + " fake lists");
    const auto r = real.to(torch::kCPU, torch::kFloat64), f = fake.to(torch::kCPU, torch::kFloat64);
    KidResult result;
    result.subset_size = options.subset_size;
    result.seed = options.seed;
    for (size_t i = 0; i < real_subsets.size(); ++i) {
        for (const auto* idx : {&real_subsets[i], &fake_subsets[i]})
            if (idx->dim() != 1 || idx->size(0) != options.subset_size)
                fail("KID: subset " + std::to_string(i) + " has the wrong length",
                     std::to_string(options.subset_size) + " indices", c10::str(idx->sizes()));
        result.values.push_back(polynomial_mmd(r.index_select(0, real_subsets[i].to(torch::kInt64)),
                                               f.index_select(0, fake_subsets[i].to(torch::kInt64)), options));
    }
    double sum = 0.0;
    for (double v : result.values) sum += v;
    result.mean = sum / static_cast<double>(result.values.size());
    double sq = 0.0;
    for (double v : result.values) sq += (v - result.mean) * (v - result.mean);
    result.std = std::sqrt(sq / static_cast<double>(result.values.size()));
    return result;
}

}  // namespace stablepose
