// People and their keypoints, with the official confidence threshold and person limit.
// Reference: `ldm/data/dataset_pose.py` (max_person_num 10, keypoint_thresh 0.02, missing joint (-1, -1, 0)).
#pragma once

#include <string>
#include <vector>

#include <torch/types.h>

#include "stablepose/pose/keypoint_schema.h"

namespace stablepose {

// Official dataset constants (stable-pose.md §11.3).
inline constexpr float kOfficialConfidenceThreshold = 0.02f;
inline constexpr int kOfficialMaxPeople = 10;

// One joint in image pixels. A missing joint is (-1, -1, 0), as in the official pose tensors.
struct Joint {
    float x = -1.0f;
    float y = -1.0f;
    float confidence = 0.0f;

    static Joint missing() { return {}; }
    bool operator==(const Joint&) const = default;
};

struct Person {
    std::vector<Joint> joints;  // schema.num_joints() entries
};

// All people of one image, with the size of the image their coordinates refer to.
struct Pose {
    int width = 0;
    int height = 0;
    std::vector<Person> people;

    // Throws Error when a person's joint count differs from the schema or a value is not finite.
    void validate(const KeypointSchema& schema, const std::string& source = "pose") const;
    // The same people at another image size (coordinates scaled; missing joints stay missing).
    Pose resized(int new_width, int new_height) const;
};

// The official dense layout: [max_people, J, 3] float32, unused slots and missing joints (-1, -1, 0).
// People past max_people are dropped, as the official loader does; the caller decides whether to warn.
torch::Tensor pose_to_tensor(const Pose& pose, const KeypointSchema& schema, int max_people = kOfficialMaxPeople);

}  // namespace stablepose
