// Pose detectors behind one contract (evaluation.md §2.2): an image in, people with 17 COCO-17 keypoints
// (x, y, score) and a person score out, no threshold, no extra NMS. Transports: an exported TorchScript
// network (docs/evaluate.md "Detector contract"); detections computed elsewhere come from a COCO keypoint
// results file (eval/coco_keypoint_json.h).
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <torch/script.h>

#include "stablepose/eval/coco_keypoints.h"

namespace stablepose {

inline constexpr const char* kPoseDetectorFormat = "stablepose.pose-detector";
inline constexpr int kPoseDetectorFormatVersion = 1;

struct DetectedPerson {
    CocoKeypoints keypoints{};  // (x, y, score) x 17, input-image pixels
    double score = 0;
};

struct PoseDetectorInfo {
    std::string name;
    std::string channel_order = "rgb";  // what the network expects: "rgb" or "bgr"
    nlohmann::json config;              // flip test, scales, ... as the exporter recorded them
    std::string weights_sha256;         // of the weights the export came from
    std::string file_sha256;            // of detector.pt
};

// A TorchScript detector: DIR/detector.pt + DIR/detector.json (or the .pt path with the .json beside it).
//   forward(image: uint8 [H, W, 3] in `channel_order`) -> (keypoints: float32 [P, 17, 3], scores: float32 [P])
// P may be 0. Loading checks the metadata (format, version, channel order) and runs a probe image.
class TorchScriptPoseDetector {
public:
    static TorchScriptPoseDetector load(const std::filesystem::path& path,
                                        const torch::Device& device = torch::kCPU);
    // rgb: 8-bit RGB. With swap_channels the network gets the other channel order than it declares: the
    // reference pipeline's quirk (MMPose reads an ndarray as BGR, evaluation.md §2.1).
    std::vector<DetectedPerson> detect(const cv::Mat& rgb, bool swap_channels = false);
    const PoseDetectorInfo& info() const { return info_; }

private:
    mutable torch::jit::Module module_;
    PoseDetectorInfo info_;
    torch::Device device_ = torch::kCPU;
};


}  // namespace stablepose
