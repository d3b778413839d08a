// CUDA checks (ctest label `gpu`): each test is skipped where no CUDA device is visible, so the CPU suite
// stays green. They compare the CUDA paths with the fp32 / CPU paths whose Python parity the CPU tests prove:
// the pose-masked ViT's fused (SDPA) and explicit attention, the adapter + traced U-Net step under bf16
// and fp16 autocast against fp32, sampling with CUDA graphs against eager sampling, and the fused AdamW step.
// The measured errors are printed, so a run states its own numbers.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <vector>

#include <torch/torch.h>

#include "stablepose/io/assets.h"
#include "stablepose/nn/full_fp32_convolutions.h"
#include "stablepose/nn/pmsa_vit.h"
#include "stablepose/nn/stable_pose_adapter.h"
#include "stablepose/pose/pose_masks.h"
#include "stablepose/sample/pipeline.h"
#include "stablepose/sd/frozen_sd.h"
#include "stablepose/train/fused_adamw.h"
#include "stablepose/train/mixed_precision.h"
#include "gpu/gpu_test_util.h"
#include "test_util.h"

namespace stablepose {
namespace {

torch::Device test_device() { return testing::gpu_test_device(); }

// ||a - b|| / ||b||, in float64.
double relative_rms(const torch::Tensor& a, const torch::Tensor& b) {
    const auto x = a.to(torch::kCPU, torch::kFloat64), y = b.to(torch::kCPU, torch::kFloat64);
    return ((x - y).norm() / y.norm()).item<double>();
}

// The toy model for the test device. A traced model runs only on the device it was traced on, so on CUDA this
// is the CUDA export named by STABLEPOSE_GPU_TEST_MODEL; empty when that is not set.
constexpr const char* kNeedsCudaModel =
    "set STABLEPOSE_GPU_TEST_MODEL to a CUDA export of the toy model: "
    "scripts/export_sd.py --retarget assets/toyworld/base_model DIR --device cuda";
std::filesystem::path toy_model_for_test_device() {
    if (!test_device().is_cuda()) return find_asset("toyworld/base_model");
    const char* cuda_model = std::getenv("STABLEPOSE_GPU_TEST_MODEL");
    return cuda_model == nullptr ? std::filesystem::path() : std::filesystem::path(cuda_model);
}

// An adapter of `mode` initialised from the U-Net, every weight perturbed so that the zero convs pass something.
StablePoseAdapter perturbed_adapter(const FrozenStableDiffusion& sd, AdapterMode mode) {
    AdapterConfig config;
    config.unet = sd.spec.unet;
    config.mode = mode;
    StablePoseAdapter adapter(config);
    initialize_adapter_from_unet(adapter, sd.unet.state_dict());
    torch::NoGradGuard no_grad;
    for (auto& p : adapter->parameters()) p.add_(0.02 * torch::randn_like(p));
    return adapter;
}

TEST(Gpu, PmsaVitFusedAndExplicitAttentionAgreeOnCuda) {
    SKIP_WITHOUT_CUDA();
    torch::NoGradGuard no_grad;
    PmsaVitOptions fused_options, explicit_options;
    explicit_options.fused_unmasked_attention = false;
    torch::manual_seed(11);
    PmsaVit fused(fused_options);
    torch::manual_seed(11);
    PmsaVit explicit_path(explicit_options);  // the same weights: same seed, same construction order
    const auto x = torch::randn({2, 320, 32, 32});  // [B, C, h, w]: 512 px latents at level 0
    const auto cpu_reference = explicit_path(x);
    fused->to(test_device());
    explicit_path->to(test_device());
    const auto xc = x.to(test_device());
    torch::Tensor b;
    double paths = 0, device = 0;
    {
        // TF32 convolutions (cuDNN's default) would dominate the CUDA-vs-CPU difference; compare in full fp32.
        FullFp32CudaConvolutions fp32;
        const auto a = fused(xc);
        b = explicit_path(xc);
        paths = relative_rms(a, b);
        device = relative_rms(b, cpu_reference);
    }
    std::printf("[gpu] PMSA ViT fp32: fused vs explicit %.3g, CUDA vs CPU %.3g (relative RMS)\n", paths, device);
    EXPECT_LT(paths, 1e-5);
    EXPECT_LT(device, 1e-4);
    // bf16: both paths against the fp32 explicit result.
    fused->to(torch::kBFloat16);
    explicit_path->to(torch::kBFloat16);
    const auto xb = xc.to(torch::kBFloat16);
    const double fused_bf16 = relative_rms(fused(xb), b), explicit_bf16 = relative_rms(explicit_path(xb), b);
    std::printf("[gpu] PMSA ViT bf16 vs fp32: fused %.3g, explicit %.3g\n", fused_bf16, explicit_bf16);
    EXPECT_LT(fused_bf16, 3e-2);
    EXPECT_LT(explicit_bf16, 3e-2);
}

TEST(Gpu, AdapterAndTracedUNetStepUnderBf16AndFp16AutocastMatchFp32) {
    SKIP_WITHOUT_CUDA();
    torch::NoGradGuard no_grad;
    // A traced model runs only on the device it was traced on: on CUDA this needs a CUDA export of the toy
    // model (scripts/export_sd.py --retarget assets/toyworld/base_model DIR --device cuda).
    const auto model = toy_model_for_test_device();
    if (model.empty()) GTEST_SKIP() << kNeedsCudaModel;
    FrozenLoadOptions load;
    load.device = test_device();
    auto sd = FrozenStableDiffusion::load(model, load);
    torch::manual_seed(5);
    for (const auto mode : {AdapterMode::kStablePose, AdapterMode::kControlNet}) {
        auto adapter = perturbed_adapter(sd, mode);
        adapter->to(test_device());
        const int64_t h = 16;  // 128 px, the toy world's size
        const auto skeleton = (torch::rand({2, 3, 8 * h, 8 * h}) * 2 - 1).to(test_device());
        const auto masks = mode == AdapterMode::kStablePose
                               ? build_pose_masks(skeleton.cpu(), PoseMaskConfig::training()).to(test_device())
                               : torch::Tensor();
        const auto latents = torch::randn({2, 4, h, h}).to(test_device());
        const auto context = torch::randn({2, 77, sd.spec.text_hidden_size}).to(test_device());
        const auto t = torch::tensor({5, 700}, torch::kInt64).to(test_device());
        auto step = [&] {
            const auto residuals = adapter(latents, t, context, adapter->encode_condition(skeleton), masks);
            return sd.unet(latents, t, context, residuals).to(torch::kFloat32);
        };
        const auto fp32 = step();
        double err[2] = {0, 0};
        int k = 0;
        for (const auto dtype : {torch::kBFloat16, torch::kFloat16}) {
            // CPU autocast cannot run fp16 through the traced U-Net (torch raises in autocast::prioritize,
            // in Python too), so the CPU dry run stops at bf16.
            if (dtype == torch::kFloat16 && !test_device().is_cuda()) break;
            AutocastGuard autocast(test_device(), dtype);
            err[k++] = relative_rms(step(), fp32);
        }
        std::printf("[gpu] adapter (%s) + traced U-Net vs fp32: bf16 %.3g, fp16 %.3g (relative RMS)\n",
                    to_string(mode).c_str(), err[0], err[1]);
        EXPECT_LT(err[0], 3e-2) << to_string(mode);
        EXPECT_LT(err[1], 5e-3) << to_string(mode);
    }
}

// Sampling with the step recorded as a CUDA graph (PipelineOptions::cuda_graphs) gives the images of eager
// sampling: with the Stable-Pose adapter, with a control window that ends part-way (the late steps run eagerly
// again), with the ControlNet mode, and without an adapter. On the CPU (the dry run) the option does nothing,
// so there the test only runs its own code.
TEST(Gpu, CudaGraphSamplingMatchesEagerSampling) {
    SKIP_WITHOUT_CUDA();
    const auto model = toy_model_for_test_device();
    if (model.empty()) GTEST_SKIP() << kNeedsCudaModel;
    FrozenLoadOptions load;
    load.device = test_device();
    struct Case {
        std::string name;
        std::optional<AdapterMode> mode;
        double control_end;
    };
    const std::vector<Case> cases{{"stable_pose", AdapterMode::kStablePose, 1.0},
                                  {"stable_pose, control ends at 0.6", AdapterMode::kStablePose, 0.6},
                                  {"controlnet", AdapterMode::kControlNet, 1.0},
                                  {"no adapter", std::nullopt, 1.0}};
    for (const auto& c : cases) {
        torch::Tensor images[2];
        for (const bool graphs : {false, true}) {
            auto sd = FrozenStableDiffusion::load(model, load);
            std::optional<LoadedAdapter> adapter;
            if (c.mode) {
                torch::manual_seed(5);
                adapter.emplace();
                adapter->adapter = perturbed_adapter(sd, *c.mode);
            }
            auto tokenizer = ClipTokenizer::from_file(sd.spec.tokenizer_path());
            PipelineOptions options;
            options.cuda_graphs = graphs;
            SamplingPipeline pipeline(std::move(sd), std::move(adapter), std::move(tokenizer), options);
            GenerationSettings s;
            s.width = s.height = 128;
            s.steps = 10;
            s.guidance_scale = 5.0;
            s.control_end = c.control_end;
            torch::manual_seed(6);
            const auto skeleton = torch::rand({3, 128, 128}) * 2 - 1;
            std::vector<ImageRequest> batch{{s, "a red figure on a sandy background", "", 1, skeleton, 0},
                                            {s, "two figures on a wooden background", "", 2, skeleton, 0}};
            images[graphs] = pipeline.generate(batch);
            if (graphs) images[graphs] = pipeline.generate(batch);  // a second batch records a new graph
        }
        const double diff = (images[0] - images[1]).abs().max().item<double>();
        std::printf("[gpu] CUDA graph vs eager sampling (%s): max |difference| %.3g of the [0, 1] range\n",
                    c.name.c_str(), diff);
        EXPECT_LT(diff, 1.0 / 255) << c.name;
    }
}

// The training step's fused AdamW (train/fused_adamw.h) on CUDA against LibTorch's AdamW::step on the CPU,
// five steps of the same gradients, with a channels-last conv weight among the parameters.
TEST(Gpu, FusedAdamWOnCudaMatchesAdamWStepOnTheCpu) {
    SKIP_WITHOUT_CUDA();
    torch::manual_seed(9);
    const std::vector<torch::Tensor> start{torch::randn({64, 32, 3, 3}), torch::randn({320, 320}), torch::randn({320})};
    std::vector<torch::Tensor> cuda_params, cpu_params;
    for (const auto& t : start) {
        const auto layout = t.dim() == 4 ? torch::MemoryFormat::ChannelsLast : torch::MemoryFormat::Contiguous;
        cuda_params.push_back(t.to(test_device()).contiguous(layout).clone(layout).requires_grad_());
        cpu_params.push_back(t.clone().requires_grad_());
    }
    const auto options = torch::optim::AdamWOptions(1e-3).weight_decay(0.01);
    torch::optim::AdamW on_device(cuda_params, options), on_cpu(cpu_params, options);
    for (int step = 0; step < 5; ++step) {
        for (size_t i = 0; i < start.size(); ++i) {
            const auto g = torch::randn(start[i].sizes());
            cpu_params[i].mutable_grad() = g;
            cuda_params[i].mutable_grad() = g.to(test_device()).contiguous(cuda_params[i].suggest_memory_format());
        }
        fused_adamw_step(on_device);
        on_cpu.step();
    }
    double worst = 0;
    for (size_t i = 0; i < start.size(); ++i) worst = std::max(worst, relative_rms(cuda_params[i], cpu_params[i]));
    std::printf("[gpu] fused AdamW on %s vs AdamW::step on the CPU, 5 steps: %.3g (relative RMS)\n",
                test_device().str().c_str(), worst);
    EXPECT_LT(worst, 1e-6);
}

}  // namespace
}  // namespace stablepose
