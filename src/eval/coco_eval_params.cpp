// Parameters and conventions of the keypoint evaluation (xtcocotools / pycocotools cocoeval.py Params).
#include "stablepose/eval/coco_eval_params.h"

#include "stablepose/error.h"
#include "stablepose/eval/numpy_compat.h"

namespace stablepose {

CocoConvention parse_coco_convention(const std::string& name) {
    if (name == "xtcocotools") return CocoConvention::xtcocotools;
    if (name == "pycocotools") return CocoConvention::pycocotools;
    fail("unknown COCO convention", "xtcocotools or pycocotools", name);
}

KeypointMetric parse_keypoint_metric(const std::string& name) {
    if (name == "oks") return KeypointMetric::oks;
    if (name == "cap") return KeypointMetric::cap;
    fail("unknown keypoint metric", "oks or cap", name);
}

std::string to_string(CocoConvention convention) {
    return convention == CocoConvention::xtcocotools ? "xtcocotools" : "pycocotools";
}

std::string to_string(KeypointMetric metric) { return metric == KeypointMetric::oks ? "oks" : "cap"; }

std::string to_string(CapForm form) { return form == CapForm::corrected ? "corrected" : "reference"; }

const CocoKeypointParams& coco_keypoint_params() {
    static const CocoKeypointParams params = [] {
        CocoKeypointParams p;
        p.thresholds = numpy_linspace(0.5, 0.95, 10);
        p.recall_thresholds = numpy_linspace(0.0, 1.0, 101);
        return p;
    }();
    return params;
}

const std::array<std::string, 10>& coco_keypoint_stat_names() {
    static const std::array<std::string, 10> names = {
        "AP @[.50:.95 | all]",    "AP @[.50 | all]",      "AP @[.75 | all]", "AP @[.50:.95 | medium]",
        "AP @[.50:.95 | large]",  "AR @[.50:.95 | all]",  "AR @[.50 | all]", "AR @[.75 | all]",
        "AR @[.50:.95 | medium]", "AR @[.50:.95 | large]"};
    return names;
}

int64_t unmatched_id(CocoConvention convention) { return convention == CocoConvention::xtcocotools ? -1 : 0; }

bool gt_taken(CocoConvention convention, int64_t matched_detection_id) {
    return convention == CocoConvention::xtcocotools ? matched_detection_id >= 0 : matched_detection_id > 0;
}

bool detection_matched(CocoConvention convention, int64_t matched_gt_id) {
    return convention == CocoConvention::xtcocotools ? matched_gt_id >= 0 : matched_gt_id != 0;
}

}  // namespace stablepose
