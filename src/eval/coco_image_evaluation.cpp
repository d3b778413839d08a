// Per-image matching (xtcocotools cocoeval.py COCOeval.evaluateImg; pycocotools' with its id conventions).
#include "stablepose/eval/coco_image_evaluation.h"

#include <algorithm>
#include <numeric>

namespace stablepose {

std::optional<ImageEvaluation> evaluate_image(const ImageCategoryInput& input, const AreaRange& range,
                                              CocoConvention convention) {
    const size_t G = input.gts.size(), D = input.dts.size();
    if (G == 0 && D == 0) return std::nullopt;
    const auto& thresholds = coco_keypoint_params().thresholds;
    const size_t T = thresholds.size();

    // _ignore per GT, then a stable sort that puts ignored GT last (np.argsort(kind='mergesort')).
    std::vector<bool> ignore(G);
    for (size_t g = 0; g < G; ++g) {
        const double area = input.gts[g]->area;
        ignore[g] = input.gt_ignore[g] || area < range.lo || area > range.hi;
    }
    std::vector<size_t> order(G);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return ignore[a] < ignore[b]; });

    ImageEvaluation out;
    out.scores.resize(D);
    for (size_t d = 0; d < D; ++d) out.scores[d] = input.dts[d]->score;
    out.gt_ignore.resize(G);
    for (size_t g = 0; g < G; ++g) out.gt_ignore[g] = ignore[order[g]];
    const int64_t none = unmatched_id(convention);
    out.dt_matches.assign(T * D, none);
    out.dt_ignore.assign(T * D, false);
    std::vector<int64_t> gt_matches(T * G, none);

    if (!input.similarity.empty()) {
        for (size_t t = 0; t < T; ++t) {
            for (size_t d = 0; d < D; ++d) {
                double best = std::min(thresholds[t], 1 - 1e-10);
                ptrdiff_t m = -1;
                for (size_t gs = 0; gs < G; ++gs) {
                    const CocoKeypointAnnotation& gt = *input.gts[order[gs]];
                    if (gt_taken(convention, gt_matches[t * G + gs]) && !gt.iscrowd) continue;
                    // A match to a regular GT is never given up for an ignored one (they come last).
                    if (m > -1 && !out.gt_ignore[m] && out.gt_ignore[gs]) break;
                    const double s = input.similarity[d * G + order[gs]];
                    // As the reference writes it: a NaN similarity is not "< best", so it matches (§5.6).
                    if (s < best) continue;
                    best = s;
                    m = static_cast<ptrdiff_t>(gs);
                }
                if (m == -1) continue;
                out.dt_ignore[t * D + d] = out.gt_ignore[m];
                out.dt_matches[t * D + d] = input.gts[order[m]]->id;
                gt_matches[t * G + m] = input.dts[d]->id;
            }
        }
    }
    // Unmatched detections outside the area range are ignored.
    for (size_t d = 0; d < D; ++d) {
        const double area = input.dts[d]->area;
        if (!(area < range.lo || area > range.hi)) continue;
        for (size_t t = 0; t < T; ++t)
            if (!detection_matched(convention, out.dt_matches[t * D + d])) out.dt_ignore[t * D + d] = true;
    }
    return out;
}

}  // namespace stablepose
