#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/pose/skeleton_renderer.h"
#include "test_util.h"

namespace stablepose {
namespace {

Person person_with(std::initializer_list<std::pair<int, Joint>> set_joints, int num_joints = 17) {
    Person p{std::vector<Joint>(num_joints, Joint::missing())};
    for (const auto& [j, k] : set_joints) p.joints[j] = k;
    return p;
}

Rgb at(const cv::Mat& img, int x, int y) {
    const auto v = img.at<cv::Vec3b>(y, x);
    return {v[0], v[1], v[2]};
}

const Rgb kBlack{0, 0, 0};

TEST(SkeletonRenderer, LimbMidpointsAndJointCentresHaveTheLimbColour) {
    // left shoulder (5) -> left elbow (7) is limb 6, colour (86, 219, 127).
    Pose pose{512, 512, {person_with({{5, {100, 300, 0.9f}}, {7, {300, 300, 0.8f}}})}};
    const auto img = render_skeleton(pose, coco17_schema());
    EXPECT_EQ(at(img, 200, 300), (Rgb{86, 219, 127}));
    EXPECT_EQ(at(img, 100, 300), (Rgb{86, 219, 127}));
    EXPECT_EQ(at(img, 300, 300), (Rgb{86, 219, 127}));
    EXPECT_EQ(at(img, 200, 296), (Rgb{86, 219, 127}));  // inside the 10-px line
    EXPECT_EQ(at(img, 200, 290), kBlack);               // outside it
    EXPECT_EQ(at(img, 10, 10), kBlack);
    // The tensor form is img / 255 * 2 - 1, RGB first.
    const auto t = render_skeleton_tensor(pose, coco17_schema());
    EXPECT_FLOAT_EQ(t[0][300][200].item<float>(), 86.0f / 255 * 2 - 1);
    EXPECT_FLOAT_EQ(t[1][300][200].item<float>(), 219.0f / 255 * 2 - 1);
    EXPECT_FLOAT_EQ(t[2][10][10].item<float>(), -1.0f);
}

TEST(SkeletonRenderer, JointAtOrBelowTheThresholdDrawsNothing) {
    Pose pose{128, 128, {person_with({{5, {20, 60, 0.9f}}, {7, {100, 60, 0.02f}}})}};
    EXPECT_EQ(cv::countNonZero(render_skeleton(pose, coco17_schema()).reshape(1)), 0);
    pose.people[0].joints[7].confidence = 0.021f;
    EXPECT_GT(cv::countNonZero(render_skeleton(pose, coco17_schema()).reshape(1)), 0);
    // A lower threshold is a setting, not a hard-coded constant.
    pose.people[0].joints[7].confidence = 0.02f;
    SkeletonStyle style;
    style.confidence_threshold = 0.01f;
    EXPECT_GT(cv::countNonZero(render_skeleton(pose, coco17_schema(), style).reshape(1)), 0);
}

TEST(SkeletonRenderer, LaterLimbsAndPeopleOverwriteEarlierOnes) {
    // Limbs 6 (5-7) and 10 (5-11) share the left shoulder: limb 10 is drawn later.
    Pose pose{256, 256,
              {person_with({{5, {128, 128, 1}}, {7, {200, 128, 1}}, {11, {128, 220, 1}}}),
               person_with({{0, {40, 40, 1}}, {1, {40, 100, 1}}})}};
    const auto img = render_skeleton(pose, coco17_schema());
    EXPECT_EQ(at(img, 128, 128), (Rgb{86, 111, 219}));  // limb 10 colour at the shared joint
    EXPECT_EQ(at(img, 170, 128), (Rgb{86, 219, 127}));  // limb 6 away from it
    // A second person drawn across the first overwrites it.
    pose.people[1] = person_with({{0, {128, 60, 1}}, {1, {128, 200, 1}}});  // limb 0, vertical through (128, 128)
    const auto crossed = render_skeleton(pose, coco17_schema());
    EXPECT_EQ(at(crossed, 128, 160), (Rgb{219, 94, 86}));
}

TEST(SkeletonRenderer, OfficialPersonSumRuleSkipsSparsePeopleNearTheOrigin) {
    // 15 missing joints contribute -2 each: a person with two joints near (0, 0) sums below zero.
    Pose pose{64, 64, {person_with({{5, {3, 3, 0.9f}}, {7, {9, 3, 0.9f}}})}};
    EXPECT_FALSE(person_is_drawn(pose.people[0]));
    EXPECT_EQ(cv::countNonZero(render_skeleton(pose, coco17_schema()).reshape(1)), 0);
}

TEST(SkeletonRenderer, MatchesOpenCvPythonReferencePixelForPixel) {
    // Poses from tests/reference/make_golden.py, drawn there with cv2 as the official loader does;
    // includes a non-square image, a person at x = -0.5 (int() gives 0: drawn) and 12 people (10 drawn).
    for (int i = 0; i < 4; ++i) {
        const auto name = "case" + std::to_string(i);
        const auto poses = testing::golden("render_masks", name + ".poses");  // [P, 17, 3]
        const auto expected = testing::golden("render_masks", name + ".skeleton");  // [H, W, 3] uint8
        Pose pose{static_cast<int>(expected.size(1)), static_cast<int>(expected.size(0)), {}};
        for (int64_t p = 0; p < poses.size(0); ++p) {
            Person person;
            for (int j = 0; j < 17; ++j)
                person.joints.push_back({poses[p][j][0].item<float>(), poses[p][j][1].item<float>(),
                                         poses[p][j][2].item<float>()});
            pose.people.push_back(person);
        }
        const auto img = render_skeleton(pose, coco17_schema());
        const auto ours = torch::from_blob(img.data, {img.rows, img.cols, 3}, torch::kUInt8);
        const auto mismatches = (ours != expected).any(2).sum().item<int64_t>();
        EXPECT_EQ(mismatches, 0) << name << ": " << mismatches << " pixels differ";
    }
}

TEST(SkeletonRenderer, SchemasOtherThanCoco17RenderFromData) {
    const auto schema = KeypointSchema::from_json(nlohmann::json::parse(
        R"({"name": "stick3", "joints": ["a", "b", "c"], "limbs": [[0, 1, [255, 0, 0]], [1, 2, [0, 0, 255]]]})"));
    Pose pose{64, 32, {Person{{{5, 16, 1}, {30, 16, 1}, {60, 16, 1}}}}};
    const auto img = render_skeleton(pose, schema);
    EXPECT_EQ(img.cols, 64);
    EXPECT_EQ(img.rows, 32);
    EXPECT_EQ(at(img, 15, 16), (Rgb{255, 0, 0}));
    EXPECT_EQ(at(img, 45, 16), (Rgb{0, 0, 255}));
    EXPECT_EQ(at(img, 30, 16), (Rgb{0, 0, 255}));  // shared joint: the later limb
    Pose wrong{64, 32, {person_with({}, 17)}};
    EXPECT_THROW(render_skeleton(wrong, schema), Error);  // 17 joints for a 3-joint schema
}

TEST(SkeletonRenderer, JointOverlayMarksVisibleJoints) {
    Pose pose{128, 128, {person_with({{5, {40, 40, 0.9f}}, {7, {90, 90, 0.01f}}})}};
    const cv::Mat base = cv::Mat::zeros(128, 128, CV_8UC3);
    const auto overlay = draw_joint_overlay(base, pose, coco17_schema());
    EXPECT_NE(at(overlay, 40, 40), kBlack);
    EXPECT_EQ(at(overlay, 90, 90), kBlack);  // below the threshold
    EXPECT_THROW(draw_joint_overlay(cv::Mat::zeros(64, 64, CV_8UC3), pose, coco17_schema()), Error);
}

}  // namespace
}  // namespace stablepose
