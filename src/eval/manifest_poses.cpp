#include "stablepose/eval/manifest_poses.h"

#include <algorithm>
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "stablepose/error.h"
#include "stablepose/io/image_io.h"
#include "stablepose/pose/pose.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path manifest_path(const fs::path& p) { return fs::is_directory(p) ? p / "manifest.jsonl" : p; }

CocoKeypointAnnotation gt_person(const json& joints, int64_t image, int slot, GtBoxMode box, const std::string& where) {
    if (!joints.is_array() || joints.size() != kCocoJoints)
        fail(where + ": a person must have 17 [x, y, c] joints", "17 joints (COCO-17)",
             joints.is_array() ? std::to_string(joints.size()) : joints.type_name());
    CocoKeypointAnnotation a;
    a.id = image * kOfficialMaxPeople + slot;
    a.image_id = image;
    double min_x = std::numeric_limits<double>::infinity(), min_y = min_x, max_x = -min_x, max_y = -min_x;
    int64_t labelled = 0;
    for (int j = 0; j < kCocoJoints; ++j) {
        const auto& v = joints[static_cast<size_t>(j)];
        if (!v.is_array() || v.size() != 3 || !v[0].is_number() || !v[1].is_number() || !v[2].is_number())
            fail(where + ": joint " + std::to_string(j), "[x, y, confidence]", v.dump());
        double x = v[0].get<double>(), y = v[1].get<double>(), c = v[2].get<double>();
        if (!(c > kOfficialConfidenceThreshold)) x = -1, y = -1, c = 0;  // the loader's missing joint
        // float32, as the official pose tensor holds the values
        a.keypoints[3 * j] = static_cast<float>(x);
        a.keypoints[3 * j + 1] = static_cast<float>(y);
        a.keypoints[3 * j + 2] = static_cast<float>(c);
        if (x > 0) ++labelled;
        if (box == GtBoxMode::kReferenceAllEntries || c > 0) {
            min_x = std::min(min_x, a.keypoints[3 * j]);
            max_x = std::max(max_x, a.keypoints[3 * j]);
            min_y = std::min(min_y, a.keypoints[3 * j + 1]);
            max_y = std::max(max_y, a.keypoints[3 * j + 1]);
        }
    }
    a.num_keypoints = labelled;
    if (labelled > 0 && std::isfinite(min_x)) {
        a.bbox = {min_x, min_y, max_x - min_x, max_y - min_y};
        a.area = (max_y - min_y) * (max_x - min_x);
    }
    return a;
}

}  // namespace

ManifestPoses read_manifest_poses(const fs::path& dir_or_manifest, GtBoxMode box) {
    const auto path = manifest_path(dir_or_manifest);
    ManifestPoses out;
    out.images = read_image_manifest(path);
    std::ifstream in(path);
    std::string line;
    int64_t image = 0;
    for (int line_no = 1; std::getline(in, line); ++line_no) {
        if (line.empty()) continue;
        const auto where = path.string() + " line " + std::to_string(line_no);
        json entry;
        try {
            entry = json::parse(line);
        } catch (const json::exception& e) {
            fail(where + " is not JSON", "one JSON object per line", e.what());
        }
        out.groups.push_back(entry.value("scenario", std::string()));
        const auto pose = entry.contains("pose") ? entry.at("pose") : json(nullptr);
        out.has_pose.push_back(!pose.is_null());
        if (!pose.is_null()) {
            out.gt.image_ids.push_back(image);  // images without keypoints (skeleton sources) are not evaluated
            if (!pose.is_object() || !pose.contains("people") || !pose.at("people").is_array())
                fail(where + ": \"pose\"", "{\"schema\": \"coco17\", \"people\": [...]} or null", pose.dump());
            if (pose.value("schema", "coco17") != "coco17")
                fail(where + ": pose metrics need COCO-17 keypoints", "schema coco17", pose.value("schema", ""));
            const auto& people = pose.at("people");
            for (size_t s = 0; s < people.size() && s < static_cast<size_t>(kOfficialMaxPeople); ++s) {
                auto a = gt_person(people[s], image, static_cast<int>(s), box, where + " person " + std::to_string(s));
                if (a.num_keypoints.value_or(0) > 0) out.gt.annotations.push_back(a);
            }
        }
        ++image;
    }
    out.gt.category_ids = {1};
    if (static_cast<size_t>(image) != out.images.size())
        fail("manifest " + path.string() + " changed while reading", std::to_string(out.images.size()) + " lines",
             std::to_string(image));
    return out;
}

std::vector<CocoKeypointDetection> detect_all(TorchScriptPoseDetector& detector, const ManifestPoses& poses,
                                              bool swap_channels, bool progress) {
    const auto& images = poses.images;
    std::vector<CocoKeypointDetection> out;
    for (size_t i = 0; i < images.size(); ++i) {
        if (!poses.has_pose[i]) continue;
        for (const auto& person : detector.detect(read_image_rgb(images.files[i]), swap_channels)) {
            CocoKeypointDetection d;
            d.id = static_cast<int64_t>(out.size()) + 1;
            d.image_id = static_cast<int64_t>(i);
            d.keypoints = person.keypoints;
            d.score = person.score;
            d.area = keypoint_extent_area(d.keypoints);
            out.push_back(d);
        }
        if (progress && ((i + 1) % 50 == 0 || i + 1 == images.size()))
            spdlog::info("pose detector: {}/{} images", i + 1, images.size());
    }
    return out;
}

std::pair<CocoKeypointGroundTruth, std::vector<CocoKeypointDetection>> select_group(
    const ManifestPoses& poses, const std::vector<CocoKeypointDetection>& detections, const std::string& group) {
    std::map<int64_t, int64_t> renumber;
    CocoKeypointGroundTruth gt;
    gt.category_ids = poses.gt.category_ids;
    for (size_t i = 0; i < poses.groups.size(); ++i)
        if (poses.groups[i] == group && poses.has_pose[i]) {
            renumber[static_cast<int64_t>(i)] = static_cast<int64_t>(gt.image_ids.size());
            gt.image_ids.push_back(static_cast<int64_t>(gt.image_ids.size()));
        }
    for (auto a : poses.gt.annotations)
        if (renumber.count(a.image_id)) {
            const auto slot = a.id - a.image_id * kOfficialMaxPeople;
            a.image_id = renumber.at(a.image_id);
            a.id = a.image_id * kOfficialMaxPeople + slot;
            gt.annotations.push_back(a);
        }
    std::vector<CocoKeypointDetection> dets;
    for (auto d : detections)
        if (renumber.count(d.image_id)) {
            d.image_id = renumber.at(d.image_id);
            d.id = static_cast<int64_t>(dets.size()) + 1;
            dets.push_back(d);
        }
    return {gt, dets};
}

}  // namespace stablepose
