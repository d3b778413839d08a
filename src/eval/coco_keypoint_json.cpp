// COCO keypoint ground truth and results files (xtcocotools coco.py: COCO.__init__, createIndex, loadRes).
#include "stablepose/eval/coco_keypoint_json.h"

#include <algorithm>
#include <fstream>
#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

using nlohmann::json;

json load_json(const std::filesystem::path& path, const std::string& kind, const std::string& flag) {
    std::ifstream in(path);
    if (!in)
        fail(fmt::format("cannot open the COCO keypoint {} file", kind), "a readable JSON file",
             path.string(), fmt::format("check the {} path", flag));
    try {
        return json::parse(in);
    } catch (const json::parse_error& e) {
        fail(fmt::format("malformed JSON in the COCO keypoint {} file {}", kind, path.string()), "valid JSON",
             e.what(), "the file may be truncated; write it again with json.dump");
    } catch (const json::exception& e) {  // out_of_range 406: a number beyond double, e.g. 1e400
        fail(fmt::format("malformed JSON in the COCO keypoint {} file {}", kind, path.string()),
             "valid JSON with finite numbers", e.what(), "write it again with json.dump");
    }
}

std::string type_name(const json& j) { return j.type_name(); }

const json& field(const json& object, const char* key, const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end())
        fail(fmt::format("{} has no \"{}\"", where, key), fmt::format("a \"{}\" field", key), "no such key",
             "COCO keypoint files follow https://cocodataset.org/#format-data");
    return *it;
}

int64_t integer(const json& object, const char* key, const std::string& where) {
    const json& j = field(object, key, where);
    if (!j.is_number_integer())
        fail(fmt::format("{}: \"{}\" is not an integer", where, key), "an integer", j.dump(),
             "COCO ids are integers");
    return j.get<int64_t>();
}

double number(const json& j, const std::string& what) {
    if (!j.is_number()) fail(fmt::format("{} is not a number", what), "a number", j.dump());
    return j.get<double>();
}

const json& array_field(const json& object, const char* key, const std::string& where) {
    const json& j = field(object, key, where);
    if (!j.is_array()) fail(fmt::format("{}: \"{}\" is not an array", where, key), "an array", type_name(j));
    return j;
}

CocoKeypoints keypoints_of(const json& object, const std::string& where) {
    const json& kp = array_field(object, "keypoints", where);
    if (kp.size() != 3 * kCocoJoints)
        fail(fmt::format("{} has a keypoints array of the wrong length", where),
             fmt::format("{} numbers: 17 COCO body joints x (x, y, v)", 3 * kCocoJoints),
             fmt::format("{} numbers", kp.size()),
             "only the COCO-17 body layout is supported (its OKS sigmas are the ones defined)");
    CocoKeypoints out{};
    for (size_t i = 0; i < kp.size(); ++i) out[i] = number(kp[i], fmt::format("{}: keypoints[{}]", where, i));
    return out;
}

bool crowd_flag(const json& object, const std::string& where) {
    const auto it = object.find("iscrowd");
    if (it == object.end()) return false;  // xtcocotools' COCO() sets a missing iscrowd to False
    if (it->is_boolean()) return it->get<bool>();
    if (it->is_number_integer()) return it->get<int64_t>() != 0;
    fail(fmt::format("{}: \"iscrowd\" is neither 0/1 nor a boolean", where), "0, 1, true or false",
         it->dump());
}

std::vector<int64_t> ids_of(const json& doc, const char* key, const std::string& source) {
    const json& list = array_field(doc, key, source);
    if (list.empty())
        fail(fmt::format("{} has no \"{}\"", source, key), "at least one entry", "an empty array",
             "the evaluation runs over the ground truth's images and categories");
    std::vector<int64_t> ids;
    std::set<int64_t> seen;
    for (size_t i = 0; i < list.size(); ++i) {
        const int64_t id = integer(list[i], "id", fmt::format("{}: {}[{}]", source, key, i));
        if (!seen.insert(id).second)
            fail(fmt::format("{}: {} id {} appears twice", source, key, id), "unique ids", "a duplicate");
        ids.push_back(id);
    }
    return ids;
}

}  // namespace

double keypoint_extent_area(const CocoKeypoints& keypoints) {
    double x0 = keypoints[0], x1 = keypoints[0], y0 = keypoints[1], y1 = keypoints[1];
    for (int j = 1; j < kCocoJoints; ++j) {
        x0 = std::min(x0, keypoints[3 * j]);
        x1 = std::max(x1, keypoints[3 * j]);
        y0 = std::min(y0, keypoints[3 * j + 1]);
        y1 = std::max(y1, keypoints[3 * j + 1]);
    }
    return (x1 - x0) * (y1 - y0);
}

CocoKeypointGroundTruth parse_coco_keypoint_ground_truth(const json& doc, const std::string& source) {
    if (!doc.is_object())
        fail(fmt::format("{} is not COCO ground truth", source),
             "an object with \"images\", \"annotations\" and \"categories\"", type_name(doc),
             "a results file (a list of detections) goes to --dt, the ground truth to --gt");
    CocoKeypointGroundTruth gt;
    gt.image_ids = ids_of(doc, "images", source);
    gt.category_ids = ids_of(doc, "categories", source);
    const std::set<int64_t> images(gt.image_ids.begin(), gt.image_ids.end());
    const std::set<int64_t> categories(gt.category_ids.begin(), gt.category_ids.end());
    std::set<int64_t> ann_ids;
    const json& anns = array_field(doc, "annotations", source);
    for (size_t i = 0; i < anns.size(); ++i) {
        const std::string where = fmt::format("{}: annotations[{}]", source, i);
        const json& a = anns[i];
        if (!a.is_object()) fail(fmt::format("{} is not an object", where), "an object", type_name(a));
        CocoKeypointAnnotation ann;
        ann.id = integer(a, "id", where);
        ann.image_id = integer(a, "image_id", where);
        ann.category_id = integer(a, "category_id", where);
        ann.keypoints = keypoints_of(a, where);
        const json& bbox = array_field(a, "bbox", where);
        if (bbox.size() != 4)
            fail(fmt::format("{}: \"bbox\" is not [x, y, w, h]", where), "4 numbers", bbox.dump());
        for (int k = 0; k < 4; ++k) ann.bbox[k] = number(bbox[k], fmt::format("{}: bbox[{}]", where, k));
        ann.area = number(field(a, "area", where), where + ": area");
        ann.iscrowd = crowd_flag(a, where);
        if (a.contains("num_keypoints")) ann.num_keypoints = integer(a, "num_keypoints", where);
        // The COCO API indexes annotations by id (a duplicate replaces the first) and evaluates only images
        // and categories listed in the file (others are dropped silently): both are refused here.
        if (!ann_ids.insert(ann.id).second)
            fail(fmt::format("{}: annotation id {} appears twice", where, ann.id), "unique annotation ids",
                 "a duplicate", "the COCO API would keep only the last of them");
        if (!images.contains(ann.image_id))
            fail(fmt::format("{}: image_id {} is not in \"images\"", where, ann.image_id),
                 "a listed image id", std::to_string(ann.image_id), "add the image to \"images\"");
        if (!categories.contains(ann.category_id))
            fail(fmt::format("{}: category_id {} is not in \"categories\"", where, ann.category_id),
                 "a listed category id", std::to_string(ann.category_id));
        gt.annotations.push_back(ann);
    }
    return gt;
}

CocoKeypointGroundTruth read_coco_keypoint_ground_truth(const std::filesystem::path& path) {
    return parse_coco_keypoint_ground_truth(load_json(path, "ground truth", "--gt"), path.string());
}

std::vector<CocoKeypointDetection> parse_coco_keypoint_results(const json& doc, const std::string& source) {
    if (!doc.is_array())
        fail(fmt::format("{} is not a COCO results file", source), "a list of detections", type_name(doc),
             "the ground truth (an object with \"images\") goes to --gt, the detections to --dt");
    // loadRes decides the kind of results from the first entry.
    bool area_from_bbox = false;
    if (!doc.empty()) {
        const json& first = doc[0];
        if (first.is_object() && first.contains("caption"))
            fail(fmt::format("{} holds captions", source), "keypoint results", "\"caption\" entries");
        area_from_bbox = first.is_object() && first.contains("bbox") && first["bbox"] != json::array();
        if (!area_from_bbox && first.is_object() && first.contains("segmentation"))
            fail(fmt::format("{} holds segmentation results", source), "keypoint results",
                 "\"segmentation\" without \"bbox\"", "mask areas are not supported; give keypoints only");
    }
    std::vector<CocoKeypointDetection> out;
    out.reserve(doc.size());
    for (size_t i = 0; i < doc.size(); ++i) {
        const std::string where = fmt::format("{}: result [{}]", source, i);
        const json& r = doc[i];
        if (!r.is_object()) fail(fmt::format("{} is not an object", where), "an object", type_name(r));
        CocoKeypointDetection d;
        d.id = static_cast<int64_t>(i) + 1;
        d.image_id = integer(r, "image_id", where);
        d.category_id = integer(r, "category_id", where);
        d.keypoints = keypoints_of(r, where);
        d.score = number(field(r, "score", where), where + ": score");
        if (area_from_bbox) {
            const json& bbox = array_field(r, "bbox", where);
            if (bbox.size() != 4)
                fail(fmt::format("{}: \"bbox\" is not [x, y, w, h]", where), "4 numbers", bbox.dump(),
                     "the first result has a bbox, so loadRes takes every area from the bboxes");
            d.area = number(bbox[2], where + ": bbox[2]") * number(bbox[3], where + ": bbox[3]");
        } else {
            d.area = keypoint_extent_area(d.keypoints);
        }
        out.push_back(d);
    }
    return out;
}

std::vector<CocoKeypointDetection> read_coco_keypoint_results(const std::filesystem::path& path) {
    return parse_coco_keypoint_results(load_json(path, "results", "--dt"), path.string());
}

}  // namespace stablepose
