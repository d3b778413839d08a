#include "stablepose/error.h"
#include "stablepose/pose/pose_json.h"
#include "test_util.h"

namespace stablepose {
namespace {

std::string joints(int n, const std::string& triple = "[10, 20, 0.9]") {
    std::string s = "[";
    for (int i = 0; i < n; ++i) s += (i ? ", " : "") + triple;
    return s + "]";
}

std::string pose_text(const std::string& people, int width = 64, int height = 48) {
    return R"({"format": "stablepose.pose", "version": 1, "schema": "coco17", "width": )" + std::to_string(width) +
           R"(, "height": )" + std::to_string(height) + R"(, "people": )" + people + "}";
}

// The error message of parsing `text`, or "" when it parses.
std::string error_of(const std::string& text) {
    try {
        parse_pose_json(text, "pose.json");
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(PoseJson, ReadsTriplesAndFlatLists) {
    std::string flat = "[";
    for (int j = 0; j < 17; ++j) flat += (j ? ", " : "") + std::to_string(j) + ", " + std::to_string(2 * j) + ", 1";
    flat += "]";
    const auto file = parse_pose_json(
        pose_text("[{\"keypoints\": " + joints(17) + "}, {\"keypoints\": " + flat + "}]"), "pose.json");
    EXPECT_EQ(file.schema.name, "coco17");
    EXPECT_EQ(file.pose.width, 64);
    EXPECT_EQ(file.pose.height, 48);
    ASSERT_EQ(file.pose.people.size(), 2u);
    EXPECT_EQ(file.pose.people[0].joints[16], (Joint{10, 20, 0.9f}));
    EXPECT_EQ(file.pose.people[1].joints[3], (Joint{3, 6, 1}));
}

TEST(PoseJson, RoundTripsThroughTheWriter) {
    Pose pose{32, 32, {Person{std::vector<Joint>(17, Joint{1.5f, 2.5f, 0.5f})}}};
    pose.people[0].joints[3] = Joint::missing();
    const auto text = pose_to_json(pose, "coco17").dump();
    const auto back = parse_pose_json(text, "mem");
    EXPECT_EQ(back.pose.people[0].joints, pose.people[0].joints);
}

TEST(PoseJson, ErrorsNameTheFilePersonAndJoint) {
    const auto people = "[{\"keypoints\": " + joints(17) + "}, {\"keypoints\": " + joints(17) + "}]";
    // NaN (Python's json.dump writes it) is not JSON: a hint says so.
    auto nan_people = people;
    nan_people.replace(nan_people.rfind("[10, 20, 0.9]"), 13, "[NaN, 20, 0.9]");
    const auto nan_error = error_of(pose_text(nan_people));
    EXPECT_TRUE(contains(nan_error, "pose.json")) << nan_error;
    EXPECT_TRUE(contains(nan_error, "NaN")) << nan_error;
    // null coordinate: names person 1, joint 16.
    auto null_people = people;
    null_people.replace(null_people.rfind("[10, 20, 0.9]"), 13, "[null, 20, 0.9]");
    const auto null_error = error_of(pose_text(null_people));
    EXPECT_TRUE(contains(null_error, "person 1, joint 16 (right_ankle)")) << null_error;
    // wrong joint count
    EXPECT_TRUE(contains(error_of(pose_text("[{\"keypoints\": " + joints(16) + "}]")), "17 [x, y, confidence]"));
    // empty person list, negative size, unknown key, malformed JSON, wrong format tag
    EXPECT_TRUE(contains(error_of(pose_text("[]")), "person list is empty"));
    EXPECT_TRUE(contains(error_of(pose_text("[{\"keypoints\": " + joints(17) + "}]", -5)), "\"width\""));
    EXPECT_TRUE(contains(error_of(pose_text("[{\"keypoints\": " + joints(17) + ", \"bbox\": 1}]")), "unknown key 'bbox'"));
    EXPECT_TRUE(contains(error_of("{\"format\": \"stablepose.pose\", "), "not valid JSON"));
    EXPECT_TRUE(contains(error_of("{\"format\": \"stablepose.pose\", \"width\": 1e400}"), "not valid JSON"));
    EXPECT_TRUE(contains(error_of(R"({"format": "coco", "version": 1})"), "not a stablepose pose file"));
    EXPECT_TRUE(contains(error_of(pose_text("[{\"keypoints\": " + joints(17, "[1, 2]") + "}]")), "[x, y, confidence]"));
}

TEST(PoseJson, EmptyPeopleAllowedOnRequest) {
    PoseReadOptions options;
    options.allow_no_people = true;
    EXPECT_TRUE(parse_pose_json(pose_text("[]"), "p", options).pose.people.empty());
}

TEST(PoseJson, MissingFileIsReported) {
    try {
        read_pose_json("/nonexistent/pose.json");
        FAIL();
    } catch (const Error& e) {
        EXPECT_TRUE(contains(e.what(), "/nonexistent/pose.json"));
        EXPECT_TRUE(contains(e.what(), "no such file"));
    }
}

TEST(PoseTensor, OfficialDenseLayout) {
    Pose pose{64, 64, {Person{std::vector<Joint>(17, Joint{3, 4, 0.5f})}}};
    const auto t = pose_to_tensor(pose, coco17_schema());
    EXPECT_EQ(t.sizes(), (std::vector<int64_t>{10, 17, 3}));
    EXPECT_EQ(t[0][2][1].item<float>(), 4.0f);
    EXPECT_EQ(t[3][0][0].item<float>(), -1.0f);
    EXPECT_EQ(t[3][0][2].item<float>(), 0.0f);
}

}  // namespace
}  // namespace stablepose
