// Sampling job files (docs/sample.md): defaults plus a list of jobs, each a pose source, prompts, seeds and
// sampler settings. A malformed file fails as a whole; a bad job is reported with its index and skipped.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/pose/canvas_fit.h"

namespace stablepose {

inline constexpr const char* kJobFileFormat = "stablepose.sample-jobs";
inline constexpr int kJobFileVersion = 1;

// The official unconditional text (stable-pose.md §10).
inline constexpr const char* kOfficialNegativePrompt =
    "longbody, lowres, bad anatomy, bad hands, missing fingers, extra digit, fewer digits, cropped, worst "
    "quality, low quality";

enum class PoseSourceKind {
    kKeypointJson,   // our keypoint JSON (docs/pose_format.md)
    kHumansdNpz,     // a HumanSD / MMPose .npz (coordinates in the pixels of the image it was detected on)
    kCocoAnnotation, // a COCO keypoint annotation file and an image id
    kSkeletonImage,  // an already rendered skeleton PNG (no keypoints: nothing to evaluate against)
};
std::string to_string(PoseSourceKind kind);

struct PoseSource {
    PoseSourceKind kind = PoseSourceKind::kKeypointJson;
    std::filesystem::path path;                      // resolved against the job file's folder
    int64_t coco_image_id = -1;                      // kCocoAnnotation
    std::optional<std::pair<int, int>> pose_size;    // kHumansdNpz: the image size the keypoints refer to
    std::optional<std::filesystem::path> image;      // kHumansdNpz: or the image itself, to read its size

    nlohmann::json to_json() const;  // for the manifest and the PNG metadata
};

// Everything that decides how one image is generated, apart from its pose, prompts and seed.
struct GenerationSettings {
    int width = 512;
    int height = 512;
    std::string sampler = "ddim";
    int steps = 50;
    double guidance_scale = 7.5;
    double control_scale = 1.0;
    double control_start = 0.0;  // fraction of the steps before the control is applied
    double control_end = 1.0;    // fraction of the steps after which the control stops
    double eta = 0.0;            // ddim only
    CanvasFit fit = CanvasFit::kCover;

    bool operator==(const GenerationSettings&) const = default;
    nlohmann::json to_json() const;
};

struct SampleJob {
    int index = 0;      // position in the job file
    std::string name;   // output stem; default "job<index>"
    PoseSource pose;
    std::string prompt;
    std::string negative_prompt = kOfficialNegativePrompt;
    std::vector<int64_t> seeds{42};
    std::string scenario;  // optional label copied to the manifest (per-scenario FID/KID, e.g. Human-Art's)
    GenerationSettings settings;
};

struct JobError {
    int index = 0;
    std::string name;
    std::string message;
};

struct JobFile {
    std::vector<SampleJob> jobs;     // the valid ones
    std::vector<JobError> errors;    // the invalid ones, skipped
};

// Parses a job file. Throws Error when the file is missing, not JSON, or its top level is malformed (unknown
// top-level key, no "jobs" array, bad defaults); a job with an unknown field or a bad value lands in errors.
JobFile read_job_file(const std::filesystem::path& path);
JobFile parse_job_file(const nlohmann::json& j, const std::filesystem::path& base_dir,
                       const std::string& source = "job file");

// Validates the settings (sampler name, multiples of 64, ranges); throws Error naming the field.
void validate_settings(const GenerationSettings& s);

// One job's fields layered over the defaults (the same keys as in a job, minus name/pose/prompt). Used by the
// quick command-line form too. Throws Error naming the field.
void apply_job_fields(const nlohmann::json& fields, const std::filesystem::path& base_dir, SampleJob& job,
                      bool allow_pose_and_prompt);

// Where the pose source is, from a job's "pose" value: a path (".json" keypoints, ".npz", ".png"/".jpg"
// skeleton) or {"keypoints"|"npz"|"skeleton": path} or {"coco": path, "image_id": n}, with "pose_size" /
// "image" for npz.
PoseSource parse_pose_source(const nlohmann::json& value, const std::filesystem::path& base_dir);

}  // namespace stablepose
