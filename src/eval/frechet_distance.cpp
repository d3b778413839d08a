#include "stablepose/eval/frechet_distance.h"

#include <torch/torch.h>

#include "stablepose/error.h"

namespace stablepose {
namespace {

// Square root of a symmetric PSD matrix through its eigendecomposition; eigenvalues below zero (rounding noise of
// a rank-deficient covariance) are clamped to zero. m: [d, d] float64.
torch::Tensor symmetric_sqrt(const torch::Tensor& m) {
    const auto [values, vectors] = torch::linalg_eigh(0.5 * (m + m.t()));
    return vectors.mm(torch::diag(values.clamp_min(0.0).sqrt())).mm(vectors.t());
}

}  // namespace

FeatureMoments feature_moments(const torch::Tensor& features) {
    if (features.dim() != 2 || features.size(0) < 2)
        fail("FID needs a feature matrix with at least two rows", "[N, d] with N >= 2", c10::str(features.sizes()),
             "compare image sets of at least two images each");
    const auto f = features.to(torch::kCPU, torch::kFloat64);
    const int64_t n = f.size(0);
    FeatureMoments m;
    m.count = n;
    // The reference accumulates sum and f^T f, then subtracts N mu mu^T: kept as is so the rounding matches.
    const auto sum = f.sum(0);
    const auto outer = f.t().mm(f);
    m.mean = sum / static_cast<double>(n);
    const auto mu = m.mean.unsqueeze(0);
    m.cov = (outer - static_cast<double>(n) * mu.t().mm(mu)) / static_cast<double>(n - 1);
    return m;
}

// The reference takes Tr(sqrtm(a b)) with scipy's Schur method (torchmetrics 0.11) or sum(sqrt(eigvals(a b)))
// of the non-symmetric product (torchmetrics >= 1.0). LibTorch has no sqrtm, and eig of a non-symmetric product
// returns complex noise for rank-deficient covariances. a b is similar to s b s with s = a^{1/2}, which is
// symmetric PSD, so the trace is the sum of the square roots of its eigenvalues from two symmetric
// decompositions (spec §8.4): same value, computed stably.
double trace_sqrt_product(const torch::Tensor& a, const torch::Tensor& b) {
    if (a.dim() != 2 || a.sizes() != b.sizes() || a.size(0) != a.size(1))
        fail("trace_sqrt_product: expected two square matrices of the same size", "[d, d] and [d, d]",
             c10::str(a.sizes()) + " and " + c10::str(b.sizes()));
    const auto a64 = a.to(torch::kFloat64), b64 = b.to(torch::kFloat64);
    const auto s = symmetric_sqrt(a64);
    const auto m = s.mm(b64).mm(s);
    const auto values = torch::linalg_eigvalsh(0.5 * (m + m.t()));
    return values.clamp_min(0.0).sqrt().sum().item<double>();
}

double frechet_distance(const FeatureMoments& a, const FeatureMoments& b) {
    if (a.mean.sizes() != b.mean.sizes())
        fail("FID: the two feature sets have different dimensions", c10::str(a.mean.sizes()), c10::str(b.mean.sizes()),
             "extract both sets with the same network and --dims");
    const double mean_term = (a.mean - b.mean).square().sum().item<double>();
    const double traces = a.cov.trace().item<double>() + b.cov.trace().item<double>();
    return mean_term + traces - 2.0 * trace_sqrt_product(a.cov, b.cov);
}

double frechet_inception_distance(const torch::Tensor& real, const torch::Tensor& fake) {
    return frechet_distance(feature_moments(real), feature_moments(fake));
}

}  // namespace stablepose
