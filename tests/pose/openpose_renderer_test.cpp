// OpenPose-18 drawing against controlnet_aux's draw_bodypose (transcribed in make_openpose_golden.py).
#include <cstring>

#include "stablepose/error.h"
#include "stablepose/pose/openpose_renderer.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(OpenPoseRenderer, PixelIdenticalToControlnetAux) {
    for (int c = 0; c < 4; ++c) {
        const auto name = "case" + std::to_string(c);
        const auto kp = testing::golden("openpose", name + ".keypoints");  // [P, 17, 3]
        const auto expected = testing::golden("openpose", name + ".image");  // [H, W, 3] uint8
        Pose pose{static_cast<int>(expected.size(1)), static_cast<int>(expected.size(0)), {}};
        for (int64_t p = 0; p < kp.size(0); ++p) {
            Person person;
            for (int64_t j = 0; j < 17; ++j)
                person.joints.push_back({kp[p][j][0].item<float>(), kp[p][j][1].item<float>(), kp[p][j][2].item<float>()});
            pose.people.push_back(person);
        }
        const auto image = render_openpose_skeleton(coco17_to_openpose18(pose, 0.02f), 0.02f);
        ASSERT_EQ(image.rows, expected.size(0));
        ASSERT_EQ(image.cols, expected.size(1));
        const auto got = torch::from_blob(image.data, {image.rows, image.cols, 3}, torch::kUInt8).clone();
        const auto differing = (got != expected).any(-1).sum().item<int64_t>();
        EXPECT_EQ(differing, 0) << name << ": " << differing << " pixels differ";
        EXPECT_GT(expected.to(torch::kInt32).sum().item<int64_t>(), 0) << name << " draws something";
    }
}

TEST(OpenPoseRenderer, ConversionPlacesTheNeckBetweenTheShoulders) {
    Person person{std::vector<Joint>(17)};
    person.joints[5] = {10, 20, 0.9f};  // left shoulder
    person.joints[6] = {30, 20, 0.5f};  // right shoulder
    person.joints[1] = {5, 5, 0.01f};   // left eye below the threshold
    const auto op = coco17_to_openpose18({64, 64, {person}}, 0.02f);
    const auto& s = openpose18_schema();
    EXPECT_EQ(s.num_joints(), 18);
    const auto& j = op.people[0].joints;
    EXPECT_EQ(j[s.joint_index("neck")], (Joint{20, 20, 0.5f}));
    EXPECT_EQ(j[s.joint_index("left_shoulder")], person.joints[5]);
    EXPECT_EQ(j[s.joint_index("right_shoulder")], person.joints[6]);
    EXPECT_EQ(j[s.joint_index("left_eye")], Joint::missing());
    person.joints[6] = Joint::missing();
    EXPECT_EQ(coco17_to_openpose18({64, 64, {person}}, 0.02f).people[0].joints[1], Joint::missing());
    EXPECT_THROW(render_openpose_skeleton({64, 64, {person}}, 0.02f), Error);  // 17 joints: not converted
}

}  // namespace
}  // namespace stablepose
