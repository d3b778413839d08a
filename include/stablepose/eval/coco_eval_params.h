// The keypoint evaluation's parameters and switches: xtcocotools' Params.setKpParams (evaluation.md §4.1) and
// the conventions that tell xtcocotools, pycocotools and the CAP variants apart (§4.3-§4.4, §5).
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace stablepose {

// Which COCO API's keypoint rules to follow.
//   xtcocotools (default, what the papers ran): a GT is ignored when crowd or when no joint has v > 0;
//     detections without any joint score > 0 are dropped; match ids start at -1 ("matched" is >= 0), so an
//     annotation with id 0 matches normally.
//   pycocotools: a GT is ignored when crowd or num_keypoints == 0; no detection is dropped; match ids
//     start at 0 ("matched" is != 0), so a match to an annotation with id 0 counts as no match.
enum class CocoConvention { xtcocotools, pycocotools };

// The similarity that matches detections to GT: OKS (§4.2) or CAP's pose cosine similarity (§5).
enum class KeypointMetric { oks, cap };

// CAP's similarity. corrected (default): the detection's y vector from its y coordinates, and an undefined
// (NaN) similarity matches nothing. reference: the published code's "y := x" and its NaN matching (§5).
enum class CapForm { corrected, reference };

struct CocoEvalOptions {
    CocoConvention convention = CocoConvention::xtcocotools;
    KeypointMetric metric = KeypointMetric::oks;
    CapForm cap_form = CapForm::corrected;
};

CocoConvention parse_coco_convention(const std::string& name);  // "xtcocotools" | "pycocotools"
KeypointMetric parse_keypoint_metric(const std::string& name);  // "oks" | "cap"
std::string to_string(CocoConvention convention);
std::string to_string(KeypointMetric metric);
std::string to_string(CapForm form);

// Inclusive area range [lo, hi] of one summary column.
struct AreaRange {
    const char* label;
    double lo;
    double hi;
};

// Params.setKpParams: thresholds np.linspace(.5, .95, 10), recall points np.linspace(0, 1, 101), maxDets
// [20], area ranges all [0, 1e5**2], medium [32**2, 96**2], large [96**2, 1e5**2].
struct CocoKeypointParams {
    std::vector<double> thresholds;         // [T = 10]
    std::vector<double> recall_thresholds;  // [R = 101]
    int max_detections = 20;
    std::array<AreaRange, 3> area_ranges{
        {{"all", 0.0, 1e10}, {"medium", 1024.0, 9216.0}, {"large", 9216.0, 1e10}}};
};
const CocoKeypointParams& coco_keypoint_params();

// Names of the ten summary stats in COCO order (§4.6).
const std::array<std::string, 10>& coco_keypoint_stat_names();

// Match bookkeeping of each convention: the value an unmatched slot holds, and the tests the libraries apply
// (xtcocotools: -1 and >= 0; pycocotools: 0, "gtm > 0" for a taken GT and "dtm != 0" for a matched
// detection).
int64_t unmatched_id(CocoConvention convention);
bool gt_taken(CocoConvention convention, int64_t matched_detection_id);
bool detection_matched(CocoConvention convention, int64_t matched_gt_id);

}  // namespace stablepose
