// `stablepose sample` end to end on the tiny exported SD: every pose source type, the files and manifest it
// writes, PNG metadata, resumable reruns, and bad jobs that are reported without stopping the others.
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/data/humansd_npz.h"
#include "stablepose/io/image_io.h"
#include "stablepose/io/png_text.h"
#include "stablepose/io/sha256.h"
#include "stablepose/nn/adapter_file.h"
#include "stablepose/pose/pose_json.h"
#include "stablepose/sample/sample_run.h"
#include "stablepose/sd/frozen_sd.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
const fs::path kGolden(STABLEPOSE_GOLDEN_DIR);

class SampleRun : public ::testing::Test {
protected:
    void SetUp() override {
        dir_ = fs::path(::testing::TempDir()) / ("sample_run_" + std::to_string(::getpid()));
        remove_tree(dir_);
        fs::create_directories(dir_ / "in");
        const auto pose = read_pose_json(testing::fixture("two_people.json")).pose;  // 512 x 512
        // The same people as an MMPose .npz and a COCO annotation file (image id 7).
        std::vector<HumansdPerson> people;
        json annotations = json::array();
        for (const auto& person : pose.people) {
            HumansdPerson p;
            json kp = json::array();
            for (int j = 0; j < 17; ++j) {
                p.keypoints[j] = person.joints[j];
                kp.push_back(person.joints[j].x);
                kp.push_back(person.joints[j].y);
                kp.push_back(person.joints[j].confidence > 0.02f ? 2 : 0);
            }
            people.push_back(p);
            annotations.push_back({{"image_id", 7}, {"id", annotations.size() + 1}, {"category_id", 1},
                                   {"iscrowd", 0}, {"keypoints", kp}, {"num_keypoints", 17},
                                   {"area", 1000.0}, {"bbox", {0, 0, 10, 10}}});
        }
        write_humansd_npz(dir_ / "in" / "people.npz", people);
        json coco{{"images", {{{"id", 7}, {"file_name", "x.jpg"}, {"width", 512}, {"height", 512}}}},
                  {"annotations", annotations},
                  {"categories", {{{"id", 1}, {"name", "person"}}}}};
        std::ofstream(dir_ / "in" / "coco.json") << coco.dump();
        fs::copy_file(testing::fixture("two_people.json"), dir_ / "in" / "pose.json");
        fs::copy_file(kGolden / "sample" / "skeleton_ddim.png", dir_ / "in" / "skeleton.png");
        // A stable_pose adapter written the way the trainer writes it.
        const auto sd = FrozenModelSpec::load(kGolden / "tiny_sd");
        save_adapter(dir_ / "adapter.safetensors", StablePoseAdapter(testing::tiny_stable_pose_config(sd.unet)),
                     ConditionRange::kMinusOneOne);
    }
    void TearDown() override { remove_tree(dir_); }

    JobFile jobs() const {
        const json j{
            {"format", "stablepose.sample-jobs"},
            {"version", 1},
            {"defaults", {{"width", 64}, {"height", 64}, {"steps", 2}, {"sampler", "ddim"}}},
            {"jobs",
             {{{"name", "keypoints"}, {"pose", "in/pose.json"}, {"prompt", "two figures"}, {"seeds", {1, 2}}},
              {{"name", "npz"}, {"pose", {{"npz", "in/people.npz"}, {"pose_size", {512, 512}}}}, {"prompt", "a"},
               {"sampler", "dpmpp_2m"}},
              {{"name", "coco"}, {"pose", {{"coco", "in/coco.json"}, {"image_id", 7}}}, {"prompt", "b"},
               {"width", 128}},
              {{"name", "skeleton"}, {"pose", "in/skeleton.png"}, {"prompt", "c"}, {"guidance_scale", 1.0}},
              {{"name", "missing"}, {"pose", "in/nope.json"}, {"prompt", "d"}},
              {{"name", "sampler"}, {"pose", "in/pose.json"}, {"prompt", "e"}, {"sampler", "plms"}},
              {{"name", "size"}, {"pose", "in/pose.json"}, {"prompt", "f"}, {"width", 100}},
              {{"name", "field"}, {"pose", "in/pose.json"}, {"prompt", "g"}, {"guidance", 3}}}}};
        return parse_job_file(j, dir_, "test jobs");
    }

    SampleRunOptions options() const {
        SampleRunOptions o;
        o.model_dir = kGolden / "tiny_sd";
        o.adapter = dir_ / "adapter.safetensors";
        o.output_dir = dir_ / "out";
        o.batch_size = 2;
        o.panels = true;
        o.dump_condition = true;
        o.device = "cpu";
        return o;
    }

    fs::path dir_;
};

std::vector<json> read_lines(const fs::path& path) {
    std::ifstream in(path);
    std::vector<json> out;
    for (std::string line; std::getline(in, line);) out.push_back(json::parse(line));
    return out;
}

TEST_F(SampleRun, EveryPoseSourceRunsAndBadJobsAreSkipped) {
    const auto file = jobs();
    ASSERT_EQ(file.errors.size(), 3u);  // sampler, size, unknown field: caught while parsing
    EXPECT_EQ(file.errors[0].index, 5);
    EXPECT_NE(file.errors[0].message.find("unknown sampler"), std::string::npos);
    EXPECT_NE(file.errors[1].message.find("multiple of 64"), std::string::npos);
    EXPECT_NE(file.errors[2].message.find("unknown field 'guidance'"), std::string::npos);

    const auto report = run_sampling(file, options());
    EXPECT_EQ(report.images_written, 5);
    ASSERT_EQ(report.failed.size(), 4u);  // + the missing pose file, found when the job's condition is prepared
    EXPECT_EQ(report.failed[0].index, 4);
    EXPECT_NE(report.failed[0].message.find("nope.json"), std::string::npos);

    const auto out = dir_ / "out";
    for (const auto* name : {"keypoints_s1", "keypoints_s2", "npz_s42", "coco_s42", "skeleton_s42"}) {
        EXPECT_TRUE(fs::exists(out / "images" / (std::string(name) + ".png"))) << name;
        EXPECT_TRUE(fs::exists(out / "panels" / (std::string(name) + ".png"))) << name;
    }
    EXPECT_EQ(read_image_rgb(out / "images" / "coco_s42.png").cols, 128);
    EXPECT_EQ(read_image_rgb(out / "panels" / "coco_s42.png").cols, 3 * 128);
    for (const auto* f : {"skeleton.png", "mask_k23.png", "mask_k13.png", "condition.json"})
        EXPECT_TRUE(fs::exists(out / "conditions" / "npz" / f)) << f;

    const auto lines = read_lines(out / kManifestFile);
    ASSERT_EQ(lines.size(), 5u);
    EXPECT_EQ(lines[0].at("image"), "images/keypoints_s1.png");
    EXPECT_EQ(lines[0].at("prompt"), "two figures");
    EXPECT_EQ(lines[0].at("pose").at("people").size(), 2u);
    EXPECT_EQ(lines[0].at("pose_source").at("type"), "keypoints");
    // The npz and COCO sources hold the same people as the keypoint file: the same ground truth.
    for (const auto& l : lines) {
        if (l.at("job") == "npz") {
            EXPECT_EQ(l.at("pose").at("people"), lines[0].at("pose").at("people"));
        }
        if (l.at("job") == "skeleton") {
            EXPECT_TRUE(l.at("pose").is_null());
        }
    }

    const auto text = read_png_text(out / "images" / "keypoints_s2.png");
    ASSERT_TRUE(text.count(kPngMetadataKey));
    const auto meta = json::parse(text.at(kPngMetadataKey));
    EXPECT_EQ(meta.at("seed"), 2);
    EXPECT_EQ(meta.at("prompt"), "two figures");
    EXPECT_EQ(meta.at("settings").at("sampler"), "ddim");
    EXPECT_EQ(meta.at("models").at("adapter").at("sha256"), sha256_file(dir_ / "adapter.safetensors"));
    EXPECT_EQ(meta.at("models").at("model_sha256"), sha256_file(kGolden / "tiny_sd" / "model.json"));
}

TEST_F(SampleRun, RerunSkipsFinishedImagesAndOverwriteReproducesThem) {
    const auto file = jobs();
    auto o = options();
    run_sampling(file, o);
    const auto image = o.output_dir / "images" / "keypoints_s1.png";
    const auto digest = sha256_file(image);
    const auto manifest = sha256_file(o.output_dir / kManifestFile);

    const auto again = run_sampling(file, o);
    EXPECT_EQ(again.images_written, 0);
    EXPECT_EQ(again.images_skipped, 5);
    EXPECT_EQ(sha256_file(o.output_dir / kManifestFile), manifest);

    fs::remove(o.output_dir / "images" / "coco_s42.png");  // an interrupted run: one image missing
    const auto resumed = run_sampling(file, o);
    EXPECT_EQ(resumed.images_written, 1);
    EXPECT_EQ(read_lines(o.output_dir / kManifestFile).size(), 5u);

    // A damaged image is not a finished one: an empty file and a cut one are made again (keypoints_s1 now
    // alone in its batch, so not bit-identical to the first run's batch of two; the bytes are checked after
    // --overwrite below).
    std::ofstream(image, std::ios::trunc).close();
    const auto cut = o.output_dir / "images" / "coco_s42.png";
    fs::resize_file(cut, fs::file_size(cut) / 2);
    const auto repaired = run_sampling(file, o);
    EXPECT_EQ(repaired.images_written, 2);
    EXPECT_EQ(repaired.images_skipped, 3);
    EXPECT_EQ(read_image_rgb(image).size(), cv::Size(64, 64));
    EXPECT_EQ(read_image_rgb(cut).size(), cv::Size(128, 64));
    EXPECT_EQ(read_lines(o.output_dir / kManifestFile).size(), 5u);

    o.overwrite = true;
    const auto rewritten = run_sampling(file, o);
    EXPECT_EQ(rewritten.images_written, 5);
    EXPECT_EQ(sha256_file(image), digest);  // same job, same seed, same device: the same bytes
}

// Without --config the run draws skeletons and builds masks the way the adapter was trained: stablepose train
// records its pose_condition in the adapter file. An explicit preset wins; no record means the defaults.
TEST_F(SampleRun, PoseConditionComesFromTheAdapterUnlessGiven) {
    const auto sd = FrozenModelSpec::load(kGolden / "tiny_sd");
    PoseConditionConfig trained;
    trained.style.line_width = 3;
    trained.inference_masks.threshold = -0.5;
    const auto path = dir_ / "trained.safetensors";
    save_adapter(path, StablePoseAdapter(testing::tiny_stable_pose_config(sd.unet)), ConditionRange::kMinusOneOne,
                 {{"pose_condition", trained.to_json().dump()}});
    const auto adapter = load_adapter(path, sd.unet);
    EXPECT_EQ(resolve_pose_condition(std::nullopt, &adapter).to_json(), trained.to_json());
    PoseConditionConfig given;
    given.style.line_width = 7;
    EXPECT_EQ(resolve_pose_condition(given, &adapter).to_json(), given.to_json());
    const auto plain = load_adapter(dir_ / "adapter.safetensors", sd.unet);  // no record
    EXPECT_EQ(resolve_pose_condition(std::nullopt, &plain).style.line_width, 10);
    EXPECT_EQ(resolve_pose_condition(std::nullopt, nullptr).to_json(), PoseConditionConfig().to_json());

    // The run uses it: the manifest says so.
    auto o = options();
    o.adapter = path;
    run_sampling(jobs(), o);
    const auto line = read_lines(o.output_dir / kManifestFile).front();
    EXPECT_EQ(line.at("models").at("pose_condition").at("line_width"), 3);

    save_adapter(path, StablePoseAdapter(testing::tiny_stable_pose_config(sd.unet)), ConditionRange::kMinusOneOne,
                 {{"pose_condition", "{not json"}});
    const auto broken = load_adapter(path, sd.unet);
    try {
        resolve_pose_condition(std::nullopt, &broken);
        ADD_FAILURE() << "bad pose_condition metadata was accepted";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("pose_condition metadata is not JSON"), std::string::npos) << e.what();
        EXPECT_NE(std::string(e.what()).find("--config"), std::string::npos) << e.what();
    }
}

// Weights with a NaN give black images with exit 0 if they are loaded: they are refused, naming the tensor.
TEST_F(SampleRun, AnAdapterWithNonFiniteWeightsIsRefused) {
    const auto sd = FrozenModelSpec::load(kGolden / "tiny_sd");
    auto adapter = StablePoseAdapter(testing::tiny_stable_pose_config(sd.unet));
    const auto name = adapter->named_parameters().begin()->key();
    {
        torch::NoGradGuard no_grad;
        adapter->named_parameters().begin()->value().view(-1)[0] = std::nan("");
    }
    const auto path = dir_ / "nan.safetensors";
    save_adapter(path, adapter, ConditionRange::kMinusOneOne);
    const auto message = testing::error_of([&] { load_adapter(path, sd.unet); });
    EXPECT_NE(message.find("not finite"), std::string::npos) << message;
    EXPECT_NE(message.find("'" + name + "'"), std::string::npos) << message;
}

}  // namespace
}  // namespace stablepose
