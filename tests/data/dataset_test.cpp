// The three dataset formats on a small generated dataset each (tests/reference/make_data_golden.py), their
// errors (bad JSON, missing fields, bad keypoints, missing images, wrong-size images), and open_dataset.
#include <unistd.h>

#include <fstream>
#include <functional>

#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/data/dataset.h"
#include "stablepose/data/dataset_check.h"
#include "stablepose/data/humanart_coco.h"
#include "stablepose/data/humansd_dataset.h"
#include "stablepose/data/jsonl_manifest.h"
#include "stablepose/data/training_example.h"
#include "stablepose/error.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::golden;

fs::path datasets() { return fs::path(STABLEPOSE_GOLDEN_DIR) / "data" / "datasets"; }

nlohmann::json expected() {
    std::ifstream in(datasets() / "expected.json");
    return nlohmann::json::parse(in);
}

torch::Tensor people_tensor(const std::vector<Person>& people) {
    auto t = torch::zeros({static_cast<int64_t>(people.size()), 17, 3});
    for (size_t p = 0; p < people.size(); ++p)
        for (int j = 0; j < 17; ++j) {
            t[p][j][0] = people[p].joints.at(j).x;
            t[p][j][1] = people[p].joints.at(j).y;
            t[p][j][2] = people[p].joints.at(j).confidence;
        }
    return t;
}

fs::path scratch(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("stablepose_data_" + name + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

void write_text(const fs::path& path, const std::string& text) {
    std::ofstream(path, std::ios::binary) << text;
}

TEST(HumansdDataset, MappingOrderPathsPromptsAndPoses) {
    const auto file = datasets() / "humansd" / "mapping_file_training.json";
    const auto samples = read_humansd_mapping(file, datasets() / "humansd");
    const auto want = expected()["humansd"];
    ASSERT_EQ(samples.size(), want.size());
    for (size_t i = 0; i < samples.size(); ++i) {  // dict order, not sorted key order
        EXPECT_EQ(samples[i].id, want[i]["id"].get<std::string>());
        EXPECT_EQ(samples[i].image_path, datasets() / "humansd" / want[i]["image"].get<std::string>());
        EXPECT_EQ(samples[i].pose_path, datasets() / "humansd" / want[i]["pose"].get<std::string>());
        EXPECT_EQ(samples[i].caption, want[i]["caption"].get<std::string>());
        const auto pose = load_sample_pose(samples[i], 10, 10);
        EXPECT_TRUE(torch::equal(people_tensor(pose.people),
                                 golden("data/datasets/expected", "humansd_" + std::to_string(i))));
    }
}

TEST(HumansdDataset, EntriesWithoutTheThreeStringsAreNamed) {
    const auto dir = scratch("mapping");
    write_text(dir / "m.json", R"({"a": {"img_path": "x.jpg", "pose_path": "x.npz", "prompt": "p"},
                                  "b": {"img_path": "y.jpg", "prompt": "q"}})");
    const auto message = error_of([&] { read_humansd_mapping(dir / "m.json", dir); });
    EXPECT_NE(message.find((dir / "m.json").string() + ": entry 'b'"), std::string::npos) << message;
    EXPECT_NE(message.find("pose_path"), std::string::npos) << message;
    write_text(dir / "bad.json", R"({"a": {"img_path": "x.jpg",)");
    const auto syntax = error_of([&] { read_humansd_mapping(dir / "bad.json", dir); });
    EXPECT_NE(syntax.find((dir / "bad.json").string() + ": invalid JSON"), std::string::npos) << syntax;
    write_text(dir / "huge.json",
               R"({"a": {"img_path": "x.jpg", "pose_path": "x.npz", "prompt": "p", "n": 1e400}})");
    const auto huge =
        error_of([&] { read_humansd_mapping(dir / "huge.json", dir); });  // out_of_range, not parse_error
    EXPECT_NE(huge.find((dir / "huge.json").string() + ": invalid JSON"), std::string::npos) << huge;
    remove_tree(dir);
}

TEST(HumanArtCoco, SamplesCaptionsScenariosAndVisibility) {
    const auto file = datasets() / "humanart" / "annotations" / "training_humanart_cartoon.json";
    EXPECT_EQ(default_coco_image_root(file), fs::absolute(datasets() / "humanart"));
    const auto samples = CocoAnnotations::load(file).samples(datasets() / "humanart");
    const auto want = expected()["coco"];
    ASSERT_EQ(samples.size(), want.size());
    for (size_t i = 0; i < samples.size(); ++i) {
        EXPECT_EQ(samples[i].id, want[i]["id"].get<std::string>());
        EXPECT_EQ(samples[i].image_path, datasets() / "humanart" / want[i]["image"].get<std::string>());
        EXPECT_EQ(samples[i].caption, want[i]["caption"].get<std::string>());
        EXPECT_EQ(samples[i].scenario, "cartoon");
        EXPECT_EQ(samples[i].width, want[i]["width"].get<int>());
        EXPECT_TRUE(samples[i].pose_path.empty());
        ASSERT_TRUE(samples[i].people.has_value());
        EXPECT_TRUE(torch::equal(people_tensor(*samples[i].people),
                                 golden("data/datasets/expected", "coco_" + samples[i].id)));
    }
}

TEST(HumanArtCoco, ReadCocoPoseOfOneImage) {
    const auto file = datasets() / "humanart" / "annotations" / "training_humanart_cartoon.json";
    const auto pose = read_coco_pose(file, 17);
    EXPECT_EQ(pose.width, 150);
    EXPECT_EQ(pose.height, 100);
    EXPECT_TRUE(torch::equal(people_tensor(pose.people), golden("data/datasets/expected", "coco_17")));
    EXPECT_EQ(read_coco_pose(file, 5).people.size(), 0u);
    const auto message = error_of([&] { read_coco_pose(file, 4242); });
    EXPECT_NE(message.find(file.string() + ": no image with id 4242"), std::string::npos) << message;
}

TEST(HumanArtCoco, BadVisibilityAndUnknownImageIdsAreNamed) {
    const auto dir = scratch("coco");
    std::string kp;
    for (int j = 0; j < 17; ++j) kp += std::string(j ? "," : "") + (j == 6 ? "1,2,3" : "1,2,2");
    write_text(dir / "a.json", R"({"images": [{"id": 1, "file_name": "a.png", "width": 4, "height": 4}],
        "annotations": [{"id": 77, "image_id": 1, "keypoints": [)" +
                                   kp + "]}]}");
    const auto message = error_of([&] { CocoAnnotations::load(dir / "a.json"); });
    EXPECT_NE(message.find("annotations[0] (id 77): joint 6"), std::string::npos) << message;
    EXPECT_NE(message.find("0, 1 or 2"), std::string::npos) << message;
    write_text(dir / "b.json", R"({"images": [], "annotations": [{"image_id": 9, "keypoints": []}]})");
    EXPECT_NE(error_of([&] { CocoAnnotations::load(dir / "b.json"); }).find("image_id 9 is not in images[]"),
              std::string::npos);
    remove_tree(dir);
}

TEST(JsonlManifest, LinesRelativePathsAndInlinePeople) {
    const auto file = datasets() / "manifest" / "manifest.jsonl";
    const auto samples = read_jsonl_manifest(file, datasets() / "manifest");
    const auto want = expected()["jsonl"];
    ASSERT_EQ(samples.size(), want.size());  // the blank line is skipped
    for (size_t i = 0; i < samples.size(); ++i) {
        EXPECT_EQ(samples[i].image_path, datasets() / "manifest" / want[i]["image"].get<std::string>());
        EXPECT_EQ(samples[i].caption, want[i]["caption"].get<std::string>());
        EXPECT_TRUE(torch::equal(people_tensor(*samples[i].people),
                                 golden("data/datasets/expected", "jsonl_" + std::to_string(i))));
    }
    EXPECT_EQ(samples[1].source, file.string() + ":3");
}

TEST(JsonlManifest, ErrorsNameFileAndLine) {
    const auto dir = scratch("jsonl");
    const std::string joint = "[1, 2, 0.5]";
    std::string person = "[";
    for (int j = 0; j < 17; ++j) person += (j ? ", " : "") + joint;
    person += "]";
    const std::string good = R"({"image": "a.png", "caption": "c", "people": [)" + person + "]}";
    struct Case {
        std::string line;
        std::string fragment;
    };
    for (const Case& c : std::vector<Case>{
             {R"({"image": "a.png", "caption": "c", "people": [], "captoin": 1})", "unknown key 'captoin'"},
             {R"({"image": "a.png", "people": []})", "\"caption\" is missing"},
             {R"({"image": "a.png", "caption": "c", "people": [[[1, 2, 3]]]})",
              "person 0 is not a list of 17 joints"},
             {R"({"image": "a.png", "caption": "c", "people": [)" + person.substr(0, person.size() - 1) +
                  ", [1, 2]]]}",
              "is not a list of 17 joints"},
             {R"({"image": "a.png", "caption": "c", "people": [)" +
                  std::string(person).replace(1, joint.size(), "[1, \"x\", 0]") + "]}",
              "joint 0 is not [x, y, c]"},
             {R"({"image": "a.png", "caption": )", "invalid JSON"},
             {R"({"image": "a.png", "caption": "c", "w": 1e400})", "invalid JSON"}}) {
        write_text(dir / "m.jsonl", good + "\n" + c.line + "\n");
        const auto message = error_of([&] { read_jsonl_manifest(dir / "m.jsonl", dir); });
        EXPECT_NE(message.find((dir / "m.jsonl").string() + ":2"), std::string::npos) << message;
        EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
    }
    remove_tree(dir);
}

TEST(Dataset, OpenPicksTheReaderByContent) {
    const auto humansd = open_dataset(datasets() / "humansd" / "mapping_file_training.json");
    EXPECT_EQ(humansd.format, DatasetFormat::humansd_mapping);
    EXPECT_EQ(humansd.size(), 3u);
    const auto coco =
        open_dataset(datasets() / "humanart" / "annotations" / "training_humanart_cartoon.json");
    EXPECT_EQ(coco.format, DatasetFormat::humanart_coco);
    EXPECT_EQ(coco.root, fs::absolute(datasets() / "humanart"));
    EXPECT_TRUE(fs::exists(coco.samples[0].image_path));
    const auto jsonl = open_dataset(datasets() / "manifest" / "manifest.jsonl");
    EXPECT_EQ(jsonl.format, DatasetFormat::jsonl_manifest);
    EXPECT_EQ(jsonl.size(), 2u);
    for (const auto* d : {&humansd, &coco, &jsonl})
        for (const auto& s : d->samples) EXPECT_TRUE(fs::exists(s.image_path)) << s.image_path;
    const auto folder = error_of([&] { open_dataset(datasets() / "humansd"); });
    EXPECT_NE(folder.find("mapping_file_training.json"), std::string::npos) << folder;
    EXPECT_EQ(parse_dataset_format("coco"), DatasetFormat::humanart_coco);
    EXPECT_NE(error_of([&] { parse_dataset_format("csv"); }).find("humansd, coco or jsonl"),
              std::string::npos);
}

TEST(Dataset, MissingImageCorruptPoseAndWrongSizeNameTheFile) {
    const auto dir = scratch("broken");
    auto d = open_dataset(datasets() / "humansd" / "mapping_file_training.json");
    ExampleOptions options;
    options.augment = AugmentConfig::evaluation();
    options.augment.width = options.augment.height = 64;
    EXPECT_NO_THROW(make_training_example(d.samples[0], options, 1, 0, 0));

    auto missing = d.samples[0];
    missing.image_path = dir / "gone.png";
    const auto m1 = error_of([&] { make_training_example(missing, options, 1, 0, 0); });
    EXPECT_NE(m1.find((dir / "gone.png").string()), std::string::npos) << m1;

    auto corrupt = d.samples[0];
    write_text(dir / "bad.npz", "PK\x03\x04 not really a zip");
    corrupt.pose_path = dir / "bad.npz";
    const auto m2 = error_of([&] { make_training_example(corrupt, options, 1, 0, 0); });
    EXPECT_NE(m2.find((dir / "bad.npz").string()), std::string::npos) << m2;

    auto coco =
        open_dataset(datasets() / "humanart" / "annotations" / "training_humanart_cartoon.json").samples[0];
    coco.width += 1;
    const auto m3 = error_of([&] { make_training_example(coco, options, 1, 0, 0); });
    EXPECT_NE(m3.find(coco.image_path.string() + ": the image size differs"), std::string::npos) << m3;
    remove_tree(dir);
}

TEST(DatasetCheck, CountsPeopleCaptionsAndErrors) {
    const auto d = open_dataset(datasets() / "humansd" / "mapping_file_training.json");
    const auto good = check_dataset(d);
    EXPECT_EQ(good.errors(), 0) << good.summary();
    EXPECT_EQ(good.checked, 3);
    EXPECT_EQ(good.people, 3);  // 2 + 0 + 1 people (expected.json)
    EXPECT_EQ(good.people_histogram.at(0), 1);
    EXPECT_EQ(good.people_histogram.at(2), 1);
    EXPECT_GT(good.joints_outside_image, 0);  // the generator puts some detector joints outside the image
    EXPECT_EQ(good.caption_unit, "tokens");
    EXPECT_GE(good.caption_min, 4);  // "cartoon, sample 0" and the like

    auto broken = d;
    broken.samples[1].image_path = "/nonexistent/image.png";
    broken.samples[2].pose_path = "/nonexistent/pose.npz";
    const auto bad = check_dataset(broken, {.count_tokens = false});
    EXPECT_EQ(bad.missing_images, 1);
    EXPECT_EQ(bad.unreadable_poses, 1);
    EXPECT_EQ(bad.errors(), 2);
    EXPECT_EQ(bad.caption_unit, "bytes");
    const auto text = bad.summary();
    EXPECT_NE(text.find("missing image: " + broken.samples[1].source + ": /nonexistent/image.png"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("/nonexistent/pose.npz"), std::string::npos) << text;
}

}  // namespace
}  // namespace stablepose
