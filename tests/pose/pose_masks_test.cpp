#include "stablepose/error.h"
#include "stablepose/pose/pose_masks.h"
#include "stablepose/pose/skeleton_renderer.h"
#include "test_util.h"

namespace stablepose {
namespace {

TEST(PoseMasks, GaussianKernelIsTorchvisionsFormula) {
    const auto k = gaussian_kernel1d(23, 3.0);
    EXPECT_EQ(k.size(0), 23);
    EXPECT_NEAR(k.sum().item<double>(), 1.0, 1e-6);
    double total = 0.0;
    for (int x = -11; x <= 11; ++x) total += std::exp(-0.5 * (x / 3.0) * (x / 3.0));
    const double centre = 1.0 / total;
    EXPECT_NEAR(k[11].item<double>(), centre, 1e-7);
    EXPECT_TRUE(torch::equal(gaussian_kernel2d(13, 3.0), torch::outer(gaussian_kernel1d(13, 3.0), gaussian_kernel1d(13, 3.0))));
}

TEST(PoseMasks, BlurAndMasksEqualTorchvisionReference) {
    for (int i = 0; i < 4; ++i) {
        const auto name = "case" + std::to_string(i);
        const auto skeleton = testing::golden("render_masks", name + ".skeleton");  // [H, W, 3] uint8
        const auto hint = skeleton.permute({2, 0, 1}).unsqueeze(0).to(torch::kFloat32).div(255).mul(2).sub(1);
        const auto blur = gaussian_blur(hint, 23, 3.0)[0];
        EXPECT_LE(testing::max_abs_diff(blur, testing::golden("render_masks", name + ".blur23")), 1e-6) << name;
        const auto train = build_pose_masks(hint, PoseMaskConfig::training());
        const auto infer = build_pose_masks(hint, PoseMaskConfig::inference());
        EXPECT_TRUE(torch::equal(train, testing::golden("render_masks", name + ".masks_train"))) << name;
        EXPECT_TRUE(torch::equal(infer, testing::golden("render_masks", name + ".masks_infer"))) << name;
        // Inference masks are the same in the literal torchvision form; training masks are not (see header).
        EXPECT_TRUE(torch::equal(infer, testing::golden("render_masks", name + ".masks_infer_literal"))) << name;
        PoseMaskConfig literal = PoseMaskConfig::training();
        literal.background_relative = false;
        const auto train_literal = build_pose_masks(hint, literal);
        EXPECT_TRUE(torch::equal(train_literal, testing::golden("render_masks", name + ".masks_train_literal")))
            << name;
        EXPECT_EQ(train_literal[0].min().item<float>(), 1.0f) << name << ": literal k=23 training mask is all ones";
        EXPECT_EQ(train.size(0), 2);  // [k23; k13] for B = 1
        EXPECT_EQ(train.size(1), hint.size(2) / 8);
        EXPECT_EQ(train.size(2), hint.size(3) / 8);
    }
}

// Rows above the top edge of a horizontal 10-px limb that are selected at pixel level (before pooling).
int dilation_above_limb(int kernel, float threshold) {
    Pose pose{512, 512, {Person{std::vector<Joint>(17, Joint::missing())}}};
    pose.people[0].joints[5] = {100, 256, 1};  // limb 6: left shoulder -> left elbow
    pose.people[0].joints[7] = {400, 256, 1};
    const auto hint = render_skeleton_tensor(pose, coco17_schema()).unsqueeze(0);
    const auto column = hint[0][0].select(1, 250);  // a column through the middle of the limb
    const auto limb_rows = (column > -1).nonzero();
    const int top = limb_rows.min().item<int>();
    PoseMaskConfig config;
    config.gaussian_kernels = {kernel};
    config.threshold = threshold;
    config.latent_factor = 1;  // pixel level
    const auto selected = build_pose_masks(hint, config)[0].select(1, 250);
    const int selected_top = selected.nonzero().min().item<int>();
    return top - selected_top;
}

TEST(PoseMasks, DilationAroundALimbMatchesTheSpec) {
    // stable-pose.md §6.2: k=23 reaches 11 px (its full radius) in training, about 8 px at inference;
    // k=13 reaches 6 px in both.
    EXPECT_EQ(dilation_above_limb(23, -1.0f), 11);
    EXPECT_NEAR(dilation_above_limb(23, -0.99f), 8, 1);
    EXPECT_EQ(dilation_above_limb(13, -1.0f), 6);
    EXPECT_EQ(dilation_above_limb(13, -0.99f), 6);
}

TEST(PoseMasks, AnySizeThatIsAMultipleOfTheLatentFactor) {
    auto hint = torch::full({2, 3, 48, 80}, -1.0f);
    hint.index_put_({1, torch::indexing::Slice(), 20, 40}, 1.0f);  // one pixel of pose in image 1
    const auto masks = build_pose_masks(hint, PoseMaskConfig::training());
    EXPECT_EQ(masks.sizes(), (std::vector<int64_t>{4, 6, 10}));
    EXPECT_EQ(masks[0].sum().item<float>(), 0.0f);  // image 0: no pose, k23
    EXPECT_EQ(masks[2].sum().item<float>(), 0.0f);  // image 0: no pose, k13
    EXPECT_EQ(masks[1][20 / 8][40 / 8].item<float>(), 1.0f);
    EXPECT_GT(masks[1].sum().item<float>(), masks[3].sum().item<float>());  // coarse covers more than fine
    EXPECT_THROW(build_pose_masks(torch::zeros({1, 3, 50, 64}), PoseMaskConfig::training()), Error);
    EXPECT_THROW(build_pose_masks(torch::zeros({1, 1, 64, 64}), PoseMaskConfig::training()), Error);
    PoseMaskConfig even;
    even.gaussian_kernels = {22};
    EXPECT_THROW(build_pose_masks(hint, even), Error);
}

TEST(PoseMasks, AllOnesMasksForTheUnconditionalBranch) {
    const auto ones = all_ones_pose_masks(2, 3, 8, 4);
    EXPECT_EQ(ones.sizes(), (std::vector<int64_t>{6, 8, 4}));
    EXPECT_EQ(ones.min().item<float>(), 1.0f);
}

}  // namespace
}  // namespace stablepose
