// Weighted pose cosine similarity of CAP (HumanSD utils/metrics/coco_similarity.py computeSimilarity, §5).
#include "stablepose/eval/pose_cosine_similarity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include <fmt/format.h>

#include "stablepose/error.h"
#include "stablepose/eval/numpy_compat.h"

namespace stablepose {
namespace {

// v <- (v - min v) / (max v - min v), NaN everywhere when the range is 0 (as NumPy's 0/0).
void min_max_normalise(double* v, int n) {
    const auto [lo, hi] = std::minmax_element(v, v + n);
    const double min = *lo, range = *hi - *lo;
    for (int i = 0; i < n; ++i) v[i] = (v[i] - min) / range;
}

// np.sqrt((v ** 2).sum()): pairwise summation of the squares.
double l2_norm(const double* v, int n) {
    double squares[kCocoJoints];
    for (int i = 0; i < n; ++i) squares[i] = v[i] * v[i];
    return std::sqrt(numpy_sum({squares, static_cast<size_t>(n)}));
}

// np.linalg.norm of a 1-D float64 array is sqrt(x.dot(x)), a BLAS dot whose summation order is the BLAS
// library's; a plain loop differs from it by at most an ulp or so.
double dot_norm(const double* v, int n) {
    double s = 0;
    for (int i = 0; i < n; ++i) s += v[i] * v[i];
    return std::sqrt(s);
}

}  // namespace

double pose_cosine_similarity(const CocoKeypoints& detection, const CocoKeypointAnnotation& gt,
                              CapForm form) {
    // g = [xg..., yg...], d = [xd..., yd...] over the n selected joints: [2n] each.
    double g[2 * kCocoJoints], d[2 * kCocoJoints];
    int n = 0;
    for (int j = 0; j < kCocoJoints; ++j)
        if (gt.keypoints[3 * j + 2] > 0) ++n;
    if (n == 0) {
        if (form == CapForm::reference)
            fail(fmt::format("CAP (reference form) is undefined for GT annotation {} of image {}: it has no "
                             "labelled joint",
                             gt.id, gt.image_id),
                 "at least one joint with v > 0 in every GT that shares an image with a detection",
                 "all 17 v values <= 0",
                 "the reference code raises here (np.max of an empty array); drop --cap-reference-compat to "
                 "treat such a GT as matching nothing");
        return -std::numeric_limits<double>::infinity();
    }
    double* xg = g;
    double* yg = g + n;
    double* xd = d;
    double* yd = d + n;
    for (int j = 0, i = 0; j < kCocoJoints; ++j) {
        if (!(gt.keypoints[3 * j + 2] > 0)) continue;
        const double sigma = kCocoSigmas[j];  // divide first, then select, as the reference does
        xg[i] = gt.keypoints[3 * j] / sigma;
        yg[i] = gt.keypoints[3 * j + 1] / sigma;
        xd[i] = detection[3 * j] / sigma;
        yd[i] = detection[3 * j + 1] / sigma;
        ++i;
    }
    for (double* v : {xg, yg, xd, yd}) min_max_normalise(v, n);
    const double norm_xg = l2_norm(xg, n), norm_yg = l2_norm(yg, n);
    const double norm_xd = l2_norm(xd, n), norm_yd = l2_norm(yd, n);
    for (int i = 0; i < n; ++i) {
        xg[i] /= norm_xg;
        yg[i] /= norm_yg;
        xd[i] /= norm_xd;
    }
    // The reference's "yd = xd / np.sqrt((yd**2).sum())" (y := x); the corrected form divides yd itself.
    for (int i = 0; i < n; ++i) yd[i] = (form == CapForm::reference ? xd[i] : yd[i]) / norm_yd;
    double products[2 * kCocoJoints];
    for (int i = 0; i < 2 * n; ++i) products[i] = g[i] * d[i];
    const double s =
        numpy_sum({products, static_cast<size_t>(2 * n)}) / (dot_norm(g, 2 * n) * dot_norm(d, 2 * n));
    if (std::isnan(s) && form == CapForm::corrected) return -std::numeric_limits<double>::infinity();
    return s;
}

}  // namespace stablepose
