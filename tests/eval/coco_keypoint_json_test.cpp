// Reading COCO keypoint ground truth and results: loadRes' completion of the results, and the errors that
// name the problem (malformed JSON, missing file, keypoints of the wrong length, ...).
#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>
#include <unistd.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/eval/coco_keypoint_json.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

fs::path write_temp(const std::string& name, const std::string& text) {
    const auto dir = fs::temp_directory_path() / ("stablepose_coco_json_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    std::ofstream(dir / name) << text;
    return dir / name;
}

json keypoints(double x0) {
    json kp = json::array();
    for (int j = 0; j < kCocoJoints; ++j) kp.insert(kp.end(), {x0 + j, 10.0 - j, 2});
    return kp;
}

json ground_truth() {
    return {{"images", {{{"id", 0}}, {{"id", 4}}}},
            {"categories", {{{"id", 1}, {"name", "person"}}}},
            {"annotations",
             {{{"id", 0},
               {"image_id", 4},
               {"category_id", 1},
               {"keypoints", keypoints(3)},
               {"area", 100.5},
               {"bbox", {1, 2, 3, 4}},
               {"num_keypoints", 17}}}}};
}

// Runs `body`, which must throw stablepose::Error whose message contains every one of `parts`.
template <typename F>
void expect_error(F body, std::initializer_list<const char*> parts) {
    try {
        body();
        ADD_FAILURE() << "no error";
    } catch (const Error& e) {
        for (const char* part : parts)
            EXPECT_NE(std::string(e.what()).find(part), std::string::npos) << e.what();
    }
}

TEST(CocoJson, ReadsGroundTruth) {
    const auto gt = read_coco_keypoint_ground_truth(write_temp("gt.json", ground_truth().dump()));
    EXPECT_EQ(gt.image_ids, (std::vector<int64_t>{0, 4}));
    ASSERT_EQ(gt.annotations.size(), 1u);
    const auto& a = gt.annotations[0];
    EXPECT_EQ(a.id, 0);
    EXPECT_EQ(a.image_id, 4);
    EXPECT_EQ(a.keypoints[3], 4.0);
    EXPECT_EQ(a.area, 100.5);
    EXPECT_EQ(a.bbox[3], 4.0);
    EXPECT_FALSE(a.iscrowd);  // missing iscrowd reads as 0, as xtcocotools' COCO() sets it
    EXPECT_EQ(a.num_keypoints, 17);
}

TEST(CocoJson, ResultsAreCompletedAsLoadResDoes) {
    json results = {{{"image_id", 4}, {"category_id", 1}, {"keypoints", keypoints(3)}, {"score", 0.5}},
                    {{"image_id", 0}, {"category_id", 1}, {"keypoints", keypoints(-2)}, {"score", 1}}};
    const auto dt = parse_coco_keypoint_results(results, "results");
    ASSERT_EQ(dt.size(), 2u);
    EXPECT_EQ(dt[0].id, 1);
    EXPECT_EQ(dt[1].id, 2);
    EXPECT_EQ(dt[0].area, 16.0 * 16.0);  // box around all 17 joints
    EXPECT_EQ(dt[1].score, 1.0);
    results[0]["bbox"] = {0, 0, 5, 6};
    results[1]["bbox"] = {0, 0, 2, 3};
    const auto boxed = parse_coco_keypoint_results(results, "results");
    EXPECT_EQ(boxed[0].area, 30.0);  // the first result has a bbox: every area comes from the boxes
    EXPECT_EQ(boxed[1].area, 6.0);
}

TEST(CocoJson, MissingFileIsAClearError) {
    expect_error([] { read_coco_keypoint_ground_truth("/nonexistent/gt.json"); },
                 {"cannot open", "/nonexistent/gt.json", "hint", "--gt"});
    expect_error([] { read_coco_keypoint_results("/nonexistent/dt.json"); }, {"cannot open", "--dt"});
}

TEST(CocoJson, MalformedJsonIsAClearError) {
    const auto path = write_temp("broken.json", R"({"images": [{"id": 1}], "annotations": [)");
    expect_error([&] { read_coco_keypoint_ground_truth(path); },
                 {"malformed JSON", "broken.json", "expected"});
    const auto results = write_temp("broken_dt.json", R"([{"image_id": 1,)");
    expect_error([&] { read_coco_keypoint_results(results); }, {"malformed JSON", "broken_dt.json"});
    const auto huge = write_temp("huge_dt.json", R"([{"image_id": 1, "score": 1e400}])");  // out_of_range 406
    expect_error([&] { read_coco_keypoint_results(huge); }, {"malformed JSON", "huge_dt.json", "finite"});
}

TEST(CocoJson, KeypointsOfTheWrongLengthAreAClearError) {
    auto gt = ground_truth();
    gt["annotations"][0]["keypoints"].erase(gt["annotations"][0]["keypoints"].size() - 1);
    expect_error([&] { parse_coco_keypoint_ground_truth(gt, "gt.json"); },
                 {"wrong length", "51 numbers", "found:    50 numbers", "annotations[0]"});
    json results = {{{"image_id", 4}, {"category_id", 1}, {"keypoints", {1, 2, 3}}, {"score", 0.5}}};
    expect_error([&] { parse_coco_keypoint_results(results, "dt.json"); }, {"wrong length", "3 numbers"});
}

TEST(CocoJson, InconsistentGroundTruthIsRefused) {
    auto gt = ground_truth();
    gt["annotations"].push_back(gt["annotations"][0]);
    expect_error([&] { parse_coco_keypoint_ground_truth(gt, "gt.json"); }, {"appears twice"});
    gt = ground_truth();
    gt["annotations"][0]["image_id"] = 9;
    expect_error([&] { parse_coco_keypoint_ground_truth(gt, "gt.json"); },
                 {"image_id 9", "not in \"images\""});
    gt = ground_truth();
    gt["annotations"][0].erase("area");
    expect_error([&] { parse_coco_keypoint_ground_truth(gt, "gt.json"); }, {"\"area\""});
    gt = ground_truth();
    gt["annotations"][0]["id"] = "a";
    expect_error([&] { parse_coco_keypoint_ground_truth(gt, "gt.json"); }, {"not an integer"});
}

TEST(CocoJson, SwappedFilesAreNamed) {
    expect_error([] { parse_coco_keypoint_ground_truth(json::array(), "x.json"); },
                 {"not COCO ground truth", "--dt"});
    expect_error([] { parse_coco_keypoint_results(ground_truth(), "x.json"); },
                 {"not a COCO results file", "--gt"});
}

}  // namespace
}  // namespace stablepose
