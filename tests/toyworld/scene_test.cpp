#include "stablepose/toyworld/scene.h"

#include <algorithm>
#include <array>
#include <set>

#include <gtest/gtest.h>

#include "stablepose/error.h"
#include "stablepose/toyworld/background.h"
#include "stablepose/toyworld/joint_visibility.h"
#include "stablepose/toyworld/random.h"
#include "toyworld/toyworld_test_util.h"

namespace stablepose::toyworld {
namespace {

Scene sample_scene(int index, int size = 128) {
    Random rng = Random::for_sample(1234, "training", static_cast<std::uint64_t>(index));
    return random_scene(rng, size, size);
}

TEST(ToyworldScene, VisibleJointsLieOnTheFigure) {
    int checked = 0;
    for (int i = 0; i < 40; ++i) {
        const Scene scene = sample_scene(i);
        const auto r = render_scene(scene);
        for (const auto& p : r.people)
            for (int j = 0; j < 17; ++j) {
                const Joint& k = p.keypoints[j];
                if (k.confidence != kVisibleConfidence) continue;
                const int x = static_cast<int>(std::lround(k.x)), y = static_cast<int>(std::lround(k.y));
                ASSERT_TRUE(x >= 0 && y >= 0 && x < scene.width && y < scene.height);
                EXPECT_NE(r.image.at<cv::Vec3b>(y, x), r.background.at<cv::Vec3b>(y, x))
                    << "sample " << i << " figure " << p.figure << " joint " << j << " at " << x << "," << y;
                ++checked;
            }
    }
    EXPECT_GT(checked, 40 * 12);
}

TEST(ToyworldScene, BackgroundIsUntouchedAwayFromFigures) {
    const Scene scene = testing::test_scene({testing::test_figure(0)});
    const auto r = render_scene(scene);
    // The figure spans x in about [40, 88]: the left and right edges are pure background.
    EXPECT_EQ(cv::norm(r.image.colRange(0, 20), r.background.colRange(0, 20), cv::NORM_INF), 0.0);
    EXPECT_EQ(cv::norm(r.image.colRange(108, 128), r.background.colRange(108, 128), cv::NORM_INF), 0.0);
    EXPECT_GT(cv::norm(r.image, r.background, cv::NORM_L1), 0.0);
}

TEST(ToyworldScene, ViewsCoverFrontSideAndBack) {
    std::array<int, 3> views{};
    int people = 0;
    for (int i = 0; i < 100; ++i) {
        const Scene scene = sample_scene(i);
        for (const auto& f : scene.figures) ++views[static_cast<int>(classify_view(f.yaw_deg))], ++people;
    }
    for (int v = 0; v < 3; ++v) {
        EXPECT_GT(views[v], people / 5) << view_name(static_cast<View>(v));
        EXPECT_LT(views[v], people / 2) << view_name(static_cast<View>(v));
    }
}

TEST(ToyworldScene, CaptionsNameTheActualColoursAndBackground) {
    std::set<size_t> counts;
    std::set<std::string> backgrounds;
    for (int i = 0; i < 60; ++i) {
        const Scene scene = sample_scene(i);
        const std::string caption = scene_caption(scene);
        counts.insert(scene.figures.size());
        backgrounds.insert(scene.background);
        EXPECT_NE(caption.find(" on a " + scene.background + " background"), std::string::npos) << caption;
        std::vector<std::pair<size_t, std::string>> mentioned;  // (position in the caption, colour)
        for (const auto& c : clothing_colours()) {
            const auto pos = caption.find(c.name);
            const bool worn = std::any_of(scene.figures.begin(), scene.figures.end(),
                                          [&](const FigureSpec& f) { return f.colour == c.name; });
            EXPECT_EQ(pos != std::string::npos, worn) << caption << " / " << c.name;
            if (pos != std::string::npos) mentioned.emplace_back(pos, c.name);
        }
        // Colours in the caption run left to right, as the people in the pose file do.
        std::sort(mentioned.begin(), mentioned.end());
        const auto order = left_to_right(scene);
        ASSERT_EQ(mentioned.size(), order.size()) << caption;
        for (size_t k = 0; k < order.size(); ++k) EXPECT_EQ(mentioned[k].second, scene.figures[order[k]].colour);
        const auto expected_clothing = [&](const FigureSpec& f) { return f.style.clothing == clothing_colour(f.colour).rgb; };
        EXPECT_TRUE(std::all_of(scene.figures.begin(), scene.figures.end(), expected_clothing));
    }
    EXPECT_EQ(counts, (std::set<size_t>{1, 2, 3}));
    EXPECT_GE(backgrounds.size(), 5u);
}

TEST(ToyworldScene, CaptionWording) {
    Scene scene = testing::test_scene({testing::test_figure(0)});
    scene.background = "sandy";
    EXPECT_EQ(scene_caption(scene), "a red figure on a sandy background");
    scene.caption_template = 1;
    EXPECT_EQ(scene_caption(scene), "a figure in red on a sandy background");
    auto blue = testing::test_figure(0), yellow = testing::test_figure(0);
    blue.colour = "blue", blue.centre_u = 30;
    yellow.colour = "yellow", yellow.centre_u = 90;
    scene = testing::test_scene({yellow, blue});  // drawn yellow first, but blue is on the left
    scene.background = "grassy";
    EXPECT_EQ(scene_caption(scene), "two figures, a blue one and a yellow one, on a grassy background");
    scene.figures[0].colour = "orange";
    EXPECT_EQ(scene_caption(scene), "two figures, a blue one and an orange one, on a grassy background");
    scene.figures = {scene.figures[0]};
    EXPECT_EQ(scene_caption(scene), "an orange figure on a grassy background");
}

TEST(ToyworldScene, FiguresAreLargeAndInsideTheImage) {
    for (int i = 0; i < 60; ++i) {
        const Scene scene = sample_scene(i);
        const auto r = render_scene(scene);
        for (const auto& p : r.people) {
            const auto& f = scene.figures[p.figure];
            EXPECT_GE(f.height_px, 0.5 * scene.height);
            EXPECT_LE(f.height_px, 0.95 * scene.height);
            EXPECT_NEAR(p.bbox.height, f.height_px, 1e-6);  // never cut at the top or bottom
            EXPECT_GT(p.bbox.width, 0.0);
        }
        // Nearer figures are drawn later and are at least as tall.
        for (size_t k = 1; k < scene.figures.size(); ++k)
            EXPECT_GE(scene.figures[k].height_px, scene.figures[k - 1].height_px);
        std::set<std::string> colours;
        for (const auto& f : scene.figures) colours.insert(f.colour);
        EXPECT_EQ(colours.size(), scene.figures.size());
    }
}

TEST(ToyworldScene, EveryBackgroundRendersAndUnknownNamesAreRefused) {
    for (const auto& name : background_names()) {
        Random rng(4);
        const cv::Mat bg = render_background(name, 64, 48, rng);
        EXPECT_EQ(bg.size(), cv::Size(64, 48));
        EXPECT_EQ(bg.type(), CV_8UC3);
        cv::Scalar mean, stddev;
        cv::meanStdDev(bg, mean, stddev);
        EXPECT_GT(stddev[0] + stddev[1] + stddev[2], 3.0) << name << " has no texture";
    }
    Random rng(4);
    EXPECT_THROW(render_background("lava", 64, 64, rng), Error);
    EXPECT_THROW(clothing_colour("mauve"), Error);
}

}  // namespace
}  // namespace stablepose::toyworld
