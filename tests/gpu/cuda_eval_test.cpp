// CUDA checks of the evaluator (ctest label `gpu`): the demo's last stage, `stablepose eval report --detector
// assets/toyworld/detector --device cuda`, against the same report on the CPU. The detector is a scripted
// (not traced) module whose decoder builds index tensors of its own, so a CPU/CUDA mismatch would show here;
// its convolutions run in full fp32 on CUDA too (TorchScriptPoseDetector::detect), so the numbers should agree.
// The measured differences are printed, so a run states its own numbers.
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

#include <ATen/Context.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <unistd.h>

#include "gpu/gpu_test_util.h"
#include "stablepose/eval/eval_report.h"
#include "stablepose/eval/pose_detector.h"
#include "stablepose/io/assets.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/toyworld/generator.h"
#include "stablepose/toyworld/sample_jobs.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

constexpr int kImages = 48;

// kImages held-out toy-world images (the demo's validation seed) and their real-image manifest.
fs::path toy_validation_manifest(const fs::path& dir) {
    toyworld::GenerateOptions generate;
    generate.out_dir = dir / "data";
    generate.count = kImages;
    generate.seed = 1;
    generate.split = "validation";
    toyworld::generate_dataset(generate);
    toyworld::SampleJobsOptions select;
    select.data_dir = generate.out_dir;
    const auto manifest = dir / "real" / "manifest.jsonl";
    write_file_atomic(manifest, toyworld::make_real_image_manifest(select, manifest));
    return manifest.parent_path();
}

// The committed detector on the test device finds the people it finds on the CPU, at the same places, and the
// report's AP, CAP and PCE (all images and per view) are the CPU's.
TEST(Gpu, ToyDetectorAndEvalReportOnCudaMatchTheCpu) {
    SKIP_WITHOUT_CUDA();
    const auto device = testing::gpu_test_device();
    const auto dir = fs::temp_directory_path() / ("stablepose_gpu_eval_" + std::to_string(::getpid()));
    remove_tree(dir);
    const auto real = toy_validation_manifest(dir);
    const auto detector_dir = find_asset("toyworld/detector");

    const auto conv_precision = [] {
        return at::globalContext().float32Precision(at::Float32Backend::CUDA, at::Float32Op::CONV);
    };
    const auto precision_before = conv_precision();
    auto on_cpu = TorchScriptPoseDetector::load(detector_dir, torch::kCPU);
    auto on_device = TorchScriptPoseDetector::load(detector_dir, device);
    int people = 0, count_mismatches = 0;
    double worst_xy = 0, worst_score = 0;
    for (const auto& entry : fs::directory_iterator(dir / "data" / "images")) {
        const auto image = read_image_rgb(entry.path());
        const auto a = on_cpu.detect(image), b = on_device.detect(image);
        if (a.size() != b.size()) {
            ++count_mismatches;
            continue;
        }
        for (size_t p = 0; p < a.size(); ++p) {
            ++people;
            worst_score = std::max(worst_score, std::abs(a[p].score - b[p].score));
            for (size_t k = 0; k < a[p].keypoints.size(); k += 3)
                worst_xy = std::max({worst_xy, std::abs(a[p].keypoints[k] - b[p].keypoints[k]),
                                     std::abs(a[p].keypoints[k + 1] - b[p].keypoints[k + 1])});
        }
    }
    std::printf("[gpu] toy detector on %s vs the CPU, %d images: %d people, %d images with another count, "
                "max |dx, dy| %.3g px, max |d score| %.3g\n",
                device.str().c_str(), kImages, people, count_mismatches, worst_xy, worst_score);
    EXPECT_EQ(conv_precision(), precision_before) << "detect() restores the CUDA convolution precision";
    EXPECT_GT(people, kImages);
    EXPECT_EQ(count_mismatches, 0);
    EXPECT_LT(worst_xy, 0.05);
    EXPECT_LT(worst_score, 1e-3);

    EvalReportOptions options;
    options.runs = {{"real", real, std::nullopt}};
    options.detector = detector_dir;
    options.device = "cpu";
    const auto cpu_report = evaluate_report(options).json;
    options.device = device.str();
    const auto device_report = evaluate_report(options).json;
    const auto& a = cpu_report.at("runs").at(0);
    const auto& b = device_report.at("runs").at(0);
    std::vector<std::pair<std::string, std::pair<json, json>>> columns{{"all", {a.at("pose"), b.at("pose")}}};
    for (const auto& [view, pose] : a.at("pose_by_group").items())
        columns.push_back({view, {pose, b.at("pose_by_group").at(view)}});
    ASSERT_GE(columns.size(), 3u) << "expected per-view rows (front / side / back)";
    for (const auto& [name, pair] : columns) {
        const auto& [x, y] = pair;
        std::printf("[gpu] eval report (%s): AP %.4f / %.4f, CAP %.4f / %.4f, PCE %.4f / %.4f (cpu / %s)\n",
                    name.c_str(), x.at("AP").get<double>(), y.at("AP").get<double>(), x.at("CAP").get<double>(),
                    y.at("CAP").get<double>(), x.at("PCE").get<double>(), y.at("PCE").get<double>(),
                    device.str().c_str());
        for (const char* column : {"AP", "CAP", "PCE"})
            EXPECT_NEAR(x.at(column).get<double>(), y.at(column).get<double>(), 1e-3) << name << " " << column;
    }
    EXPECT_GT(a.at("pose").at("AP").get<double>(), 0.5) << "the detector's ceiling on real toy-world images";
    remove_tree(dir);
}

}  // namespace
}  // namespace stablepose
