// Accumulate and summarize (xtcocotools cocoeval.py COCOeval.accumulate, summarize/_summarizeKps).
#include "stablepose/eval/coco_accumulate.h"

#include <algorithm>
#include <limits>
#include <numeric>

#include "stablepose/eval/numpy_compat.h"

namespace stablepose {
namespace {

// One (category, area range) cell: fills precision[:, :, k, a] and recall[:, k, a].
void accumulate_cell(const std::vector<const ImageEvaluation*>& records, int k, int a,
                     CocoConvention convention, CocoAccumulation& out) {
    const auto& params = coco_keypoint_params();
    const size_t T = params.thresholds.size(), R = params.recall_thresholds.size();
    const size_t K = static_cast<size_t>(out.categories), A = static_cast<size_t>(out.area_ranges);
    // Concatenate the images' detections (each already cut to maxDets) and stable-sort by descending score.
    struct Ref {
        const ImageEvaluation* image;
        size_t index;
    };
    std::vector<Ref> dets;
    std::vector<double> scores;
    int64_t npig = 0;
    for (const ImageEvaluation* e : records) {
        for (size_t d = 0; d < e->scores.size(); ++d) {
            dets.push_back({e, d});
            scores.push_back(e->scores[d]);
        }
        for (bool ignored : e->gt_ignore) npig += !ignored;
    }
    if (npig == 0) return;
    std::vector<size_t> order(dets.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](size_t x, size_t y) { return scores[x] > scores[y]; });

    const size_t nd = order.size();
    std::vector<double> rc(nd), pr(nd);
    for (size_t t = 0; t < T; ++t) {
        double tp = 0, fp = 0;  // np.cumsum(...).astype(float64): integer counts, exact
        for (size_t i = 0; i < nd; ++i) {
            const Ref& r = dets[order[i]];
            const size_t D = r.image->scores.size();
            const bool ignored = r.image->dt_ignore[t * D + r.index];
            const bool matched = detection_matched(convention, r.image->dt_matches[t * D + r.index]);
            tp += matched && !ignored;
            fp += !matched && !ignored;
            rc[i] = tp / static_cast<double>(npig);
            pr[i] = tp / (fp + tp + std::numeric_limits<double>::epsilon());
        }
        out.recall[(t * K + k) * A + a] = nd ? rc[nd - 1] : 0.0;
        for (size_t i = nd; i-- > 1;)  // i = nd - 1 ... 1
            if (pr[i] > pr[i - 1]) pr[i - 1] = pr[i];
        for (size_t ri = 0; ri < R; ++ri) {
            // np.searchsorted(rc, r, side='left'): the first index with rc[i] >= r.
            const size_t i = static_cast<size_t>(
                std::lower_bound(rc.begin(), rc.end(), params.recall_thresholds[ri]) - rc.begin());
            out.precision[((t * R + ri) * K + k) * A + a] = i < nd ? pr[i] : 0.0;
        }
    }
}

constexpr int kEveryThreshold = -1;

// _summarize: mean of the entries > -1 of the selected slice, gathered in NumPy's C order, or -1.
double summarize_slice(const CocoAccumulation& acc, bool precision, int threshold, int area) {
    const int T = acc.thresholds, R = precision ? acc.recall_points : 1, K = acc.categories,
              A = acc.area_ranges;
    const std::vector<double>& values = precision ? acc.precision : acc.recall;
    std::vector<double> kept;
    for (int t = 0; t < T; ++t) {
        if (threshold != kEveryThreshold && t != threshold) continue;
        for (int r = 0; r < R; ++r)
            for (int k = 0; k < K; ++k) {
                const double v = values[((static_cast<size_t>(t) * R + r) * K + k) * A + area];
                if (v > -1) kept.push_back(v);
            }
    }
    return kept.empty() ? -1.0 : numpy_mean(kept);
}

// np.where(iouThr == p.iouThrs): the index of a threshold equal to `value`, or -2 (an empty slice, stat -1).
int threshold_index(double value) {
    const auto& thresholds = coco_keypoint_params().thresholds;
    const auto it = std::find(thresholds.begin(), thresholds.end(), value);
    return it == thresholds.end() ? -2 : static_cast<int>(it - thresholds.begin());
}

}  // namespace

CocoAccumulation accumulate(const std::vector<std::optional<ImageEvaluation>>& records, int categories,
                            int images, CocoConvention convention) {
    const auto& params = coco_keypoint_params();
    CocoAccumulation out;
    out.thresholds = static_cast<int>(params.thresholds.size());
    out.recall_points = static_cast<int>(params.recall_thresholds.size());
    out.categories = categories;
    out.area_ranges = static_cast<int>(params.area_ranges.size());
    out.precision.assign(
        static_cast<size_t>(out.thresholds) * out.recall_points * categories * out.area_ranges, -1.0);
    out.recall.assign(static_cast<size_t>(out.thresholds) * categories * out.area_ranges, -1.0);
    for (int k = 0; k < categories; ++k)
        for (int a = 0; a < out.area_ranges; ++a) {
            std::vector<const ImageEvaluation*> present;
            for (int i = 0; i < images; ++i) {
                const auto& record = records[(static_cast<size_t>(k) * out.area_ranges + a) * images + i];
                if (record) present.push_back(&*record);
            }
            if (!present.empty()) accumulate_cell(present, k, a, convention, out);
        }
    return out;
}

std::array<double, 10> summarize(const CocoAccumulation& acc) {
    constexpr int all = 0, medium = 1, large = 2, every = kEveryThreshold;
    const int at50 = threshold_index(.5), at75 = threshold_index(.75);
    return {summarize_slice(acc, true, every, all),     summarize_slice(acc, true, at50, all),
            summarize_slice(acc, true, at75, all),      summarize_slice(acc, true, every, medium),
            summarize_slice(acc, true, every, large),   summarize_slice(acc, false, every, all),
            summarize_slice(acc, false, at50, all),     summarize_slice(acc, false, at75, all),
            summarize_slice(acc, false, every, medium), summarize_slice(acc, false, every, large)};
}

}  // namespace stablepose
