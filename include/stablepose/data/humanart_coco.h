// Human-Art's COCO-style annotation JSON (stable-pose.md §11.4): images[] with `description` (the text) and
// `category` (the scenario), annotations[] with COCO-17 `keypoints` (x, y, v), v in {0, 1, 2}.
// Reference: Human-Art annotations/{training,validation}_humanart*.json; COCO keypoint format.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/data/dataset_sample.h"
#include "stablepose/pose/pose.h"

namespace stablepose {

// COCO visibility to confidence: v = 0 (not labelled) is a missing joint (-1, -1, 0); v = 1 (labelled, not
// visible) and v = 2 (visible) are confidence 1, above the official 0.02 threshold, as a detector's sure
// joint.
Joint coco_joint(double x, double y, int v);

// The images and people of one annotation file, indexed by image id.
class CocoAnnotations {
public:
    // Throws Error naming the file for unreadable JSON, missing fields, or keypoints that are not
    // 17 (x, y, v) triples with v in {0, 1, 2}.
    static CocoAnnotations load(const std::filesystem::path& annotations);
    // The same for an already parsed file (`annotations` names it in messages).
    static CocoAnnotations from_json(const nlohmann::ordered_json& root,
                                     const std::filesystem::path& annotations);

    struct Image {
        int64_t id = 0;
        std::string file_name;
        int width = 0;
        int height = 0;
        std::string description;
        std::string category;
        std::vector<Person> people;  // annotation order
    };

    const std::vector<Image>& images() const { return images_; }
    // Throws Error naming the file when the id is not in images[].
    const Image& image(int64_t image_id) const;
    // Samples in images[] order; file names are joined with `image_root`.
    std::vector<DatasetSample> samples(const std::filesystem::path& image_root) const;
    const std::filesystem::path& path() const { return path_; }

private:
    std::filesystem::path path_;
    std::vector<Image> images_;
    std::map<int64_t, size_t> index_;
};

// The image root Human-Art's file names are relative to: the folder above `annotations/` when the file sits
// in one (HumanArt/annotations/x.json -> HumanArt), otherwise the file's own folder.
std::filesystem::path default_coco_image_root(const std::filesystem::path& annotations);

// The people of one image, with the image's width and height from images[]. Parses the whole file.
Pose read_coco_pose(const std::filesystem::path& annotations, int64_t image_id);

}  // namespace stablepose
