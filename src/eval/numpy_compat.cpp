// NumPy's pairwise summation (numpy/_core/src/umath/loops_utils.h.src, pairwise_sum_DOUBLE) and linspace.
#include "stablepose/eval/numpy_compat.h"

#include <limits>

namespace stablepose {
namespace {

constexpr std::ptrdiff_t kPairwiseBlock = 128;  // PW_BLOCKSIZE

double pairwise_sum(const double* a, std::ptrdiff_t n) {
    if (n < 8) {
        double res = 0.0;
        for (std::ptrdiff_t i = 0; i < n; ++i) res += a[i];
        return res;
    }
    if (n <= kPairwiseBlock) {
        double r[8];
        for (int j = 0; j < 8; ++j) r[j] = a[j];
        std::ptrdiff_t i = 8;
        for (; i < n - (n % 8); i += 8)
            for (int j = 0; j < 8; ++j) r[j] += a[i + j];
        double res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for (; i < n; ++i) res += a[i];  // the non-multiple-of-8 rest
        return res;
    }
    std::ptrdiff_t n2 = n / 2;
    n2 -= n2 % 8;
    return pairwise_sum(a, n2) + pairwise_sum(a + n2, n - n2);
}

}  // namespace

double numpy_sum(std::span<const double> values) {
    return pairwise_sum(values.data(), static_cast<std::ptrdiff_t>(values.size()));
}

double numpy_mean(std::span<const double> values) {
    if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
    return numpy_sum(values) / static_cast<double>(values.size());
}

std::vector<double> numpy_linspace(double start, double stop, int num) {
    std::vector<double> out(static_cast<size_t>(num));
    const double step = (stop - start) / static_cast<double>(num - 1);
    for (int i = 0; i < num; ++i) out[static_cast<size_t>(i)] = static_cast<double>(i) * step + start;
    if (num > 1) out.back() = stop;
    return out;
}

}  // namespace stablepose
