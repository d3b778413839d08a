// Transforms against albumentations 1.3.0 transcribed with cv2/numpy (tests/reference/make_data_golden.py):
// images after the geometry and after the colour steps, keypoints moved and removed, the official loader's
// pose tensor with and without the left/right swap; and determinism of the per-sample draw.
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "stablepose/data/augment.h"
#include "stablepose/data/dataset.h"
#include "stablepose/data/training_example.h"
#include "stablepose/error.h"
#include "stablepose/io/image_io.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::golden;
using testing::max_abs_diff;

fs::path transforms() { return fs::path(STABLEPOSE_GOLDEN_DIR) / "data" / "transforms"; }

nlohmann::json cases() {
    std::ifstream in(transforms() / "cases.json");
    return nlohmann::json::parse(in);
}

AugmentParams params_of(const nlohmann::json& c) {
    AugmentParams p;
    p.width = c["width"];
    p.height = c["height"];
    p.flip = c["flip"];
    p.rotate = c["rotate"];
    p.angle = c["angle"];
    p.centre_crop = c["centre"];
    p.crop_x = c["crop_x"];
    p.crop_y = c["crop_y"];
    const std::string colour = c["colour"];
    p.colour = colour == "hsv" ? ColourShift::hsv : colour == "rgb" ? ColourShift::rgb : ColourShift::none;
    p.hue_shift = c["hue"], p.sat_shift = c["sat"], p.val_shift = c["val"];
    p.r_shift = c["r"], p.g_shift = c["g"], p.b_shift = c["b"];
    p.brightness_contrast = c["bc"];
    p.alpha = c["alpha"], p.beta = c["beta"];
    return p;
}

// Max |a - b| over two uint8 images of the same size (large when the sizes differ).
int image_diff(const cv::Mat& a, const cv::Mat& b) {
    if (a.size() != b.size() || a.type() != b.type()) return 1000;
    cv::Mat d;
    cv::absdiff(a, b, d);
    double mx = 0;
    cv::minMaxLoc(d.reshape(1), nullptr, &mx);
    return static_cast<int>(mx);
}

TEST(Transform, GeometryAndColourMatchAlbumentations) {
    const auto all = cases();
    ASSERT_GE(all.size(), 6u);
    for (size_t n = 0; n < all.size(); ++n) {
        SCOPED_TRACE("case " + std::to_string(n) + ": " + all[n].dump());
        const auto params = params_of(all[n]);
        const cv::Mat image = read_image_rgb(transforms() / ("image_" + all[n]["image"].dump() + ".png"));
        const std::string key = "case_" + std::to_string(n);
        const auto points_t = golden("data/transforms/expected", key + ".points");
        std::vector<cv::Point2d> points;
        for (int64_t i = 0; i < points_t.size(0); ++i)
            points.emplace_back(points_t[i][0].item<double>(), points_t[i][1].item<double>());

        const auto geometry = apply_geometry(image, points, params);
        const auto want_geometry = read_image_rgb(transforms() / (key + "_geometry.png"));
        EXPECT_EQ(image_diff(geometry.image, want_geometry), 0);  // same OpenCV kernels on the same matrix
        EXPECT_EQ(image_diff(apply_colour(geometry.image, params),
                             read_image_rgb(transforms() / (key + "_colour.png"))),
                  0);

        const auto kept = golden("data/transforms/expected", key + ".kept");
        const auto moved = golden("data/transforms/expected", key + ".moved");
        int kept_count = 0;
        for (size_t i = 0; i < points.size(); ++i) {
            ASSERT_EQ(geometry.kept[i], kept[i].item<uint8_t>() != 0) << "point " << i;
            if (!geometry.kept[i]) continue;
            ++kept_count;
            EXPECT_NEAR(geometry.points[i].x, moved[i][0].item<double>(), 1e-9) << "point " << i;
            EXPECT_NEAR(geometry.points[i].y, moved[i][1].item<double>(), 1e-9) << "point " << i;
        }
        EXPECT_GT(kept_count, 0);
    }
}

TEST(Transform, OfficialPoseSemanticsAndLeftRightSwap) {
    const auto all = cases();
    for (size_t n = 0; n < all.size(); ++n) {
        SCOPED_TRACE("case " + std::to_string(n));
        const std::string key = "case_" + std::to_string(n);
        const auto params = params_of(all[n]);
        const cv::Mat image = read_image_rgb(transforms() / ("image_" + all[n]["image"].dump() + ".png"));
        const auto people_t = golden("data/transforms/expected", key + ".people");
        Pose pose;
        pose.width = image.cols;
        pose.height = image.rows;
        for (int64_t p = 0; p < people_t.size(0); ++p) {
            Person person;
            for (int j = 0; j < 17; ++j)
                person.joints.push_back({people_t[p][j][0].item<float>(), people_t[p][j][1].item<float>(),
                                         people_t[p][j][2].item<float>()});
            pose.people.push_back(person);
        }
        for (const bool swap : {false, true}) {
            ExampleOptions options;
            options.augment.flip_swaps_left_right = swap;
            const auto ex = augment_example(image, pose, "a caption", params, options);
            const auto want =
                golden("data/transforms/expected", key + (swap ? ".pose_swapped" : ".pose_official"));
            ASSERT_EQ(ex.pose.sizes(), want.sizes());
            EXPECT_LT(max_abs_diff(ex.pose, want), 1e-4) << (swap ? "swapped" : "official");
            EXPECT_EQ(ex.image.sizes(), (std::vector<int64_t>{3, params.height, params.width}));
            EXPECT_EQ(ex.hint.sizes(), ex.image.sizes());
            EXPECT_EQ(ex.masks.sizes(), (std::vector<int64_t>{2, params.height / 8, params.width / 8}));
            EXPECT_GE(ex.image.min().item<float>(), -1.0f);
            EXPECT_LE(ex.image.max().item<float>(), 1.0f);
            EXPECT_EQ(ex.caption, "a caption");
            // The hint is the renderer's drawing of exactly this pose.
            Pose drawn{params.width, params.height, {}};
            for (int p = 0; p < 10; ++p) {
                Person person;
                for (int j = 0; j < 17; ++j)
                    person.joints.push_back({ex.pose[p][j][0].item<float>(), ex.pose[p][j][1].item<float>(),
                                             ex.pose[p][j][2].item<float>()});
                drawn.people.push_back(person);
            }
            EXPECT_TRUE(torch::equal(ex.hint, render_skeleton_tensor(drawn, coco17_schema())));
        }
    }
}

TEST(Transform, ParamsAreAFunctionOfSeedEpochAndIndexOnly) {
    const auto config = AugmentConfig::training();
    const auto a = sample_augment_params(config, 23, 2, 17);
    const auto b = sample_augment_params(config, 23, 2, 17);
    EXPECT_EQ(describe(a), describe(b));
    EXPECT_NE(describe(a), describe(sample_augment_params(config, 23, 3, 17)));
    EXPECT_NE(describe(a), describe(sample_augment_params(config, 24, 2, 17)));
    // Over many samples the draws follow the configured probabilities (independent decisions).
    int flips = 0, rotations = 0, colour = 0, dropped = 0, bc = 0;
    const int n = 20000;
    for (int i = 0; i < n; ++i) {
        const auto p = sample_augment_params(config, 23, 0, i);
        flips += p.flip, rotations += p.rotate, colour += p.colour != ColourShift::none,
            dropped += p.drop_text;
        bc += p.brightness_contrast;
        ASSERT_GE(p.crop_x, 0.0);
        ASSERT_LT(p.crop_x, 1.0);
        ASSERT_LE(std::abs(p.angle), 90.0);
    }
    EXPECT_NEAR(flips / double(n), 0.2, 0.015);
    EXPECT_NEAR(rotations / double(n), 0.1, 0.015);
    EXPECT_NEAR(colour / double(n), 0.4, 0.015);
    EXPECT_NEAR(dropped / double(n), 0.5, 0.015);
    EXPECT_NEAR(bc / double(n), 0.2, 0.015);
}

TEST(Transform, SameSampleSameBytesInAnyOrderAndThread) {
    const auto dataset = open_dataset(fs::path(STABLEPOSE_GOLDEN_DIR) / "data" / "datasets" / "humansd" /
                                      "mapping_file_training.json");
    ExampleOptions options;
    options.augment.width = 128;
    options.augment.height = 64;
    options.augment.rotate_p = 0.5;  // exercise every step
    options.augment.flip_p = 0.5;
    const int count = 12;
    auto make = [&](int i) {
        return make_training_example(dataset.samples[i % dataset.size()], options, 7, 1, i);
    };
    std::vector<TrainingExample> forward;
    for (int i = 0; i < count; ++i) forward.push_back(make(i));
    std::vector<TrainingExample> threaded(count);
    std::vector<std::thread> threads;
    for (int t = 0; t < 3; ++t)
        threads.emplace_back([&, t] {
            for (int i = count - 1 - t; i >= 0; i -= 3) threaded[i] = make(i);  // reverse order, interleaved
        });
    for (auto& t : threads) t.join();
    int dropped = 0;
    for (int i = 0; i < count; ++i) {
        EXPECT_TRUE(torch::equal(forward[i].image, threaded[i].image)) << i;
        EXPECT_TRUE(torch::equal(forward[i].hint, threaded[i].hint)) << i;
        EXPECT_TRUE(torch::equal(forward[i].pose, threaded[i].pose)) << i;
        EXPECT_TRUE(torch::equal(forward[i].masks, threaded[i].masks)) << i;
        EXPECT_EQ(forward[i].caption, threaded[i].caption) << i;
        dropped += forward[i].caption.empty();
    }
    EXPECT_GT(dropped, 0);  // 50% text dropout over 12 draws
    EXPECT_LT(dropped, count);
    EXPECT_FALSE(
        torch::equal(forward[0].image, make_training_example(dataset.samples[0], options, 7, 2, 0).image) &&
        torch::equal(forward[3].image, make_training_example(dataset.samples[0], options, 7, 2, 3).image));
}

TEST(Transform, SizesMustBeMultiplesOf64AndEvaluationIsCentred) {
    AugmentConfig c;
    c.width = 500;
    EXPECT_THROW(c.validate(), Error);
    c.width = 0;
    EXPECT_THROW(c.validate(), Error);
    c.width = 768;
    EXPECT_NO_THROW(c.validate());
    c.text_dropout = 1.5;
    EXPECT_THROW(c.validate(), Error);
    const auto eval = sample_augment_params(AugmentConfig::evaluation(), 1, 2, 3);
    EXPECT_TRUE(eval.centre_crop);
    EXPECT_FALSE(eval.flip || eval.rotate || eval.brightness_contrast || eval.drop_text);
    EXPECT_EQ(eval.colour, ColourShift::none);
    EXPECT_FALSE(AugmentConfig::official_training().flip_swaps_left_right);
    EXPECT_TRUE(AugmentConfig::training().flip_swaps_left_right);
}

}  // namespace
}  // namespace stablepose
