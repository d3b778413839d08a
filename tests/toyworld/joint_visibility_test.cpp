#include "stablepose/toyworld/joint_visibility.h"

#include <cmath>

#include <gtest/gtest.h>

#include "stablepose/toyworld/scene.h"
#include "toyworld/toyworld_test_util.h"

namespace stablepose::toyworld {
namespace {

using testing::test_figure;
using testing::test_scene;

std::vector<Joint> keypoints_of(const Scene& scene, size_t figure) {
    return figure_keypoints(place_figures(scene), figure, scene.width, scene.height);
}

TEST(ToyworldVisibility, SideViewHidesTheFarShoulderAndHip) {
    // Yaw 90 faces the image right, so the person's left side is the far one; yaw -90 the reverse. The arms
    // point forwards: hanging down, the near forearm would cover the near hip in a profile.
    PoseAngles arms_forward;
    arms_forward.arms[0] = arms_forward.arms[1] = {90, 90, 0, 10};
    for (const double yaw : {90.0, -90.0}) {
        SCOPED_TRACE(yaw);
        const auto k = keypoints_of(test_scene({test_figure(yaw, arms_forward)}), 0);
        const int far = yaw > 0 ? 0 : 1, near = 1 - far;
        EXPECT_EQ(k[5 + far].confidence, kOccludedConfidence);    // far shoulder
        EXPECT_EQ(k[5 + near].confidence, kVisibleConfidence);    // near shoulder
        EXPECT_EQ(k[11 + far].confidence, kOccludedConfidence);   // far hip
        EXPECT_EQ(k[11 + near].confidence, kVisibleConfidence);
        EXPECT_EQ(k[1 + far].confidence, kOccludedConfidence);    // far eye: behind the head
        EXPECT_EQ(k[1 + near].confidence, kVisibleConfidence);
        EXPECT_EQ(k[3 + far].confidence, kOccludedConfidence);    // far ear
        EXPECT_EQ(k[3 + near].confidence, kVisibleConfidence);
        EXPECT_EQ(k[0].confidence, kVisibleConfidence);           // the nose in profile
        // The hidden shoulder projects onto the body, inside the image, near the visible one.
        EXPECT_NEAR(k[5].x, k[6].x, 6.0);
    }
}

TEST(ToyworldVisibility, FrontViewLeftIsOnTheImageRightAndBackViewReversed) {
    const auto front = keypoints_of(test_scene({test_figure(0)}), 0);
    for (const auto& j : front) EXPECT_EQ(j.confidence, kVisibleConfidence);
    EXPECT_GT(front[5].x, front[6].x + 20);  // the person's left shoulder on the image right
    EXPECT_GT(front[11].x, front[12].x + 8);
    EXPECT_GT(front[1].x, front[2].x);
    EXPECT_GT(front[3].x, front[4].x);
    EXPECT_GT(front[9].x, front[10].x);

    const auto back = keypoints_of(test_scene({test_figure(180)}), 0);
    EXPECT_LT(back[5].x, back[6].x - 20);
    EXPECT_LT(back[11].x, back[12].x - 8);
    EXPECT_LT(back[9].x, back[10].x);
    for (const int j : {3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16})
        EXPECT_EQ(back[j].confidence, kVisibleConfidence) << "joint " << j;
    for (const int j : {0, 1, 2}) EXPECT_EQ(back[j].confidence, kOccludedConfidence) << "joint " << j;
}

TEST(ToyworldVisibility, ANearerFigureHidesTheOneBehind) {
    // Two identical figures at the same place: the nearer (second) covers every joint of the farther.
    const auto scene = test_scene({test_figure(0), test_figure(0)});
    const auto placed = place_figures(scene);
    const auto far = figure_keypoints(placed, 0, 128, 128), near = figure_keypoints(placed, 1, 128, 128);
    for (int j = 0; j < 17; ++j) {
        EXPECT_EQ(far[j].confidence, kOccludedConfidence) << "joint " << j;
        EXPECT_EQ(near[j].confidence, kVisibleConfidence) << "joint " << j;
        EXPECT_EQ(far[j].x, near[j].x);
    }
    // Moved half an image to the side, the far figure is in full view again.
    auto apart = scene;
    apart.figures[0].centre_u = 20;
    apart.figures[1].centre_u = 108;
    for (const auto& j : keypoints_of(apart, 0)) EXPECT_EQ(j.confidence, kVisibleConfidence);
}

TEST(ToyworldVisibility, HangingArmCoversTheNearHipInProfile) {
    const auto k = keypoints_of(test_scene({test_figure(90)}), 0);
    EXPECT_EQ(k[12].confidence, kOccludedConfidence);  // right hip behind the right forearm
    EXPECT_EQ(k[10].confidence, kVisibleConfidence);   // the right wrist itself
}

TEST(ToyworldVisibility, ArmBehindTheBackIsHidden) {
    PoseAngles a;
    a.arms[0] = {30, -90, -90, 100};  // left upper arm backwards, forearm bent inwards across the back
    const auto front = keypoints_of(test_scene({test_figure(0, a)}), 0);
    EXPECT_EQ(front[9].confidence, kOccludedConfidence);  // left wrist behind the torso
    const auto back = keypoints_of(test_scene({test_figure(180, a)}), 0);
    EXPECT_EQ(back[9].confidence, kVisibleConfidence);    // seen from behind it is in front
}

TEST(ToyworldVisibility, JointsOutsideTheImage) {
    auto f = test_figure(0);
    f.centre_u = -6;  // the right half of the body (image left) leaves the image
    const auto k = keypoints_of(test_scene({f}), 0);
    EXPECT_LT(k[6].x, 0);
    EXPECT_EQ(k[6].confidence, kOutsideConfidence);
    EXPECT_GE(k[5].x, 0);
    EXPECT_EQ(k[5].confidence, kVisibleConfidence);
    for (const auto& j : k) {
        if (j.x < 0) {
            EXPECT_EQ(j.confidence, kOutsideConfidence);
        }
    }
}

TEST(ToyworldVisibility, FrontDepthIsTheNearestSurface) {
    const auto placed = place_figures(test_scene({test_figure(0)}));
    const auto& f = placed[0];
    const cv::Vec2d head = f.placement.project(f.skeleton.head_centre);
    EXPECT_NEAR(front_depth(f, head[0], head[1]), f.skeleton.head_centre[2] + f.shape.head_radius, 1e-9);
    EXPECT_FALSE(std::isfinite(front_depth(f, 1, 1)));  // a corner of the image is background
}

}  // namespace
}  // namespace stablepose::toyworld
