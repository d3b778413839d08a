// `stablepose eval report`: one or more sample folders (from `stablepose sample`) against one reference set,
// as the papers' table: AP, CAP, PCE, FID, KID, CLIP-score, one row per run; per-group pose metrics when the
// manifests carry a "scenario" label (e.g. the toy world's front / side / back views). Written as Markdown,
// CSV and a JSON that records every setting.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/eval/image_quality.h"
#include "stablepose/eval/manifest_poses.h"
#include "stablepose/eval/pose_metrics.h"

namespace stablepose {

struct EvalRun {
    std::string name;
    std::filesystem::path dir;                        // a sample folder (manifest.jsonl) or a manifest
    std::optional<std::filesystem::path> detections;  // COCO results for this run (image_id = manifest line)
};

struct EvalReportOptions {
    std::vector<EvalRun> runs;
    std::optional<std::filesystem::path> detector;    // TorchScript detector (docs/evaluate.md)
    std::optional<std::filesystem::path> reference;   // real images for FID/KID (folder or manifest)
    std::optional<std::filesystem::path> inception;   // from scripts/export_metric_models.py
    std::optional<std::filesystem::path> clip;        // CLIP folder from scripts/export_metric_models.py
    std::filesystem::path out_dir;                    // report.md, report.csv, report.json
    PoseMetricsOptions pose;                          // convention, aggregation, batch size (metric is set per column)
    GtBoxMode gt_box = GtBoxMode::kLabelledJoints;
    bool swap_channels = false;                       // the reference detector-input quirk
    bool reference_compat = false;                    // image/prompt preprocessing quirks of FID/KID and CLIP-score
    FidKidOptions quality;
    std::optional<std::filesystem::path> feature_cache;
    std::string device = "auto";
};

struct EvalReport {
    nlohmann::json json;   // every number and setting
    std::string markdown;  // the table(s)
    std::string csv;
};

// Throws Error for a missing run folder, an unreadable manifest, or a metric asked for without its model.
EvalReport evaluate_report(const EvalReportOptions& options);
// Writes report.md, report.csv and report.json into options.out_dir (atomically) and returns the paths.
std::vector<std::filesystem::path> write_report(const EvalReport& report, const std::filesystem::path& out_dir);

}  // namespace stablepose
