// The sampling pipeline on the tiny exported SD: parity with diffusers' StableDiffusionControlNetPipeline
// (tests/reference/make_sample_golden.py), determinism, CFG layout, the guidance-1 path.
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/image_io.h"
#include "stablepose/sample/pipeline.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
const fs::path kGolden(STABLEPOSE_GOLDEN_DIR);

SamplingPipeline make_pipeline(std::optional<LoadedAdapter> adapter, PipelineOptions options = {}) {
    auto sd = FrozenStableDiffusion::load(kGolden / "tiny_sd");
    auto tokenizer = ClipTokenizer::from_file(sd.spec.tokenizer_path());
    return SamplingPipeline(std::move(sd), std::move(adapter), std::move(tokenizer), std::move(options));
}

LoadedAdapter reference_controlnet() {
    return load_adapter(kGolden / "sample" / "controlnet", FrozenModelSpec::load(kGolden / "tiny_sd").unet);
}

// A stable_pose adapter initialised from the tiny U-Net, its zero convs perturbed so the pose matters.
LoadedAdapter tiny_stable_pose_adapter() {
    auto sd = FrozenStableDiffusion::load(kGolden / "tiny_sd");
    const auto config = testing::tiny_stable_pose_config(sd.spec.unet);
    LoadedAdapter out;
    out.adapter = StablePoseAdapter(config);
    initialize_adapter_from_unet(out.adapter, sd.unet.state_dict());
    torch::NoGradGuard no_grad;
    auto generator = at::make_generator<at::CPUGeneratorImpl>(3);
    for (auto& item : out.adapter->named_parameters())
        if (item.key().rfind("controlnet_", 0) == 0)
            item.value().copy_(0.05 * torch::randn(item.value().sizes(), generator));
    return out;
}

std::vector<ImageRequest> case_requests(const nlohmann::json& c, const torch::Tensor& skeleton) {
    GenerationSettings s;
    s.width = c.at("width");
    s.height = c.at("height");
    s.sampler = c.at("sampler");
    s.steps = c.at("steps");
    s.guidance_scale = c.at("guidance");
    s.control_scale = c.at("control_scale");
    s.control_start = c.at("control_start");
    s.control_end = c.at("control_end");
    std::vector<ImageRequest> out;
    for (size_t i = 0; i < c.at("seeds").size(); ++i)
        out.push_back({s, c.at("prompts")[i], kOfficialNegativePrompt, c.at("seeds")[i].get<int64_t>(), skeleton, 0});
    return out;
}

TEST(SamplingPipeline, ControlNetModeMatchesDiffusersPipeline) {
    auto pipeline = make_pipeline(reference_controlnet());
    std::ifstream in(kGolden / "sample" / "cases.json");
    const auto cases = nlohmann::json::parse(in);
    ASSERT_EQ(cases.size(), 4u);
    for (const auto& c : cases) {
        const std::string name = c.at("name");
        const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / ("skeleton_" + name + ".png")));
        const auto requests = case_requests(c, skeleton);
        // The initial noise is what the reference drew with torch.Generator().manual_seed(seed).
        std::vector<torch::Tensor> noise;
        for (const auto& r : requests) noise.push_back(SamplingPipeline::initial_noise(r.seed, 4, r.settings.height / 8, r.settings.width / 8));
        EXPECT_TRUE(torch::equal(torch::cat(noise), testing::golden("sample/sample", name + ".latents"))) << name;
        const auto images = pipeline.generate(requests);
        const auto expected = testing::golden("sample/sample", name + ".images");
        ASSERT_EQ(images.sizes(), expected.sizes()) << name;
        const double diff = testing::max_abs_diff(images, expected);
        // Within 1e-3 of the [0, 1] range (a quarter of a grey level). Measured on the 2-core machine with two
        // threads: ddim 5.4e-6, dpmpp 1.5e-6, euler 1.5e-6, ddim_window 2.5e-4 (6.9e-7 on one thread: the
        // reduction order of some op, amplified where control switches on); a control window one step off
        // (control_start 0.1 or 0.3 against the reference's 0.2) gives 0.047 and 0.022.
        EXPECT_LE(diff, 1e-3) << name;
        RecordProperty(name + "_max_abs_diff", std::to_string(diff));
        std::cout << "[ parity ] " << name << ": max |ours - diffusers| on decoded pixels = " << diff << "\n";
    }
}

TEST(SamplingPipeline, SameSeedSameImageOtherSeedOtherImage) {
    auto pipeline = make_pipeline(tiny_stable_pose_adapter());
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 4;
    const ImageRequest a{s, "a red figure", kOfficialNegativePrompt, 42, skeleton, 0};
    auto b = a;
    b.seed = 43;
    const auto first = pipeline.generate({a});
    const auto again = pipeline.generate({a});
    const auto other = pipeline.generate({b});
    EXPECT_TRUE(torch::equal(first, again));
    EXPECT_GT(testing::max_abs_diff(first, other), 1e-3);
}

// CUDA graphs need a CUDA device (tests/gpu checks them there); on the CPU the option leaves sampling as it is.
TEST(SamplingPipeline, CudaGraphOptionChangesNothingOnTheCpu) {
    PipelineOptions graphs;
    graphs.cuda_graphs = true;
    torch::manual_seed(4);  // the adapter's fresh parts (pose encoder, ViT) come from the global generator
    auto plain = make_pipeline(tiny_stable_pose_adapter());
    torch::manual_seed(4);
    auto with_option = make_pipeline(tiny_stable_pose_adapter(), graphs);
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 4;
    const ImageRequest r{s, "a red figure", kOfficialNegativePrompt, 42, skeleton, 0};
    EXPECT_TRUE(torch::equal(plain.generate({r}), with_option.generate({r})));
}

TEST(SamplingPipeline, ThePoseChangesTheImage) {
    auto pipeline = make_pipeline(tiny_stable_pose_adapter());
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 4;
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    const auto other = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim_window.png"));
    const auto x = pipeline.generate({{s, "a red figure", "", 1, skeleton, 0}});
    const auto y = pipeline.generate({{s, "a red figure", "", 1, other, 1}});
    EXPECT_GT(testing::max_abs_diff(x, y), 1e-3);
}

TEST(SamplingPipeline, GuidanceOneSkipsTheUnconditionalBranch) {
    auto pipeline = make_pipeline(tiny_stable_pose_adapter());
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 3;
    s.guidance_scale = 1.0;
    const auto a = pipeline.generate({{s, "a red figure", "negative one", 5, skeleton, 0}});
    EXPECT_EQ(pipeline.text_cache_size(), 1);  // the negative prompt was never encoded
    const auto b = pipeline.generate({{s, "a red figure", "negative two", 5, skeleton, 0}});
    EXPECT_TRUE(torch::equal(a, b));
    s.guidance_scale = 7.5;
    const auto c = pipeline.generate({{s, "a red figure", "negative one", 5, skeleton, 0}});
    const auto d = pipeline.generate({{s, "a red figure", "negative two", 5, skeleton, 0}});
    EXPECT_GT(testing::max_abs_diff(c, d), 1e-4);
}

TEST(SamplingPipeline, CfgMasksAreOnesForTheUnconditionalRows) {
    auto pipeline = make_pipeline(tiny_stable_pose_adapter());
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    const auto blank = torch::full_like(skeleton, -1.0);
    const auto skeletons = torch::stack({skeleton, blank});  // B = 2
    const auto cfg = pipeline.adapter_masks(skeletons, true);
    const auto real = build_pose_masks(skeletons, PoseMaskConfig::inference());  // [2 * 2, 8, 8]
    ASSERT_EQ(cfg.sizes(), (std::vector<int64_t>{8, 8, 8}));
    // Layer 0: [ones(B); mask_k23(B)], layer 1: [ones(B); mask_k13(B)].
    EXPECT_TRUE(torch::equal(cfg.narrow(0, 0, 2), torch::ones({2, 8, 8})));
    EXPECT_TRUE(torch::equal(cfg.narrow(0, 2, 2), real.narrow(0, 0, 2)));
    EXPECT_TRUE(torch::equal(cfg.narrow(0, 4, 2), torch::ones({2, 8, 8})));
    EXPECT_TRUE(torch::equal(cfg.narrow(0, 6, 2), real.narrow(0, 2, 2)));
    EXPECT_EQ(cfg[3].sum().item<float>(), 0.0f);  // the blank skeleton has no pose cells
    EXPECT_GT(cfg[2].sum().item<float>(), 0.0f);
    // Without CFG: the training-style masks, conditional rows only.
    EXPECT_TRUE(torch::equal(pipeline.adapter_masks(skeletons, false),
                             build_pose_masks(skeletons, PoseMaskConfig::training())));
}

TEST(SamplingPipeline, ControlWindowFollowsDiffusers) {
    // diffusers: keep = 1 - (i / n < start or (i + 1) / n > end)
    EXPECT_EQ(SamplingPipeline::control_keep(0, 10, 0.2, 0.7), 0.0);
    EXPECT_EQ(SamplingPipeline::control_keep(1, 10, 0.2, 0.7), 0.0);
    EXPECT_EQ(SamplingPipeline::control_keep(2, 10, 0.2, 0.7), 1.0);
    EXPECT_EQ(SamplingPipeline::control_keep(6, 10, 0.2, 0.7), 1.0);
    EXPECT_EQ(SamplingPipeline::control_keep(7, 10, 0.2, 0.7), 0.0);
    EXPECT_EQ(SamplingPipeline::control_keep(9, 10, 0.0, 1.0), 1.0);
}

TEST(SamplingPipeline, RejectsMixedBatchesAndBadSkeletons) {
    auto pipeline = make_pipeline(tiny_stable_pose_adapter());
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 2;
    auto t = s;
    t.steps = 3;
    const auto skeleton = torch::full({3, 64, 64}, -1.0);
    EXPECT_THROW(pipeline.generate({{s, "a", "", 1, skeleton, 0}, {t, "a", "", 1, skeleton, 0}}), Error);
    EXPECT_THROW(pipeline.generate({{s, "a", "", 1, torch::full({3, 64, 128}, -1.0), 0}}), Error);
    EXPECT_THROW(pipeline.generate({}), Error);
}

TEST(SamplingPipeline, NoAdapterIsThePlainSdBaseline) {
    auto pipeline = make_pipeline(std::nullopt);
    GenerationSettings s;
    s.width = 128;
    s.height = 64;
    s.steps = 3;
    const auto images = pipeline.generate({{s, "a red figure", "", 9, {}, -1}});
    EXPECT_EQ(images.sizes(), (std::vector<int64_t>{1, 3, 64, 128}));
    EXPECT_GE(images.min().item<float>(), 0.0f);
    EXPECT_LE(images.max().item<float>(), 1.0f);
}

}  // namespace
}  // namespace stablepose

namespace stablepose {
namespace {

// The diagnostic ablation equals an adapter whose pose encoder outputs zeros, and differs from the trained one.
TEST(SamplingPipeline, AblatedPoseFeaturesAreZeroFeatures) {
    const auto with_pose_features = [] {
        torch::manual_seed(0);  // the adapter's freshly initialised tensors (ViT, pose encoder) alike in all three
        auto adapter = tiny_stable_pose_adapter();
        torch::NoGradGuard no_grad;
        auto generator = at::make_generator<at::CPUGeneratorImpl>(4);
        for (auto& item : adapter.adapter->named_parameters())
            if (item.key().rfind("feature_extractor.zero_convs.", 0) == 0)
                item.value().copy_(0.05 * torch::randn(item.value().sizes(), generator));
        return adapter;
    };
    auto silenced = with_pose_features();
    {
        torch::NoGradGuard no_grad;
        for (auto& item : silenced.adapter->named_parameters())
            if (item.key().rfind("feature_extractor.zero_convs.", 0) == 0) item.value().zero_();
    }
    GenerationSettings s;
    s.width = s.height = 64;
    s.steps = 3;
    const auto skeleton = rgb_to_tensor(read_image_rgb(kGolden / "sample" / "skeleton_ddim.png"));
    const std::vector<ImageRequest> request{{s, "a red figure", "", 1, skeleton, 0}};
    auto sd = [] { return FrozenStableDiffusion::load(kGolden / "tiny_sd"); };
    auto tokenizer = [&] { return ClipTokenizer::from_file(FrozenModelSpec::load(kGolden / "tiny_sd").tokenizer_path()); };
    PipelineOptions ablate;
    ablate.zero_condition_features = true;
    const auto normal = SamplingPipeline(sd(), with_pose_features(), tokenizer()).generate(request);
    const auto ablated = SamplingPipeline(sd(), with_pose_features(), tokenizer(), ablate).generate(request);
    const auto zero_encoder = SamplingPipeline(sd(), std::move(silenced), tokenizer()).generate(request);
    EXPECT_GT(testing::max_abs_diff(normal, ablated), 1e-3);
    EXPECT_LT(testing::max_abs_diff(ablated, zero_encoder), 1e-6);
}

}  // namespace
}  // namespace stablepose
