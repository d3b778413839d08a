#include "stablepose/pose/pose.h"

#include <cmath>

#include "stablepose/error.h"

namespace stablepose {

void Pose::validate(const KeypointSchema& schema, const std::string& source) const {
    if (width <= 0 || height <= 0)
        fail(source + ": image size must be positive", "width > 0 and height > 0",
             std::to_string(width) + "x" + std::to_string(height));
    for (size_t p = 0; p < people.size(); ++p) {
        const auto& joints = people[p].joints;
        if (static_cast<int>(joints.size()) != schema.num_joints())
            fail(source + ": person " + std::to_string(p) + " has the wrong number of joints",
                 std::to_string(schema.num_joints()) + " joints (schema " + schema.name + ")",
                 std::to_string(joints.size()));
        for (size_t j = 0; j < joints.size(); ++j) {
            const auto& k = joints[j];
            if (!std::isfinite(k.x) || !std::isfinite(k.y) || !std::isfinite(k.confidence))
                fail(source + ": person " + std::to_string(p) + ", joint " + std::to_string(j) + " (" +
                         schema.joint_names[j] + ") is not a finite number",
                     "finite x, y, confidence", std::to_string(k.x) + ", " + std::to_string(k.y) + ", " +
                                                    std::to_string(k.confidence),
                     "mark a missing joint as [-1, -1, 0]");
        }
    }
}

Pose Pose::resized(int new_width, int new_height) const {
    if (new_width <= 0 || new_height <= 0)
        fail("resize: image size must be positive", "width > 0 and height > 0",
             std::to_string(new_width) + "x" + std::to_string(new_height));
    Pose out = *this;
    out.width = new_width;
    out.height = new_height;
    const float sx = static_cast<float>(new_width) / static_cast<float>(width);
    const float sy = static_cast<float>(new_height) / static_cast<float>(height);
    for (auto& person : out.people)
        for (auto& joint : person.joints)
            if (!(joint.x == -1.0f && joint.y == -1.0f)) {
                joint.x *= sx;
                joint.y *= sy;
            }
    return out;
}

torch::Tensor pose_to_tensor(const Pose& pose, const KeypointSchema& schema, int max_people) {
    const int num_joints = schema.num_joints();
    auto out = torch::empty({max_people, num_joints, 3}, torch::kFloat32);
    auto a = out.accessor<float, 3>();
    for (int p = 0; p < max_people; ++p)
        for (int j = 0; j < num_joints; ++j) {
            const Joint k = p < static_cast<int>(pose.people.size()) ? pose.people[p].joints.at(j) : Joint::missing();
            a[p][j][0] = k.x;
            a[p][j][1] = k.y;
            a[p][j][2] = k.confidence;
        }
    return out;
}

}  // namespace stablepose
