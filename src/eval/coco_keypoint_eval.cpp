// COCO keypoint evaluation (xtcocotools cocoeval.py COCOeval._prepare, evaluate, computeOks, accumulate,
// summarize; HumanSD coco_similarity.py COCOevalSimilarity for CAP).
#include "stablepose/eval/coco_keypoint_eval.h"

#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>

#include "stablepose/error.h"
#include "stablepose/eval/object_keypoint_similarity.h"
#include "stablepose/eval/pose_cosine_similarity.h"

namespace stablepose {
namespace {

int labelled_joints(const CocoKeypoints& keypoints) {
    int k = 0;
    for (int j = 0; j < kCocoJoints; ++j) k += keypoints[3 * j + 2] > 0;
    return k;
}

// _prepare's ignore flag of a GT annotation.
bool gt_ignored(const CocoKeypointAnnotation& ann, CocoConvention convention) {
    if (convention == CocoConvention::xtcocotools) return ann.iscrowd || labelled_joints(ann.keypoints) == 0;
    if (!ann.num_keypoints)
        fail(fmt::format("GT annotation {} (image {}) has no num_keypoints", ann.id, ann.image_id),
             "\"num_keypoints\" in every annotation under --convention pycocotools", "no such key",
             "pycocotools ignores a GT by num_keypoints == 0; xtcocotools (the default) counts labelled "
             "joints");
    return ann.iscrowd || *ann.num_keypoints == 0;
}

double similarity(const CocoKeypointDetection& dt, const CocoKeypointAnnotation& gt,
                  const CocoEvalOptions& options) {
    return options.metric == KeypointMetric::oks ? object_keypoint_similarity(dt.keypoints, gt)
                                                 : pose_cosine_similarity(dt.keypoints, gt, options.cap_form);
}

}  // namespace

CocoKeypointEvaluation evaluate_coco_keypoints(const CocoKeypointGroundTruth& gt,
                                               const std::vector<CocoKeypointDetection>& detections,
                                               const CocoEvalOptions& options) {
    const auto& params = coco_keypoint_params();
    // p.imgIds / p.catIds: sorted unique ids of the GT.
    std::vector<int64_t> images = gt.image_ids, categories = gt.category_ids;
    std::sort(images.begin(), images.end());
    images.erase(std::unique(images.begin(), images.end()), images.end());
    std::sort(categories.begin(), categories.end());
    categories.erase(std::unique(categories.begin(), categories.end()), categories.end());
    if (images.empty() || categories.empty())
        fail("the ground truth lists no images or no categories", "at least one of each",
             fmt::format("{} images, {} categories", images.size(), categories.size()));
    std::map<int64_t, size_t> image_index, category_index;
    for (size_t i = 0; i < images.size(); ++i) image_index[images[i]] = i;
    for (size_t k = 0; k < categories.size(); ++k) category_index[categories[k]] = k;
    const size_t I = images.size(), K = categories.size();

    CocoKeypointEvaluation out;
    out.images = static_cast<int64_t>(I);
    out.categories = static_cast<int64_t>(K);
    out.gt_annotations = static_cast<int64_t>(gt.annotations.size());
    out.detections = static_cast<int64_t>(detections.size());

    // _prepare: GT and detections per (image, category) in file order, with the convention's ignore and drop
    // rules.
    std::vector<ImageCategoryInput> cells(K * I);
    for (const auto& ann : gt.annotations) {
        const auto img = image_index.find(ann.image_id);
        const auto cat = category_index.find(ann.category_id);
        if (img == image_index.end() || cat == category_index.end())
            fail(fmt::format("GT annotation {} names image {} / category {}, which the GT does not list",
                             ann.id, ann.image_id, ann.category_id),
                 "annotations of listed images and categories", "an unlisted one");
        auto& cell = cells[cat->second * I + img->second];
        cell.gts.push_back(&ann);
        const bool ignored = gt_ignored(ann, options.convention);
        cell.gt_ignore.push_back(ignored);
        out.gt_ignored += ignored;
    }
    for (const auto& dt : detections) {
        const auto img = image_index.find(dt.image_id);
        if (img == image_index.end())
            fail(fmt::format("detection {} is on image {}, which the ground truth does not list", dt.id,
                             dt.image_id),
                 "results on the GT's images only", fmt::format("image_id {}", dt.image_id),
                 "the results and the ground truth must come from the same image set (loadRes asserts this)");
        const auto cat = category_index.find(dt.category_id);
        if (cat == category_index.end()) {
            ++out.detections_other_category;
            continue;
        }
        if (options.convention == CocoConvention::xtcocotools && labelled_joints(dt.keypoints) == 0) {
            ++out.detections_no_positive_score;
            continue;
        }
        cells[cat->second * I + img->second].dts.push_back(&dt);
        ++out.detections_evaluated;
    }

    // computeOks / computeSimilarity: detections stable-sorted by descending score and cut to maxDets, then
    // the [D x G] similarity matrix when both sides are present.
    for (auto& cell : cells) {
        std::stable_sort(cell.dts.begin(), cell.dts.end(),
                         [](const CocoKeypointDetection* a, const CocoKeypointDetection* b) {
                             return a->score > b->score;
                         });
        if (cell.dts.size() > static_cast<size_t>(params.max_detections))
            cell.dts.resize(params.max_detections);
        if (cell.gts.empty() || cell.dts.empty()) continue;
        const size_t G = cell.gts.size(), D = cell.dts.size();
        cell.similarity.resize(D * G);
        for (size_t g = 0; g < G; ++g)
            for (size_t d = 0; d < D; ++d)
                cell.similarity[d * G + g] = similarity(*cell.dts[d], *cell.gts[g], options);
    }

    // evalImgs in the order [category, area range, image].
    const size_t A = params.area_ranges.size();
    std::vector<std::optional<ImageEvaluation>> records;
    records.reserve(K * A * I);
    for (size_t k = 0; k < K; ++k)
        for (size_t a = 0; a < A; ++a)
            for (size_t i = 0; i < I; ++i)
                records.push_back(
                    evaluate_image(cells[k * I + i], params.area_ranges[a], options.convention));

    out.accumulation = accumulate(records, static_cast<int>(K), static_cast<int>(I), options.convention);
    out.stats = summarize(out.accumulation);
    return out;
}

}  // namespace stablepose
