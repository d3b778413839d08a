// Job files: defaults layered under jobs, every pose source form, and clear errors for malformed files and
// bad jobs (a bad job is reported with its index, the others stay).
#include <fstream>
#include <limits>

#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/error.h"
#include "stablepose/sample/job_file.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

using testing::error_of;

TEST(JobFile, DefaultsLayerUnderJobs) {
    const json j{{"defaults", {{"width", 768}, {"steps", 20}, {"seed", 10}, {"count", 3}, {"prompt", "p"}}},
                 {"jobs",
                  {{{"pose", "a.json"}},
                   {{"pose", "b.json"}, {"seeds", {5}}, {"height", 640}, {"sampler", "euler"}, {"name", "bee"}},
                   {{"pose", "c.png"}, {"prompt", "own"}, {"control_start", 0.1}, {"control_end", 0.9}}}}};
    const auto file = parse_job_file(j, "/base");
    ASSERT_TRUE(file.errors.empty()) << file.errors.front().message;
    ASSERT_EQ(file.jobs.size(), 3u);
    const auto& a = file.jobs[0];
    EXPECT_EQ(a.name, "job0");
    EXPECT_EQ(a.settings.width, 768);
    EXPECT_EQ(a.settings.height, 512);
    EXPECT_EQ(a.settings.steps, 20);
    EXPECT_EQ(a.seeds, (std::vector<int64_t>{10, 11, 12}));
    EXPECT_EQ(a.prompt, "p");
    EXPECT_EQ(a.negative_prompt, kOfficialNegativePrompt);
    EXPECT_EQ(a.pose.path, fs::path("/base/a.json"));
    EXPECT_EQ(a.settings.guidance_scale, 7.5);  // stable-pose.md §10
    const auto& b = file.jobs[1];
    EXPECT_EQ(b.name, "bee");
    EXPECT_EQ(b.seeds, (std::vector<int64_t>{5}));
    EXPECT_EQ(b.settings.height, 640);
    EXPECT_EQ(b.settings.sampler, "euler");
    EXPECT_EQ(file.jobs[2].pose.kind, PoseSourceKind::kSkeletonImage);
    EXPECT_EQ(file.jobs[2].prompt, "own");
    EXPECT_EQ(file.jobs[2].settings.control_start, 0.1);
}

TEST(JobFile, PoseSourceForms) {
    EXPECT_EQ(parse_pose_source("x.json", "/d").kind, PoseSourceKind::kKeypointJson);
    EXPECT_EQ(parse_pose_source("x.PNG", "/d").kind, PoseSourceKind::kSkeletonImage);
    const auto npz = parse_pose_source(json{{"npz", "p.npz"}, {"pose_size", {640, 480}}}, "/d");
    EXPECT_EQ(npz.kind, PoseSourceKind::kHumansdNpz);
    EXPECT_EQ(npz.pose_size, std::make_pair(640, 480));
    const auto with_image = parse_pose_source(json{{"npz", "p.npz"}, {"image", "/abs/i.jpg"}}, "/d");
    EXPECT_EQ(*with_image.image, fs::path("/abs/i.jpg"));
    const auto coco = parse_pose_source(json{{"coco", "ann.json"}, {"image_id", 0}}, "/d");
    EXPECT_EQ(coco.kind, PoseSourceKind::kCocoAnnotation);
    EXPECT_EQ(coco.coco_image_id, 0);
    EXPECT_EQ(coco.path, fs::path("/d/ann.json"));
    EXPECT_EQ(coco.to_json().at("image_id"), 0);

    EXPECT_NE(error_of([] { parse_pose_source("p.npz", "/d"); }).find("pose_size"), std::string::npos);
    EXPECT_NE(error_of([] { parse_pose_source("p.txt", "/d"); }).find(".npz"), std::string::npos);
    EXPECT_NE(error_of([] { parse_pose_source(json{{"coco", "a.json"}}, "/d"); }).find("image_id"), std::string::npos);
    EXPECT_NE(error_of([] { parse_pose_source(json{{"keypoints", "a.json"}, {"npz", "b.npz"}}, "/d"); })
                  .find("exactly one source"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_pose_source(json{{"keypoint", "a.json"}}, "/d"); }).find("unknown key 'keypoint'"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_pose_source(json{{"npz", "b.npz"}, {"pose_size", {0, 4}}}, "/d"); })
                  .find("positive"),
              std::string::npos);
}

TEST(JobFile, BadJobsAreReportedByIndexAndTheOthersKept) {
    const json j{
        {"jobs",
         {{{"pose", "a.json"}, {"prompt", "ok"}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"sampler", "plms"}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"width", 500}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"guidance", 2}},
          {{"prompt", "no pose"}},
          {{"pose", "a.json"}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"seeds", {1}}, {"seed", 2}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"name", "job0"}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"control_start", 0.8}, {"control_end", 0.5}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"steps", "ten"}},
          "not an object",
          {{"pose", "a.json"}, {"prompt", "x"}, {"steps", 2.5}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"seeds", {1.5}}},
          {{"pose", "a.json"}, {"prompt", "x"}, {"guidance_scale", std::numeric_limits<double>::infinity()}},
          {{"pose", "a.json"}, {"prompt", "fine"}, {"height", 1024}, {"guidance_scale", 1}}}}};
    const auto file = parse_job_file(j, "/d");
    ASSERT_EQ(file.jobs.size(), 2u);
    EXPECT_EQ(file.jobs[1].index, 14);
    const std::vector<std::pair<int, std::string>> expected = {
        {1, "unknown sampler"},
        {2, "multiple of 64"},
        {3, "unknown field 'guidance'"},
        {4, "no \"pose\""},
        {5, "no \"prompt\""},
        {6, "either \"seeds\" or \"seed\"/\"count\""},
        {7, "duplicate job name"},
        {8, "control window"},
        {9, "wrong type"},
        {10, "JSON object"},
        {11, "'steps' has the wrong type"},
        {12, "'seeds' has the wrong type"},
        {13, "guidance_scale must be a finite number"}};
    ASSERT_EQ(file.errors.size(), expected.size());
    for (size_t i = 0; i < expected.size(); ++i) {
        EXPECT_EQ(file.errors[i].index, expected[i].first);
        EXPECT_NE(file.errors[i].message.find(expected[i].second), std::string::npos) << file.errors[i].message;
    }
}

TEST(JobFile, MalformedFilesFailAsAWhole) {
    const auto dir = fs::path(::testing::TempDir()) / "job_file_test";
    fs::create_directories(dir);
    std::ofstream(dir / "broken.json") << "{\"jobs\": [";
    EXPECT_NE(error_of([&] { read_job_file(dir / "broken.json"); }).find("not valid JSON"), std::string::npos);
    EXPECT_NE(error_of([&] { read_job_file(dir / "absent.json"); }).find("not found"), std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json{{"job", json::array()}}, "/d"); }).find("unknown top-level key 'job'"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json{{"jobs", 3}}, "/d"); }).find("no \"jobs\" array"), std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json::array(), "/d"); }).find("must be an object"), std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json{{"version", 2}, {"jobs", json::array()}}, "/d"); })
                  .find("unsupported version"),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json{{"defaults", {{"steps", 0}}}, {"jobs", json::array()}}, "/d"); })
                  .find("bad \"defaults\""),
              std::string::npos);
    EXPECT_NE(error_of([] { parse_job_file(json{{"defaults", {{"pose", "a.json"}}}, {"jobs", json::array()}}, "/d"); })
                  .find("per job"),
              std::string::npos);
    remove_tree(dir);
}

}  // namespace
}  // namespace stablepose
