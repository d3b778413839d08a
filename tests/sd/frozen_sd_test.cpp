#include <fstream>

#include <caffe2/serialize/inline_container.h>
#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/error.h"
#include "stablepose/sd/frozen_sd.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
const fs::path kTinySd = fs::path(STABLEPOSE_GOLDEN_DIR) / "tiny_sd";

std::string load_error(const fs::path& dir, const FrozenLoadOptions& options = {}) {
    try {
        FrozenStableDiffusion::load(dir, options);
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

// A copy of the tiny model directory whose model.json is edited by `edit`.
fs::path edited_copy(const std::string& name, const std::function<void(nlohmann::json&)>& edit) {
    const auto dir = fs::temp_directory_path() / ("stablepose_sd_" + name + "_" + std::to_string(::getpid()));
    remove_tree(dir);
    fs::copy(kTinySd, dir, fs::copy_options::recursive);
    nlohmann::json j = nlohmann::json::parse(std::ifstream(dir / "model.json"));
    edit(j);
    std::ofstream(dir / "model.json") << j.dump(2);
    return dir;
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

TEST(FrozenSd, UNetGradientsWithRespectToTheResidualsMatchPythonAutograd) {
    auto sd = FrozenStableDiffusion::load(kTinySd);
    std::vector<torch::Tensor> residuals;
    for (int k = 0; k < 13; ++k)
        residuals.push_back(testing::golden("sd", "step.residual." + std::to_string(k)).clone().requires_grad_(true));
    const auto eps = sd.unet(testing::golden("sd", "step.sample"), testing::golden("sd", "step.timesteps"),
                             testing::golden("sd", "step.context"), residuals);
    EXPECT_LE(testing::max_abs_diff(eps.detach(), testing::golden("sd", "step.eps")), 1e-5);
    (eps * testing::golden("sd", "grad.weight")).sum().backward();
    for (int k = 0; k < 13; ++k) {
        const auto expected = testing::golden("sd", "grad.residual." + std::to_string(k));
        EXPECT_LE(testing::scaled_diff(residuals[k].grad(), expected), 1e-4) << "residual " << k;
    }
}

TEST(FrozenSd, VaeAndTextEncoderMatchPythonAtBatchSizes124) {
    torch::NoGradGuard no_grad;
    auto sd = FrozenStableDiffusion::load(kTinySd);
    for (int b : {1, 2, 4}) {
        const auto n = std::to_string(b);
        EXPECT_LE(testing::max_abs_diff(sd.vae_encoder.moments(testing::golden("sd", "vae.image." + n)),
                                        testing::golden("sd", "vae.moments." + n)), 1e-5) << b;
        EXPECT_LE(testing::max_abs_diff(sd.vae_decoder.decode(testing::golden("sd", "vae.latents." + n)),
                                        testing::golden("sd", "vae.decoded." + n)), 1e-5) << b;
        EXPECT_LE(testing::max_abs_diff(sd.text_encoder.encode(testing::golden("sd", "text.ids." + n)),
                                        testing::golden("sd", "text.hidden." + n)), 1e-5) << b;
    }
}

TEST(FrozenSd, VaeEncodeSamplesFromTheMomentsWithTheGivenGenerator) {
    torch::NoGradGuard no_grad;
    auto sd = FrozenStableDiffusion::load(kTinySd);
    const auto image = testing::golden("sd", "vae.image.2");
    auto g1 = at::make_generator<at::CPUGeneratorImpl>(7), g2 = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto a = sd.vae_encoder.encode(image, g1);
    EXPECT_TRUE(torch::equal(a, sd.vae_encoder.encode(image, g2)));  // same seed, same latents
    const auto moments = testing::golden("sd", "vae.moments.2").chunk(2, 1);
    auto g3 = at::make_generator<at::CPUGeneratorImpl>(7);
    const auto eps = torch::randn(moments[0].sizes(), g3);
    const auto expected = (moments[0] + torch::exp(0.5 * moments[1].clamp(-30, 20)) * eps) * 0.18215;
    EXPECT_LE(testing::max_abs_diff(a, expected), 1e-5);
}

TEST(FrozenSd, ParametersAreFrozen) {
    auto sd = FrozenStableDiffusion::load(kTinySd);
    const auto params = sd.unet.state_dict();
    EXPECT_TRUE(params.count("conv_in.weight"));
    for (const auto& [name, p] : params) EXPECT_FALSE(p.requires_grad()) << name;
}

// The loader keeps a trace's constants on the host (frozen_sd.cpp): right for 0-dim scalars, which mix with device
// tensors, wrong for any larger constant. Every constant of the exported archives, the tiny test model's and the
// shipped toy model's, is a scalar: at most 8 bytes of storage.
TEST(FrozenSd, TraceConstantsAreScalarsThatMayStayOnTheHost) {
    const auto toy_model = fs::path(STABLEPOSE_CONFIGS_DIR).parent_path() / "assets" / "toyworld" / "base_model";
    for (const auto& dir : {kTinySd, toy_model}) {
        for (const char* component : {"unet", "vae_encoder", "vae_decoder", "text_encoder"}) {
            const auto file = dir / (std::string(component) + ".pt");
            caffe2::serialize::PyTorchStreamReader archive(file.string());
            int constants = 0;
            for (const auto& record : archive.getAllRecords()) {
                if (record.rfind("constants/", 0) != 0) continue;
                ++constants;
                EXPECT_LE(archive.getRecordSize(record), 8u) << file << ": " << record;
            }
            EXPECT_GT(constants, 0) << file;  // the records are found at all
        }
    }
}

TEST(FrozenSd, LoadingRefusesMismatchesWithExpectedFoundAndHint) {
    EXPECT_TRUE(contains(load_error("/nonexistent/model"), "no such directory"));
    const auto version = load_error(edited_copy("version", [](auto& j) { j["torch_version"] = "2.9.1+cu128"; }));
    EXPECT_TRUE(contains(version, "torch 2.11.0") && contains(version, "2.9.1") && contains(version, "hint")) << version;
    FrozenLoadOptions bf16;
    bf16.dtype = torch::kBFloat16;
    EXPECT_TRUE(contains(load_error(kTinySd, bf16), "another dtype"));
    FrozenLoadOptions cuda;
    cuda.device = torch::Device(torch::kCUDA);
    EXPECT_TRUE(contains(load_error(kTinySd, cuda), "another device"));
    const auto missing = edited_copy("missing", [](auto&) {});
    fs::remove(missing / "vae_decoder.pt");
    EXPECT_TRUE(contains(load_error(missing), "missing TorchScript file")) << load_error(missing);
    const auto swapped = edited_copy("swapped", [](auto& j) {
        j["components"]["unet"]["file"] = "text_encoder.pt";
        j["components"]["unet"]["sha256"] = j["components"]["text_encoder"]["sha256"];
    });
    EXPECT_TRUE(contains(load_error(swapped), "wrong signature")) << load_error(swapped);
    const auto corrupt = edited_copy("corrupt", [](auto&) {});
    std::ofstream(corrupt / "vae_encoder.pt", std::ios::app) << "tampered";
    EXPECT_TRUE(contains(load_error(corrupt), "sha256")) << load_error(corrupt);
    const auto shapes = edited_copy("shapes", [](auto& j) { j["text_encoder"]["hidden_size"] = 64; });
    EXPECT_TRUE(contains(load_error(shapes), "probe call of 'text_encoder'")) << load_error(shapes);
    // An op failing inside the TorchScript interpreter comes back as std::runtime_error, not c10::Error.
    const auto channels = edited_copy("channels", [](auto& j) { j["unet"]["in_channels"] = 9; });
    const auto interpreter = load_error(channels);
    EXPECT_TRUE(contains(interpreter, "probe call of 'unet' failed") && contains(interpreter, "hint"))
        << interpreter;
}

}  // namespace
}  // namespace stablepose
