// NumPy's float64 reductions and linspace, reproduced operation for operation (numpy 2.x loops_utils.h.src
// and function_base.py), so that the COCO evaluation matches the Python evaluators to the last bit where it
// can. Hand-written: no C++ library reproduces NumPy's summation order.
#pragma once

#include <cstddef>
#include <span>
#include <vector>

namespace stablepose {

// np.sum / np.add.reduce of a contiguous float64 array: pairwise summation with 8 accumulators in blocks of
// at most 128 values, halves split on multiples of 8 above that.
double numpy_sum(std::span<const double> values);

// np.mean of a contiguous float64 array: numpy_sum(values) / n (NaN for an empty array, as NumPy's warning
// case).
double numpy_mean(std::span<const double> values);

// np.linspace(start, stop, num) with endpoint=True: start + i * ((stop - start) / (num - 1)), the last value
// set exactly to stop. The COCO thresholds compare against these exact values.
std::vector<double> numpy_linspace(double start, double stop, int num);

}  // namespace stablepose
