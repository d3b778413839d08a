#include "stablepose/toyworld/skeleton3d.h"

#include <cmath>

#include <gtest/gtest.h>

#include "stablepose/toyworld/random.h"

namespace stablepose::toyworld {
namespace {

double distance(const cv::Vec3d& a, const cv::Vec3d& b) { return cv::norm(a - b); }

TEST(ToyworldSkeleton, RandomPosesKeepSegmentLengths) {
    const BodyShape b;
    for (int i = 0; i < 200; ++i) {
        Random rng = Random::for_sample(7, "training", static_cast<std::uint64_t>(i));
        const auto s = pose_skeleton(random_pose_angles(rng), rng.uniform(-180, 180));
        for (int side = 0; side < 2; ++side) {
            EXPECT_NEAR(distance(s.coco[5 + side], s.coco[7 + side]), b.upper_arm, 1e-9);
            EXPECT_NEAR(distance(s.coco[7 + side], s.coco[9 + side]), b.forearm, 1e-9);
            EXPECT_NEAR(distance(s.coco[11 + side], s.coco[13 + side]), b.thigh, 1e-9);
            EXPECT_NEAR(distance(s.coco[13 + side], s.coco[15 + side]), b.shin, 1e-9);
            EXPECT_NEAR(distance(s.coco[5 + side], s.coco[6 - side]), 2 * b.shoulder_half_width, 1e-9);
        }
        for (int j = 0; j < 5; ++j) EXPECT_NEAR(distance(s.coco[j], s.head_centre), b.head_radius, 1e-9);
        // Joints respect their limits: the elbow bends forwards only, so the angle at the elbow is >= 40 deg.
        for (int side = 0; side < 2; ++side) {
            const cv::Vec3d u = s.coco[5 + side] - s.coco[7 + side], f = s.coco[9 + side] - s.coco[7 + side];
            EXPECT_GE(std::acos(u.dot(f) / (cv::norm(u) * cv::norm(f))) * 180 / M_PI, 39.9);
        }
    }
}

TEST(ToyworldSkeleton, FrontViewPutsThePersonsLeftOnTheImageRight) {
    const auto front = pose_skeleton({}, 0);
    EXPECT_GT(front.coco[5][0], front.coco[6][0]);    // shoulders
    EXPECT_GT(front.coco[11][0], front.coco[12][0]);  // hips
    EXPECT_GT(front.coco[1][0], front.coco[2][0]);    // eyes
    EXPECT_GT(front.coco[0][2], front.head_centre[2]);  // the nose points at the camera
    const auto back = pose_skeleton({}, 180);
    EXPECT_LT(back.coco[5][0], back.coco[6][0]);
    EXPECT_LT(back.coco[11][0], back.coco[12][0]);
    EXPECT_LT(back.coco[0][2], back.head_centre[2]);
    const auto facing_right = pose_skeleton({}, 90);
    EXPECT_GT(facing_right.coco[0][0], facing_right.head_centre[0]);  // nose towards the image right
    EXPECT_LT(facing_right.coco[5][2], facing_right.coco[6][2]);      // the left shoulder is the far one
}

TEST(ToyworldSkeleton, RaisedLeftArmIsTheLeftArm) {
    PoseAngles a;
    a.arms[0].elevation = 160;  // the person's left arm up
    const auto s = pose_skeleton(a, 0);
    EXPECT_GT(s.coco[9][1], s.head_centre[1]);  // left wrist above the head
    EXPECT_LT(s.coco[10][1], s.pelvis[1] + 0.2);  // right wrist still down
    EXPECT_GT(s.coco[9][0], s.coco[10][0]);     // and on the image right in a front view
}

TEST(ToyworldSkeleton, KneesBendBackwardsAndElbowsForwards) {
    PoseAngles a;
    a.legs[0].knee = 90;
    a.arms[1].elbow = 90;
    const auto s = pose_skeleton(a, 0);  // facing the camera: forwards is +z
    EXPECT_LT(s.coco[15][2], s.coco[13][2] - 0.3);  // left ankle behind the knee
    EXPECT_GT(s.coco[10][2], s.coco[8][2] + 0.2);   // right wrist in front of the elbow
}

TEST(ToyworldSkeleton, ViewClassesAndRandomYaw) {
    EXPECT_EQ(classify_view(0), View::kFront);
    EXPECT_EQ(classify_view(44), View::kFront);
    EXPECT_EQ(classify_view(-46), View::kSide);
    EXPECT_EQ(classify_view(134), View::kSide);
    EXPECT_EQ(classify_view(-170), View::kBack);
    EXPECT_EQ(classify_view(190), View::kBack);
    EXPECT_EQ(classify_view(400), View::kFront);
    Random rng(3);
    for (int i = 0; i < 300; ++i) {
        const auto view = static_cast<View>(i % 3);
        EXPECT_EQ(classify_view(random_yaw(view, rng)), view);
    }
    EXPECT_EQ(view_name(View::kSide), "side");
}

TEST(ToyworldRandom, SameSampleSameNumbersAndSplitsDiffer) {
    Random a = Random::for_sample(5, "training", 3), b = Random::for_sample(5, "training", 3);
    Random c = Random::for_sample(5, "validation", 3), d = Random::for_sample(6, "training", 2);
    Random e = Random::for_sample(5, "training", 4);
    const auto first = a.next();
    EXPECT_EQ(first, b.next());
    EXPECT_NE(first, c.next());
    EXPECT_NE(first, d.next());
    EXPECT_NE(first, e.next());
    Random r(11);
    for (int i = 0; i < 1000; ++i) {
        const double u = r.uniform(2, 3);
        EXPECT_GE(u, 2);
        EXPECT_LT(u, 3);
        const int k = r.uniform_int(-1, 1);
        EXPECT_GE(k, -1);
        EXPECT_LE(k, 1);
    }
}

}  // namespace
}  // namespace stablepose::toyworld
