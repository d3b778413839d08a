#include "stablepose/toyworld/generator.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "stablepose/data/humansd_npz.h"
#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/toyworld/joint_visibility.h"

namespace stablepose::toyworld {
namespace {

namespace fs = std::filesystem;

std::string slurp(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

class ToyworldGenerator : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("stablepose_toyworld_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) + "_" +
                 ::testing::UnitTest::GetInstance()->current_test_info()->name());
        remove_tree(root_);
    }
    void TearDown() override { remove_tree(root_); }

    GenerateOptions options(const std::string& name, int count, int threads, std::uint64_t seed = 17) const {
        GenerateOptions o;
        o.out_dir = root_ / name;
        o.count = count;
        o.size = 96;
        o.seed = seed;
        o.split = "validation";
        o.threads = threads;
        return o;
    }
    fs::path root_;
};

TEST_F(ToyworldGenerator, SameSeedSameBytesForAnyCountAndThreadCount) {
    const auto five = options("five", 5, 1), ten = options("ten", 10, 3), again = options("again", 5, 2);
    generate_dataset(five);
    generate_dataset(ten);
    generate_dataset(again);
    for (int i = 0; i < 5; ++i) {
        const std::string id = sample_id("validation", i);
        for (const std::string& rel : {"images/" + id + ".png", "pose/" + id + ".npz"}) {
            const std::string a = slurp(five.out_dir / rel);
            ASSERT_FALSE(a.empty()) << rel;
            EXPECT_EQ(a, slurp(ten.out_dir / rel)) << rel;
            EXPECT_EQ(a, slurp(again.out_dir / rel)) << rel;
        }
    }
    EXPECT_EQ(slurp(five.out_dir / "mapping_file_validation.json"), slurp(again.out_dir / "mapping_file_validation.json"));
    EXPECT_EQ(slurp(five.out_dir / "toyworld_validation.json"), slurp(again.out_dir / "toyworld_validation.json"));
    // The first five entries of the longer mapping are the five of the shorter one.
    const auto m5 = nlohmann::json::parse(slurp(five.out_dir / "mapping_file_validation.json"));
    const auto m10 = nlohmann::json::parse(slurp(ten.out_dir / "mapping_file_validation.json"));
    ASSERT_EQ(m10.size(), 10u);
    for (const auto& [id, value] : m5.items()) EXPECT_EQ(m10.at(id), value);

    const auto other = options("other", 1, 1, 18);
    generate_dataset(other);
    const std::string first = "images/" + sample_id("validation", 0) + ".png";
    EXPECT_NE(slurp(five.out_dir / first), slurp(other.out_dir / first));
}

TEST_F(ToyworldGenerator, MappingAndPoseFilesParseAndMatchTheSamples) {
    const auto o = options("data", 6, 2);
    const auto summary = generate_dataset(o);
    EXPECT_EQ(summary.count, 6);
    const auto mapping = nlohmann::ordered_json::parse(slurp(o.out_dir / "mapping_file_validation.json"));
    const auto meta = nlohmann::json::parse(slurp(o.out_dir / "toyworld_validation.json"));
    EXPECT_EQ(meta.at("seed"), 17);
    EXPECT_EQ(meta.at("format_version"), kToyworldFormatVersion);
    EXPECT_EQ(meta.at("keypoint_confidence").at("occluded"), 0.01);
    int index = 0, people = 0;
    for (const auto& [id, entry] : mapping.items()) {  // file order is sample order
        SCOPED_TRACE(id);
        ASSERT_EQ(id, sample_id("validation", index));
        const ToySample s = make_sample(o, index);
        EXPECT_EQ(entry.at("prompt"), s.caption);
        EXPECT_EQ(entry.at("img_path"), "images/" + id + ".png");
        EXPECT_EQ(entry.at("pose_path"), "pose/" + id + ".npz");
        const cv::Mat image = read_image_rgb(o.out_dir / entry.at("img_path").get<std::string>());
        EXPECT_EQ(cv::norm(image, s.rendered.image, cv::NORM_INF), 0.0);

        const Pose pose = read_humansd_npz(o.out_dir / entry.at("pose_path").get<std::string>(), o.size, o.size);
        ASSERT_EQ(pose.people.size(), s.rendered.people.size());
        const auto& sample_meta = meta.at("samples").at(id);
        EXPECT_EQ(sample_meta.at("prompt"), s.caption);
        ASSERT_EQ(sample_meta.at("people").size(), pose.people.size());
        for (size_t p = 0; p < pose.people.size(); ++p) {
            const auto& want = s.rendered.people[p].keypoints;
            int visible = 0;
            for (int j = 0; j < 17; ++j) {
                EXPECT_EQ(pose.people[p].joints[j], want[j]) << "person " << p << " joint " << j;
                visible += want[j].confidence == kVisibleConfidence;
            }
            const auto& pm = sample_meta.at("people")[p];
            EXPECT_EQ(pm.at("visible_joints"), visible);
            EXPECT_EQ(pm.at("view"), view_name(classify_view(pm.at("yaw_deg").get<double>())));
            EXPECT_EQ(pm.at("bbox").size(), 4u);
            ++people;
        }
        ++index;
    }
    EXPECT_EQ(index, 6);
    EXPECT_EQ(summary.people, people);
    EXPECT_EQ(summary.views[0] + summary.views[1] + summary.views[2], people);
}

// Generating a split again into the same folder replaces it; a run that stops half-way must not leave the old
// mapping beside new images (it would describe pictures it does not match).
TEST_F(ToyworldGenerator, ARunStoppedHalfWayLeavesNoStaleMapping) {
    auto o = options("again", 3, 1);
    generate_dataset(o);
    ASSERT_TRUE(fs::exists(o.out_dir / "mapping_file_validation.json"));
    o.seed = 99;
    // The third sample cannot be written (a folder in its place): the run fails after two new images.
    fs::remove(o.out_dir / "images" / (sample_id("validation", 2) + ".png"));
    fs::create_directories(o.out_dir / "images" / (sample_id("validation", 2) + ".png") / "blocker");
    EXPECT_THROW(generate_dataset(o), std::exception);
    EXPECT_FALSE(fs::exists(o.out_dir / "mapping_file_validation.json"));
    EXPECT_FALSE(fs::exists(o.out_dir / "toyworld_validation.json"));
    remove_tree(o.out_dir / "images" / (sample_id("validation", 2) + ".png"));
    generate_dataset(o);  // and a full run writes them again
    const auto meta = nlohmann::json::parse(slurp(o.out_dir / "toyworld_validation.json"));
    EXPECT_EQ(meta.at("seed"), 99);
    EXPECT_EQ(nlohmann::json::parse(slurp(o.out_dir / "mapping_file_validation.json")).size(), 3u);
}

TEST_F(ToyworldGenerator, BadOptionsAreRefusedWithAHint) {
    auto o = options("bad", 0, 1);
    EXPECT_THROW(generate_dataset(o), Error);
    o.count = 2;
    o.split = "test";
    try {
        generate_dataset(o);
        FAIL() << "an unknown split was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("training or validation"), std::string::npos) << e.what();
    }
    o.split = "training";
    o.size = 8;
    EXPECT_THROW(generate_dataset(o), Error);
    EXPECT_FALSE(fs::exists(o.out_dir / "mapping_file_training.json"));
}

}  // namespace
}  // namespace stablepose::toyworld
