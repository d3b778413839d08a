#include "stablepose/toyworld/sample_jobs.h"

#include <cmath>
#include <filesystem>
#include <tuple>

#include <gtest/gtest.h>

#include "stablepose/data/humansd_npz.h"
#include "stablepose/data/json_file.h"
#include "stablepose/error.h"
#include "stablepose/eval/manifest_poses.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/sample/job_file.h"
#include "stablepose/toyworld/generator.h"
#include "test_util.h"

namespace stablepose::toyworld {
namespace {

namespace fs = std::filesystem;

nlohmann::ordered_json sample_with_views(std::initializer_list<const char*> views) {
    nlohmann::ordered_json people = nlohmann::ordered_json::array();
    for (const char* v : views) people.push_back({{"view", v}});
    return {{"people", people}};
}

TEST(ToyworldSampleJobs, ScenarioIsTheSharedViewOrMixed) {
    EXPECT_EQ(sample_scenario(sample_with_views({"front"})), "front");
    EXPECT_EQ(sample_scenario(sample_with_views({"back", "back"})), "back");
    EXPECT_EQ(sample_scenario(sample_with_views({"side", "front", "side"})), "mixed");
}

class ToyworldSampleJobsFile : public ::testing::Test {
protected:
    void SetUp() override {
        root_ = fs::temp_directory_path() /
                ("stablepose_toyjobs_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()));
        remove_tree(root_);
        GenerateOptions gen;
        gen.out_dir = root_ / "data";
        gen.count = 12;
        gen.size = 64;
        gen.seed = 3;
        gen.split = "validation";
        gen.threads = 1;
        generate_dataset(gen);
    }
    void TearDown() override { remove_tree(root_); }
    fs::path root_;
};

TEST_F(ToyworldSampleJobsFile, OneJobPerImageThatTheSampleJobParserAccepts) {
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.out_file = root_ / "jobs" / "jobs.json";
    options.seed = 500;
    options.defaults = {{"steps", 7}};
    const auto file = make_sample_jobs(options);
    write_file_atomic(options.out_file, file.dump());
    ASSERT_EQ(file["jobs"].size(), 12u);
    EXPECT_EQ(file["defaults"]["width"], 64);
    EXPECT_EQ(file["defaults"]["steps"], 7);
    EXPECT_EQ(file["defaults"]["negative_prompt"], "");
    const auto& job = file["jobs"][4];
    EXPECT_EQ(job["name"], "validation_000004");
    EXPECT_EQ(job["seeds"][0], 504);
    EXPECT_EQ(job["pose"]["npz"], "../data/pose/validation_000004.npz");

    const auto parsed = read_job_file(options.out_file);  // resolves the pose paths against the file's folder
    EXPECT_TRUE(parsed.errors.empty()) << parsed.errors.front().message;
    ASSERT_EQ(parsed.jobs.size(), 12u);
    EXPECT_TRUE(fs::exists(parsed.jobs[4].pose.path)) << parsed.jobs[4].pose.path;
    EXPECT_EQ(parsed.jobs[4].scenario, file["jobs"][4]["scenario"].get<std::string>());
    EXPECT_EQ(parsed.jobs[4].negative_prompt, "");
}

TEST_F(ToyworldSampleJobsFile, RealImageManifestGivesTheStoredPosesAsGroundTruth) {
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.out_file = root_ / "jobs.json";
    const auto manifest = root_ / "real" / "manifest.jsonl";
    write_file_atomic(manifest, make_real_image_manifest(options, manifest));
    const auto poses = read_manifest_poses(manifest);
    ASSERT_EQ(poses.images.files.size(), 12u);
    EXPECT_TRUE(fs::exists(poses.images.files[3])) << poses.images.files[3];
    const auto people = read_humansd_people(root_ / "data" / "pose" / "validation_000003.npz");
    int64_t labelled = 0;
    for (const auto& a : poses.gt.annotations)
        if (a.image_id == 3) ++labelled;
    EXPECT_EQ(labelled, static_cast<int64_t>(people.size()));
    EXPECT_EQ(poses.groups[3], make_sample_jobs(options)["jobs"][3]["scenario"].get<std::string>());
}

TEST_F(ToyworldSampleJobsFile, FiltersByPeopleAndCount) {
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.out_file = root_ / "jobs.json";
    options.people = 1;
    options.count = 2;
    const auto file = make_sample_jobs(options);
    ASSERT_EQ(file["jobs"].size(), 2u);
    for (const auto& job : file["jobs"]) EXPECT_NE(job["scenario"], "mixed");
}

TEST_F(ToyworldSampleJobsFile, CountFreePromptsNameTheBackgroundOnly) {
    EXPECT_EQ(count_free_prompt("sandy"), "figures on a sandy background");
    EXPECT_EQ(count_free_prompt("snowy"), "figures on a snowy background");
    EXPECT_EQ(count_free_prompt("icy"), "figures on an icy background");
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.out_file = root_ / "jobs.json";
    const auto captions = make_sample_jobs(options);
    options.prompts = "count-free";
    const auto count_free = make_sample_jobs(options);
    const auto metadata = read_json_file(root_ / "data" / "toyworld_validation.json", "test");
    ASSERT_EQ(count_free["jobs"].size(), captions["jobs"].size());
    for (size_t i = 0; i < captions["jobs"].size(); ++i) {
        const auto& job = count_free["jobs"][i];
        const auto& sample = metadata["samples"][job["name"].get<std::string>()];
        EXPECT_EQ(job["prompt"], count_free_prompt(sample["background"].get<std::string>()));
        EXPECT_EQ(captions["jobs"][i]["prompt"], sample["prompt"]);
        // everything but the prompt is the caption file's: the same poses, seeds and views
        auto a = job, b = captions["jobs"][i];
        a.erase("prompt");
        b.erase("prompt");
        EXPECT_EQ(a, b);
    }
    options.prompts = "counted";
    EXPECT_THROW(make_sample_jobs(options), Error);
}

// Defaults that `stablepose sample` would refuse fail when the job file is made, not later.
TEST_F(ToyworldSampleJobsFile, BadDefaultsAndFiltersAreRefusedAtOnce) {
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.out_file = root_ / "jobs.json";
    for (const auto& [key, value, text] :
         {std::tuple<std::string, nlohmann::json, std::string>{"steps", -5, "steps out of range"},
          {"sampler", "bogus", "unknown sampler"},
          {"guidance_scale", -1.0, "guidance_scale must be >= 1"},
          {"control_scale", std::nan(""), "control_scale must be a finite number"}}) {
        auto o = options;
        o.defaults[key] = value;
        const auto message = testing::error_of([&] { make_sample_jobs(o); });
        EXPECT_NE(message.find(text), std::string::npos) << key << ": " << message;
        EXPECT_NE(message.find("toyworld jobs"), std::string::npos) << message;
    }
    auto o = options;
    o.count = -1;
    EXPECT_NE(testing::error_of([&] { make_sample_jobs(o); }).find("--count"), std::string::npos);
    o = options;
    o.people = -1;
    EXPECT_NE(testing::error_of([&] { make_sample_jobs(o); }).find("--people"), std::string::npos);
}

TEST_F(ToyworldSampleJobsFile, MissingSplitNamesTheFile) {
    SampleJobsOptions options;
    options.data_dir = root_ / "data";
    options.split = "training";
    options.out_file = root_ / "jobs.json";
    try {
        make_sample_jobs(options);
        FAIL() << "expected an error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("toyworld_training.json"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace stablepose::toyworld
