// `stablepose sample`: a job file in, images + manifest.jsonl out. Resumable (existing images are kept and
// skipped unless overwrite), and a bad job never stops the others.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "stablepose/nn/adapter_file.h"
#include "stablepose/pose/pose_condition_config.h"
#include "stablepose/sample/job_file.h"
#include "stablepose/sd/clip_tokenizer.h"

namespace stablepose {

struct SampleRunOptions {
    std::filesystem::path model_dir;                // frozen SD export (scripts/export_sd.py)
    std::optional<std::filesystem::path> adapter;   // none: the plain SD baseline
    std::filesystem::path output_dir;
    int batch_size = 4;
    bool overwrite = false;
    bool panels = false;          // image | skeleton | keypoint overlay
    bool dump_condition = false;  // the exact skeleton and masks the model saw, per job
    std::string device = "auto";  // auto | cpu | cuda | cuda:N
    std::string schema = "coco17";
    // "auto": OpenPose-18 for a diffusers ControlNet folder, the schema's Stable-Pose drawing otherwise.
    std::string skeleton_drawing = "auto";
    // Unset: the pose_condition the adapter was trained with (stablepose train records it in the adapter
    // file), else the official defaults. Set (--config PRESET): that, whatever the adapter says.
    std::optional<PoseConditionConfig> pose_condition;
    ClipTokenizerOptions tokenizer;
    bool zero_condition_features = false;  // diagnostic ablation (PipelineOptions), recorded in the manifest
    bool cuda_graphs = false;              // PipelineOptions::cuda_graphs; ignored on the CPU
};

struct SampleRunReport {
    int images_written = 0;
    int images_skipped = 0;  // already there
    std::vector<JobError> failed;  // jobs (file errors, bad sources, failed batches), in job order
    std::filesystem::path manifest;
    double seconds = 0;
};

inline constexpr const char* kManifestFile = "manifest.jsonl";
inline constexpr const char* kPngMetadataKey = "stablepose.generation";

SampleRunReport run_sampling(const JobFile& jobs, const SampleRunOptions& options);

// The pose conditioning a run uses: `given` when set, else the adapter file's "pose_condition" metadata
// (written by stablepose train), else the official defaults. Bad metadata is an error naming the file.
PoseConditionConfig resolve_pose_condition(const std::optional<PoseConditionConfig>& given,
                                           const LoadedAdapter* adapter);

// "auto": CUDA when available, else CPU.
torch::Device resolve_device(const std::string& name);

}  // namespace stablepose
