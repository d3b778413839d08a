// PNG text chunks round-trip and keep the image decodable; canvas fits of poses and skeleton images, the
// cover fit against the training loader's evaluation geometry (data/augment, checked against
// albumentations 1.3.0).
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <random>

#include "stablepose/data/augment.h"
#include "stablepose/error.h"
#include "stablepose/io/image_io.h"
#include "stablepose/io/png_text.h"
#include "stablepose/pose/canvas_fit.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;

TEST(PngText, RoundTripsUtf8AndKeepsThePixels) {
    const auto path = fs::path(::testing::TempDir()) / "png_text_test.png";
    cv::Mat image(5, 7, CV_8UC3);
    cv::randu(image, 0, 255);
    const std::map<std::string, std::string> text = {{"stablepose.generation", "{\"prompt\": \"caf\xc3\xa9 \xe2\x98\x83\"}"},
                                                     {"other", ""}};
    write_png_with_text(path, image, text);
    EXPECT_EQ(read_png_text(path), text);
    const auto back = read_image_rgb(path);
    EXPECT_EQ(cv::norm(back, image, cv::NORM_INF), 0.0);
    EXPECT_THROW(read_png_text(testing::fixture("two_people.json")), Error);
    fs::remove(path);
}

TEST(CanvasFit, CoverScalesTheSmallestSideAndCropsTheCentre) {
    Pose pose{400, 200, {Person{std::vector<Joint>(17)}}};
    pose.people[0].joints[0] = {200, 100, 0.9f};  // centre
    pose.people[0].joints[1] = {10, 50, 0.9f};    // cropped away on the left
    pose.people[0].joints[2] = {150, 0, 0.5f};
    const auto fitted = fit_pose_to_canvas(pose, 256, 256, CanvasFit::kCover);  // scale 1.28, crop x by 128
    EXPECT_EQ(fitted.width, 256);
    EXPECT_FLOAT_EQ(fitted.people[0].joints[0].x, 128.0f);
    EXPECT_FLOAT_EQ(fitted.people[0].joints[0].y, 128.0f);
    EXPECT_EQ(fitted.people[0].joints[1], Joint::missing());
    EXPECT_FLOAT_EQ(fitted.people[0].joints[2].x, 150 * 1.28f - 128);
    EXPECT_EQ(fitted.people[0].joints[3], Joint::missing());
    const auto stretched = fit_pose_to_canvas(pose, 256, 256, CanvasFit::kStretch);
    EXPECT_FLOAT_EQ(stretched.people[0].joints[1].x, 10 * 0.64f);
    EXPECT_FLOAT_EQ(stretched.people[0].joints[1].y, 50 * 1.28f);
}

TEST(CanvasFit, CoverIsTheLoadersCentreCropGeometry) {
    // Source sizes where the resize rounds (ties included: 333 * 512 / 254 = 671.2..., 257 * 2 = 514 ...),
    // joints inside, on the border and outside the source image.
    std::mt19937 rng(7);
    const std::vector<std::pair<int, int>> sizes = {{640, 427}, {254, 333}, {257, 128},
                                                    {512, 512}, {300, 901}, {97, 64}};
    int compared = 0, dropped = 0;
    for (const auto& [w, h] : sizes)
        for (const auto& [cw, ch] : std::vector<std::pair<int, int>>{{512, 512}, {128, 128}, {256, 192}}) {
            Pose pose{w, h, {Person{std::vector<Joint>(17)}}};
            std::vector<cv::Point2d> points;
            std::uniform_real_distribution<double> ux(-0.05 * w, 1.05 * w), uy(-0.05 * h, 1.05 * h);
            for (int j = 0; j < 17; ++j) {
                const double x = j == 0 ? 0.0 : j == 1 ? w - 1e-3 : ux(rng), y = j == 0 ? 0.0 : uy(rng);
                pose.people[0].joints[j] = {static_cast<float>(x), static_cast<float>(y), 0.9f};
                points.emplace_back(static_cast<float>(x), static_cast<float>(y));
            }
            AugmentParams params;
            params.width = cw;
            params.height = ch;
            params.centre_crop = true;
            const auto reference =
                apply_geometry(cv::Mat(h, w, CV_8UC3, cv::Scalar(0, 0, 0)), points, params);
            const auto fitted = fit_pose_to_canvas(pose, cw, ch, CanvasFit::kCover);
            for (int j = 0; j < 17; ++j) {
                const auto& got = fitted.people[0].joints[j];
                if (!reference.kept[j]) {
                    EXPECT_EQ(got, Joint::missing())
                        << w << "x" << h << " -> " << cw << "x" << ch << " joint " << j;
                    ++dropped;
                    continue;
                }
                EXPECT_NEAR(got.x, reference.points[j].x, 1e-4)
                    << w << "x" << h << " -> " << cw << "x" << ch << " joint " << j;
                EXPECT_NEAR(got.y, reference.points[j].y, 1e-4)
                    << w << "x" << h << " -> " << cw << "x" << ch << " joint " << j;
                ++compared;
            }
            // The image goes through the same resize and crop: a pixel lands where its joint does.
            cv::Mat image(h, w, CV_8UC3, cv::Scalar(0, 0, 0));
            EXPECT_EQ(fit_image_to_canvas(image, cw, ch, CanvasFit::kCover).size(), cv::Size(cw, ch));
        }
    EXPECT_GT(compared, 100);
    EXPECT_GT(dropped, 20);
}

TEST(CanvasFit, ImageFitKeepsExactColoursAndMatchesThePoseFit) {
    cv::Mat image(200, 400, CV_8UC3, cv::Scalar(0, 0, 0));
    image.at<cv::Vec3b>(100, 200) = {255, 0, 85};
    const auto fitted = fit_image_to_canvas(image, 256, 256, CanvasFit::kCover);
    ASSERT_EQ(fitted.size(), cv::Size(256, 256));
    cv::Mat mask;
    cv::inRange(fitted, cv::Scalar(255, 0, 85), cv::Scalar(255, 0, 85), mask);
    ASSERT_GT(cv::countNonZero(mask), 0);
    cv::Mat points;
    cv::findNonZero(mask, points);
    const auto box = cv::boundingRect(points);
    EXPECT_LE(box.x, 128);
    EXPECT_GE(box.x + box.width, 128);  // the pixel lands where the joint would
    EXPECT_THROW(fit_image_to_canvas(image, 0, 64, CanvasFit::kCover), Error);
    EXPECT_THROW(parse_canvas_fit("contain"), Error);
}

}  // namespace
}  // namespace stablepose
