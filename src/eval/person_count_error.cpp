// PCE (HumanSD utils/metrics/pose_metrics.py PoseMetrics.compute, human_number_diff).
#include "stablepose/eval/person_count_error.h"

#include <cmath>
#include <map>

#include <fmt/format.h>

#include "stablepose/error.h"
#include "stablepose/eval/numpy_compat.h"

namespace stablepose {

std::string to_string(PceLoop loop) {
    return loop == PceLoop::every_image ? "every_image" : "reference_index_shift";
}

double person_count_error(const CocoKeypointGroundTruth& gt,
                          const std::vector<CocoKeypointDetection>& detections, PceLoop loop) {
    std::map<int64_t, size_t> position;
    for (size_t i = 0; i < gt.image_ids.size(); ++i) position.emplace(gt.image_ids[i], i);
    const auto index_of = [&](int64_t image_id, const char* what) {
        const auto it = position.find(image_id);
        if (it == position.end())
            fail(fmt::format("a {} is on image {}, which the ground truth does not list", what, image_id),
                 "the GT's images only", fmt::format("image_id {}", image_id));
        return it->second;
    };
    std::vector<double> people(gt.image_ids.size(), 0.0), detected(gt.image_ids.size(), 0.0);
    for (const auto& ann : gt.annotations) {
        bool counted = false;
        for (int j = 0; j < kCocoJoints; ++j) counted = counted || ann.keypoints[3 * j] > 0;
        people[index_of(ann.image_id, "GT annotation")] += counted;
    }
    for (const auto& dt : detections) detected[index_of(dt.image_id, "detection")] += 1;

    size_t n = people.size();
    if (loop == PceLoop::reference_index_shift) {
        n = 0;  // len(gt_coco.imgToAnns): the images holding at least one GT
        for (double p : people) n += p > 0;
    }
    std::vector<double> differences(n);
    for (size_t i = 0; i < n; ++i) differences[i] = std::abs(people[i] - detected[i]);
    return numpy_mean(differences);  // NaN when n == 0
}

}  // namespace stablepose
