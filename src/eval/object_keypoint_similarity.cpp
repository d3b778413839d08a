// OKS (xtcocotools cocoeval.py COCOeval.computeOks, iouType 'keypoints', use_area=True).
#include "stablepose/eval/object_keypoint_similarity.h"

#include <algorithm>
#include <cmath>
#include <limits>

#include "stablepose/eval/numpy_compat.h"

namespace stablepose {

double object_keypoint_similarity(const CocoKeypoints& detection, const CocoKeypointAnnotation& gt) {
    constexpr double eps = std::numeric_limits<double>::epsilon();  // np.spacing(1)
    const auto& g = gt.keypoints;
    int k1 = 0;
    for (int j = 0; j < kCocoJoints; ++j) k1 += g[3 * j + 2] > 0;
    const auto& bb = gt.bbox;
    const double x0 = bb[0] - bb[2], x1 = bb[0] + bb[2] * 2;
    const double y0 = bb[1] - bb[3], y1 = bb[1] + bb[3] * 2;
    double kept[kCocoJoints];
    int n = 0;
    for (int j = 0; j < kCocoJoints; ++j) {
        const double xd = detection[3 * j], yd = detection[3 * j + 1];
        double dx, dy;
        if (k1 > 0) {
            if (!(g[3 * j + 2] > 0)) continue;  // e = e[vg > 0]
            dx = xd - g[3 * j];
            dy = yd - g[3 * j + 1];
        } else {
            dx = std::max(0.0, x0 - xd) + std::max(0.0, xd - x1);
            dy = std::max(0.0, y0 - yd) + std::max(0.0, yd - y1);
        }
        const double var = (kCocoSigmas[j] * 2) * (kCocoSigmas[j] * 2);  // vars = (sigmas * 2)**2
        const double e = (dx * dx + dy * dy) / var / (gt.area + eps) / 2;
        kept[n++] = std::exp(-e);
    }
    return numpy_sum({kept, static_cast<size_t>(n)}) / n;  // np.sum(np.exp(-e)) / e.shape[0]
}

}  // namespace stablepose
