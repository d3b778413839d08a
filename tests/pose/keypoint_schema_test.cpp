#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/pose/keypoint_schema.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(KeypointSchema, Coco17LimbTableAndColoursMatchTheSpec) {
    const auto& s = coco17_schema();
    ASSERT_EQ(s.num_joints(), 17);
    ASSERT_EQ(s.limbs.size(), 16u);
    // stable-pose.md §12: limb endpoints and RGB colours.
    const int ends[16][2] = {{0, 1}, {0, 2}, {1, 3}, {2, 4}, {3, 5}, {4, 6}, {5, 7}, {6, 8},
                             {7, 9}, {8, 10}, {5, 11}, {6, 12}, {11, 13}, {12, 14}, {13, 15}, {14, 16}};
    const Rgb colours[16] = {{219, 94, 86},  {219, 144, 86}, {219, 194, 86}, {194, 219, 86},
                             {145, 219, 86}, {95, 219, 86},  {86, 219, 127}, {86, 219, 177},
                             {86, 211, 219}, {86, 161, 219}, {86, 111, 219}, {111, 86, 219},
                             {160, 86, 219}, {210, 86, 219}, {219, 86, 178}, {219, 86, 128}};
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(s.limbs[i].a, ends[i][0]) << i;
        EXPECT_EQ(s.limbs[i].b, ends[i][1]) << i;
        EXPECT_EQ(s.limbs[i].colour, colours[i]) << "limb " << i;
    }
}

TEST(KeypointSchema, HlsPaletteMatchesPythonColorsys) {
    const auto reference = testing::golden("render_masks", "palette16");  // [16, 3] from numpy + colorsys
    const auto palette = hls_palette(16);
    for (int i = 0; i < 16; ++i) {
        EXPECT_EQ(palette[i].r, reference[i][0].item<int>()) << i;
        EXPECT_EQ(palette[i].g, reference[i][1].item<int>()) << i;
        EXPECT_EQ(palette[i].b, reference[i][2].item<int>()) << i;
    }
}

TEST(KeypointSchema, Coco17SigmasFlipPairsAndNames) {
    const auto& s = coco17_schema();
    EXPECT_DOUBLE_EQ(s.oks_sigmas[0], 0.026);
    EXPECT_DOUBLE_EQ(s.oks_sigmas[11], 0.107);
    EXPECT_EQ(s.joint_index("right_wrist"), 10);
    const auto perm = s.flip_permutation();
    EXPECT_EQ(perm[0], 0);
    EXPECT_EQ(perm[5], 6);
    EXPECT_EQ(perm[16], 15);
    EXPECT_THROW(s.joint_index("tail"), Error);
}

TEST(KeypointSchema, OtherSchemasAreData) {
    const auto j = nlohmann::json::parse(R"({
        "name": "stick5", "joints": ["head", "hand_l", "hand_r", "foot_l", "foot_r"],
        "limbs": [["head", "hand_l"], ["head", "hand_r"], [0, 3], [0, 4]], "palette": "hls",
        "oks_sigmas": [0.1, 0.1, 0.1, 0.1, 0.1], "flip_pairs": [["hand_l", "hand_r"], [3, 4]]})");
    const auto s = KeypointSchema::from_json(j);
    EXPECT_EQ(s.num_joints(), 5);
    EXPECT_EQ(s.limbs[2].b, 3);
    EXPECT_EQ(s.limbs[0].colour, hls_palette(4)[0]);
    EXPECT_EQ(s.flip_permutation()[1], 2);
    const auto round_trip = KeypointSchema::from_json(s.to_json());
    EXPECT_EQ(round_trip.limbs[3].colour, s.limbs[3].colour);
}

TEST(KeypointSchema, InconsistentSchemasAreRejected) {
    auto base = nlohmann::json::parse(R"({"name": "bad", "joints": ["a", "b"], "limbs": [[0, 5, [1, 2, 3]]]})");
    EXPECT_THROW(KeypointSchema::from_json(base), Error);  // limb to a joint that does not exist
    base["limbs"] = nlohmann::json::parse(R"([[0, 1]])");
    EXPECT_THROW(KeypointSchema::from_json(base), Error);  // no colour and no palette
    base["limbs"] = nlohmann::json::parse(R"([[0, 1, [1, 2, 3]]])");
    base["oks_sigmas"] = {0.1};
    EXPECT_THROW(KeypointSchema::from_json(base), Error);  // one sigma for two joints
    base.erase("oks_sigmas");
    base["colour"] = "red";
    EXPECT_THROW(KeypointSchema::from_json(base), Error);  // unknown key
    EXPECT_THROW(load_schema("openpose-99"), Error);
}

}  // namespace
}  // namespace stablepose
