// COCO keypoint ground truth and results as the COCO API holds them after COCO() / loadRes() (xtcocotools
// coco.py, evaluation.md §3-§4): the records the keypoint evaluation reads, in file order.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <vector>

namespace stablepose {

inline constexpr int kCocoJoints = 17;

// (x, y, v) per joint in COCO-17 order (nose, l_eye, r_eye, ..., r_ankle): v is the GT label (> 0 labelled)
// or, for a detection, the joint score.
using CocoKeypoints = std::array<double, 3 * kCocoJoints>;

// Per-joint OKS sigmas exactly as both COCO APIs compute them, np.array([.26, .25, ...]) / 10.0 (§4.1):
// dividing at run time, not writing 0.026, keeps the last bit of each value.
inline constexpr std::array<double, kCocoJoints> kCocoSigmas = [] {
    constexpr std::array<double, kCocoJoints> tenths = {.26, .25, .25,  .35,  .35, .79, .79, .72, .72,
                                                        .62, .62, 1.07, 1.07, .87, .87, .89, .89};
    std::array<double, kCocoJoints> out{};
    for (int i = 0; i < kCocoJoints; ++i) out[i] = tenths[i] / 10.0;
    return out;
}();

// One ground-truth person ("annotations" entry of a COCO keypoint file).
struct CocoKeypointAnnotation {
    int64_t id = 0;  // may be 0 (the reference's GT has id 0); must be unique
    int64_t image_id = 0;
    int64_t category_id = 1;
    CocoKeypoints keypoints{};
    std::array<double, 4> bbox{};          // [x, y, w, h]; OKS measures against it when no joint is labelled
    double area = 0;                       // the OKS scale and the area-range key
    bool iscrowd = false;                  // xtcocotools' COCO() sets a missing iscrowd to False
    std::optional<int64_t> num_keypoints;  // pycocotools' ignore flag needs it; xtcocotools ignores it
};

struct CocoKeypointGroundTruth {
    std::vector<int64_t> image_ids;                   // "images"[*].id, file order
    std::vector<int64_t> category_ids;                // "categories"[*].id, file order
    std::vector<CocoKeypointAnnotation> annotations;  // file order
};

// One detected person ("results" entry), completed as loadRes() completes it.
struct CocoKeypointDetection {
    int64_t id = 0;  // 1..N in file order, as loadRes assigns
    int64_t image_id = 0;
    int64_t category_id = 1;
    CocoKeypoints keypoints{};
    double score = 0;
    double area = 0;  // loadRes: width x height of the box around all 17 joints (or of "bbox" when present)
};

// loadRes' area of a keypoint result: (max x - min x) * (max y - min y) over all 17 joints, scores ignored.
double keypoint_extent_area(const CocoKeypoints& keypoints);

}  // namespace stablepose
