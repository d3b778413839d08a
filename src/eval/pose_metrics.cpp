// Aggregation of AP / CAP / PCE: Stable-Pose eval_pose.py (batch 4, drop_last), evaluation.md §7.
#include "stablepose/eval/pose_metrics.h"

#include <map>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/eval/coco_keypoint_eval.h"
#include "stablepose/eval/numpy_compat.h"

namespace stablepose {
namespace {

PoseMetrics evaluate_once(const CocoKeypointGroundTruth& gt,
                          const std::vector<CocoKeypointDetection>& detections,
                          const PoseMetricsOptions& options) {
    const auto evaluation = evaluate_coco_keypoints(gt, detections, options.coco);
    PoseMetrics m;
    m.stats = evaluation.stats;
    m.pce = person_count_error(gt, detections, options.pce_loop);
    m.images = m.images_evaluated = evaluation.images;
    m.gt_annotations = evaluation.gt_annotations;
    m.detections = evaluation.detections;
    m.detections_no_positive_score = evaluation.detections_no_positive_score;
    m.detections_other_category = evaluation.detections_other_category;
    return m;
}

PoseMetrics evaluate_batches(const CocoKeypointGroundTruth& gt,
                             const std::vector<CocoKeypointDetection>& detections,
                             const PoseMetricsOptions& options) {
    const size_t B = static_cast<size_t>(options.batch_size), N = gt.image_ids.size();
    if (options.batch_size < 1 || N < B)
        fail("cannot form one complete batch for the per-batch mean", fmt::format("at least {} images", B),
             fmt::format("{} images, batch size {}", N, options.batch_size),
             "use the dataset-level aggregation, or a smaller --batch-size");
    PoseMetrics m;
    m.images = static_cast<int64_t>(N);
    m.gt_annotations = static_cast<int64_t>(gt.annotations.size());
    m.detections = static_cast<int64_t>(detections.size());
    m.batches = static_cast<int64_t>(N / B);
    m.images_evaluated = m.batches * options.batch_size;
    // Image id -> (batch, position); images past the last complete batch are dropped (drop_last).
    std::map<int64_t, std::pair<size_t, int64_t>> slot;
    for (size_t i = 0; i < N; ++i)
        slot.emplace(gt.image_ids[i], std::pair{i / B, static_cast<int64_t>(i % B)});
    std::vector<CocoKeypointGroundTruth> batch_gt(m.batches);
    std::vector<std::vector<CocoKeypointDetection>> batch_dt(m.batches);
    for (size_t b = 0; b < batch_gt.size(); ++b) {
        batch_gt[b].category_ids = gt.category_ids;
        for (size_t i = 0; i < B; ++i) batch_gt[b].image_ids.push_back(static_cast<int64_t>(i));
    }
    for (const auto& ann : gt.annotations) {
        const auto it = slot.find(ann.image_id);
        if (it == slot.end())
            fail(fmt::format("GT annotation {} is on image {}, which the ground truth does not list", ann.id,
                             ann.image_id),
                 "annotations of listed images", fmt::format("image_id {}", ann.image_id));
        if (it->second.first >= batch_gt.size()) continue;
        auto copy = ann;
        copy.image_id = it->second.second;
        batch_gt[it->second.first].annotations.push_back(copy);
    }
    for (const auto& dt : detections) {
        const auto it = slot.find(dt.image_id);
        if (it == slot.end())
            fail(fmt::format("detection {} is on image {}, which the ground truth does not list", dt.id,
                             dt.image_id),
                 "results on the GT's images only", fmt::format("image_id {}", dt.image_id));
        if (it->second.first >= batch_dt.size()) continue;
        auto& list = batch_dt[it->second.first];
        auto copy = dt;
        copy.image_id = it->second.second;
        copy.id = static_cast<int64_t>(list.size()) + 1;  // loadRes numbers each batch's results anew
        list.push_back(copy);
    }
    std::vector<double> pces;
    for (size_t b = 0; b < batch_gt.size(); ++b) {
        pces.push_back(person_count_error(batch_gt[b], batch_dt[b], options.pce_loop));
        std::array<double, 10> stats{};  // all 0 for a batch without detections
        if (batch_dt[b].empty()) {
            ++m.batches_without_detections;
        } else {
            const auto evaluation = evaluate_coco_keypoints(batch_gt[b], batch_dt[b], options.coco);
            stats = evaluation.stats;
            m.detections_no_positive_score += evaluation.detections_no_positive_score;
            m.detections_other_category += evaluation.detections_other_category;
        }
        m.batches_ap_minus_one += stats[0] == -1;
        // The mean over the rows of a [batches, 10] table (NumPy's mean over axis 0 adds row after row).
        for (size_t s = 0; s < stats.size(); ++s) m.stats[s] += stats[s];
    }
    for (double& s : m.stats) s /= static_cast<double>(m.batches);
    m.pce = numpy_mean(pces);
    return m;
}

}  // namespace

std::string to_string(Aggregation aggregation) {
    return aggregation == Aggregation::dataset ? "dataset" : "batch-mean";
}

Aggregation parse_aggregation(const std::string& name) {
    if (name == "dataset") return Aggregation::dataset;
    if (name == "batch-mean") return Aggregation::batch_mean;
    fail("unknown aggregation", "dataset or batch-mean", name);
}

PoseMetrics evaluate_pose_metrics(const CocoKeypointGroundTruth& gt,
                                  const std::vector<CocoKeypointDetection>& detections,
                                  const PoseMetricsOptions& options) {
    return options.aggregation == Aggregation::dataset ? evaluate_once(gt, detections, options)
                                                       : evaluate_batches(gt, detections, options);
}

nlohmann::json to_json(const PoseMetrics& m, const PoseMetricsOptions& options) {
    nlohmann::json j;
    j["metric"] = to_string(options.coco.metric);
    j["convention"] = to_string(options.coco.convention);
    if (options.coco.metric == KeypointMetric::cap) j["cap_form"] = to_string(options.coco.cap_form);
    j["aggregation"] = to_string(options.aggregation);
    j["pce_loop"] = to_string(options.pce_loop);
    j["stats"] = m.stats;
    j["stat_names"] = coco_keypoint_stat_names();
    j["pce"] = m.pce;
    j["images"] = m.images;
    j["images_evaluated"] = m.images_evaluated;
    j["gt_annotations"] = m.gt_annotations;
    j["detections"] = m.detections;
    j["detections_no_positive_score"] = m.detections_no_positive_score;
    j["detections_other_category"] = m.detections_other_category;
    if (options.aggregation == Aggregation::batch_mean) {
        j["batch_size"] = options.batch_size;
        j["batches"] = m.batches;
        j["batches_ap_minus_one"] = m.batches_ap_minus_one;
        j["batches_without_detections"] = m.batches_without_detections;
    }
    return j;
}

}  // namespace stablepose
