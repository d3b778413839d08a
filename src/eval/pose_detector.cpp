#include "stablepose/eval/pose_detector.h"

#include <fstream>
#include <optional>

#include "stablepose/error.h"
#include "stablepose/io/sha256.h"
#include "stablepose/io/torch_error.h"
#include "stablepose/nn/full_fp32_convolutions.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::pair<fs::path, fs::path> detector_files(const fs::path& path) {
    if (fs::is_directory(path)) return {path / "detector.pt", path / "detector.json"};
    auto meta = path;
    meta.replace_extension(".json");
    return {path, meta};
}

}  // namespace

TorchScriptPoseDetector TorchScriptPoseDetector::load(const fs::path& path, const torch::Device& device) {
    const auto [pt, meta_path] = detector_files(path);
    for (const auto& p : {pt, meta_path})
        if (!fs::exists(p))
            fail("pose detector: missing " + p.string(), "detector.pt and detector.json (docs/evaluate.md)",
                 "no such file", "export one with scripts/export_pose_detector.py or pass --detections RESULTS.json");
    json meta;
    try {
        std::ifstream in(meta_path);
        meta = json::parse(in);
    } catch (const json::exception& e) {
        fail("pose detector: " + meta_path.string() + " is not valid JSON", "the detector metadata", e.what());
    }
    if (meta.value("format", "") != kPoseDetectorFormat || meta.value("format_version", 0) != kPoseDetectorFormatVersion)
        fail("pose detector: unsupported metadata in " + meta_path.string(),
             std::string(kPoseDetectorFormat) + " version " + std::to_string(kPoseDetectorFormatVersion),
             meta.value("format", std::string("?")) + " version " + std::to_string(meta.value("format_version", 0)));
    TorchScriptPoseDetector d;
    d.info_.name = meta.value("name", pt.stem().string());
    d.info_.channel_order = meta.value("channel_order", "rgb");
    if (d.info_.channel_order != "rgb" && d.info_.channel_order != "bgr")
        fail("pose detector: channel_order", "\"rgb\" or \"bgr\"", d.info_.channel_order, meta_path.string());
    d.info_.config = meta.value("config", json::object());
    d.info_.weights_sha256 = meta.value("weights_sha256", "");
    d.info_.file_sha256 = sha256_file(pt);
    if (meta.contains("sha256") && meta.at("sha256") != d.info_.file_sha256)
        fail("pose detector: " + pt.string() + " does not match its metadata", "sha256 " + meta.at("sha256").get<std::string>(),
             d.info_.file_sha256, "re-export the detector");
    try {
        // Straight onto the device: the exported module is frozen, so its weights are constants, which
        // Module::to would leave where they were loaded.
        d.module_ = torch::jit::load(pt.string(), device);
    } catch (const c10::Error& e) {
        fail("pose detector: cannot load " + pt.string(), "a TorchScript module", e.what_without_backtrace());
    }
    d.module_.eval();
    d.device_ = device;
    // Probe: a blank image must give the contract's output types.
    d.detect(cv::Mat(64, 64, CV_8UC3, cv::Scalar(0, 0, 0)));
    return d;
}

std::vector<DetectedPerson> TorchScriptPoseDetector::detect(const cv::Mat& rgb, bool swap_channels) {
    if (rgb.type() != CV_8UC3) fail("pose detector: input", "an 8-bit 3-channel image", "another type");
    const bool bgr = (info_.channel_order == "bgr") != swap_channels;
    auto image = torch::from_blob(rgb.data, {rgb.rows, rgb.cols, 3}, torch::kUInt8).clone();
    if (bgr) image = image.flip({2}).contiguous();
    torch::NoGradGuard no_grad;
    // the decoder's peak picks and joint snaps could turn TF32 rounding into other keypoints
    std::optional<FullFp32CudaConvolutions> fp32;
    if (device_.is_cuda()) fp32.emplace();
    torch::jit::IValue out;
    try {
        out = module_.forward({image.to(device_)});
    } catch (const std::exception& e) {
        fail("pose detector: forward failed", "forward(uint8 [H, W, 3]) -> (float [P, 17, 3], float [P])",
             torch_error_message(e), "export the detector to the contract of docs/evaluate.md");
    }
    if (!out.isTuple() || out.toTupleRef().elements().size() != 2)
        fail("pose detector: wrong output", "a tuple (keypoints [P, 17, 3], scores [P])", out.tagKind());
    const auto kp = out.toTupleRef().elements()[0].toTensor().to(torch::kCPU, torch::kFloat64).contiguous();
    const auto scores = out.toTupleRef().elements()[1].toTensor().to(torch::kCPU, torch::kFloat64).contiguous();
    if (kp.dim() != 3 || kp.size(1) != kCocoJoints || kp.size(2) != 3 || scores.dim() != 1 ||
        scores.size(0) != kp.size(0))
        fail("pose detector: wrong output shapes", "keypoints [P, 17, 3] and scores [P]",
             c10::str(kp.sizes()) + " and " + c10::str(scores.sizes()));
    std::vector<DetectedPerson> people(static_cast<size_t>(kp.size(0)));
    const auto* k = kp.data_ptr<double>();
    for (size_t p = 0; p < people.size(); ++p) {
        std::copy(k + p * 3 * kCocoJoints, k + (p + 1) * 3 * kCocoJoints, people[p].keypoints.begin());
        people[p].score = scores[static_cast<int64_t>(p)].item<double>();
    }
    return people;
}

}  // namespace stablepose
