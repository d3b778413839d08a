#include "stablepose/data/humanart_coco.h"

#include <cmath>

#include "stablepose/data/json_file.h"
#include "stablepose/error.h"

namespace stablepose {
namespace {

constexpr int kCocoJoints = 17;
const char* kWhat = "COCO keypoint annotation JSON";

const nlohmann::ordered_json& array_at(const nlohmann::ordered_json& root, const char* key,
                                       const std::string& file) {
    const auto it = root.find(key);
    if (!root.is_object() || it == root.end() || !it->is_array())
        fail(file + ": not a COCO keypoint annotation file (no \"" + key + "\" array)",
             "an object with \"images\" and \"annotations\" arrays",
             root.is_object() ? "no \"" + std::string(key) + "\" array"
                              : "a JSON " + std::string(root.type_name()),
             "Human-Art's annotations/*.json have this form (docs/data.md)");
    return *it;
}

std::string optional_string(const nlohmann::ordered_json& object, const char* key, const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end() || it->is_null()) return {};
    if (!it->is_string())
        fail(where + ": \"" + key + "\" is not a string", "a string", it->dump().substr(0, 80));
    return it->get<std::string>();
}

Person parse_keypoints(const nlohmann::ordered_json& annotation, const std::string& where) {
    const auto it = annotation.find("keypoints");
    if (it == annotation.end() || !it->is_array() || it->size() != 3 * kCocoJoints)
        fail(where + ": \"keypoints\" is not 17 (x, y, v) triples", "an array of 51 numbers",
             it == annotation.end() ? "nothing" : it->dump().substr(0, 80),
             "Human-Art uses the COCO-17 joints; keypoints_21 is not read");
    Person person;
    for (int j = 0; j < kCocoJoints; ++j) {
        const auto& x = (*it)[3 * j];
        const auto& y = (*it)[3 * j + 1];
        const auto& v = (*it)[3 * j + 2];
        const bool numbers = x.is_number() && y.is_number() && v.is_number();
        const double vd = numbers ? v.get<double>() : -1.0;
        if (!numbers || !std::isfinite(x.get<double>()) || !std::isfinite(y.get<double>()) ||
            (vd != 0.0 && vd != 1.0 && vd != 2.0))
            fail(where + ": joint " + std::to_string(j) + " is not a valid (x, y, v) triple",
                 "finite x and y and a visibility v of 0, 1 or 2",
                 x.dump() + ", " + y.dump() + ", " + v.dump());
        person.joints.push_back(coco_joint(x.get<double>(), y.get<double>(), static_cast<int>(vd)));
    }
    return person;
}

}  // namespace

Joint coco_joint(double x, double y, int v) {
    if (v == 0) return Joint::missing();
    return {static_cast<float>(x), static_cast<float>(y), 1.0f};
}

CocoAnnotations CocoAnnotations::load(const std::filesystem::path& annotations) {
    return from_json(read_json_file(annotations, kWhat), annotations);
}

CocoAnnotations CocoAnnotations::from_json(const nlohmann::ordered_json& root,
                                           const std::filesystem::path& annotations) {
    const std::string file = annotations.string();
    CocoAnnotations out;
    out.path_ = annotations;
    for (const auto& entry : array_at(root, "images", file)) {
        const std::string where = file + ": images[" + std::to_string(out.images_.size()) + "]";
        if (!entry.is_object())
            fail(where + " is not an object", "an image object", entry.dump().substr(0, 80));
        Image image;
        image.id = json_integer(entry, "id", where);
        image.file_name = json_string(entry, "file_name", where);
        image.width = static_cast<int>(json_integer(entry, "width", where));
        image.height = static_cast<int>(json_integer(entry, "height", where));
        if (image.width <= 0 || image.height <= 0)
            fail(where + ": image size must be positive", "width > 0 and height > 0",
                 std::to_string(image.width) + "x" + std::to_string(image.height));
        image.description = optional_string(entry, "description", where);
        image.category = optional_string(entry, "category", where);
        if (!out.index_.emplace(image.id, out.images_.size()).second)
            fail(where + ": duplicate image id " + std::to_string(image.id), "unique image ids",
                 "a repeated id");
        out.images_.push_back(std::move(image));
    }
    size_t index = 0;
    for (const auto& annotation : array_at(root, "annotations", file)) {
        std::string where = file + ": annotations[" + std::to_string(index++) + "]";
        if (!annotation.is_object())
            fail(where + " is not an object", "an annotation object", annotation.dump().substr(0, 80));
        if (annotation.contains("id") && annotation["id"].is_number_integer())
            where += " (id " + std::to_string(annotation["id"].get<int64_t>()) + ")";
        const int64_t image_id = json_integer(annotation, "image_id", where);
        const auto it = out.index_.find(image_id);
        if (it == out.index_.end())
            fail(where + ": image_id " + std::to_string(image_id) + " is not in images[]",
                 "the id of an image of this file", std::to_string(image_id));
        out.images_[it->second].people.push_back(parse_keypoints(annotation, where));
    }
    return out;
}

const CocoAnnotations::Image& CocoAnnotations::image(int64_t image_id) const {
    const auto it = index_.find(image_id);
    if (it == index_.end())
        fail(path_.string() + ": no image with id " + std::to_string(image_id), "an id from images[]",
             std::to_string(image_id) + " (the file has " + std::to_string(images_.size()) + " images)");
    return images_[it->second];
}

std::vector<DatasetSample> CocoAnnotations::samples(const std::filesystem::path& image_root) const {
    std::vector<DatasetSample> out;
    out.reserve(images_.size());
    for (const auto& image : images_) {
        DatasetSample s;
        s.id = std::to_string(image.id);
        s.image_path = image_root / image.file_name;
        s.people = image.people;
        s.caption = image.description;
        s.scenario = image.category;
        s.width = image.width;
        s.height = image.height;
        s.source = path_.string() + ": image id " + s.id;
        out.push_back(std::move(s));
    }
    return out;
}

std::filesystem::path default_coco_image_root(const std::filesystem::path& annotations) {
    const auto folder = std::filesystem::absolute(annotations).parent_path();
    return folder.filename() == "annotations" ? folder.parent_path() : folder;
}

Pose read_coco_pose(const std::filesystem::path& annotations, int64_t image_id) {
    const auto coco = CocoAnnotations::load(annotations);
    const auto& image = coco.image(image_id);
    Pose pose;
    pose.width = image.width;
    pose.height = image.height;
    pose.people = image.people;
    return pose;
}

}  // namespace stablepose
