#include "stablepose/eval/eval_report.h"

#include <algorithm>
#include <cmath>
#include <set>
#include <sstream>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "stablepose/error.h"
#include "stablepose/eval/clip_score.h"
#include "stablepose/eval/coco_keypoint_json.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/sample/sample_run.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

std::string fmt_number(const json& v, int digits) {
    if (!v.is_number()) return "–";
    std::ostringstream out;
    out.setf(std::ios::fixed);
    out.precision(digits);
    out << v.get<double>();
    return out.str();
}

// AP (OKS), CAP and PCE of one GT/detection pair.
json pose_columns(const CocoKeypointGroundTruth& gt, const std::vector<CocoKeypointDetection>& dets,
                  const PoseMetricsOptions& base) {
    auto oks = base;
    oks.coco.metric = KeypointMetric::oks;
    auto cap = base;
    cap.coco.metric = KeypointMetric::cap;
    const auto a = evaluate_pose_metrics(gt, dets, oks);
    const auto c = evaluate_pose_metrics(gt, dets, cap);
    auto nan_null = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
    return {{"AP", nan_null(a.stats[0])},
            {"CAP", nan_null(c.stats[0])},
            {"PCE", nan_null(a.pce)},
            {"images", a.images},
            {"oks", to_json(a, oks)},
            {"cap", to_json(c, cap)}};
}

// FID and KID x 1000 for the table: with scenario labels on both sets the unweighted mean over scenarios (the
// number Stable-Pose's Human-Art table reports), otherwise the whole set. The other form stays in
// report.json.
std::pair<json, json> quality_columns(const json& run) {
    if (!run.contains("quality")) return {nullptr, nullptr};
    const auto& q = run["quality"];
    auto kid_x1000 = [](const json& v) {
        return v.is_number() ? json(1000.0 * v.get<double>()) : json(nullptr);
    };
    if (q.contains("per_scenario"))
        return {q["per_scenario"].value("fid_mean", json(nullptr)),
                kid_x1000(q["per_scenario"].value("kid_mean", json(nullptr)))};
    const json kid =
        q.contains("kid") && q["kid"].is_object() ? q["kid"].value("mean", json(nullptr)) : json(nullptr);
    return {q.value("fid", json(nullptr)), kid_x1000(kid)};
}

}  // namespace

EvalReport evaluate_report(const EvalReportOptions& options) {
    if (options.runs.empty()) fail("eval report: no runs", "--run NAME=DIR (one or more)", "none");
    std::set<std::string> names;
    for (const auto& run : options.runs)
        if (!names.insert(run.name).second) fail("eval report: duplicate run name '" + run.name + "'", "unique names", run.name);
    if (options.inception && !options.reference)
        fail("eval report: FID/KID need a reference set", "--reference DIR (real images)", "--inception without it");
    const bool any_detections = std::any_of(options.runs.begin(), options.runs.end(),
                                            [](const auto& run) { return run.detections.has_value(); });
    if (!options.detector && !any_detections && !options.inception && !options.clip)
        fail("eval report: nothing to measure",
             "--detector (AP, CAP, PCE), --detections, --inception with "
             "--reference (FID, KID) or --clip (CLIP score)",
             "none of them", "see docs/evaluate.md");
    if (options.pose.aggregation == Aggregation::batch_mean && options.pose.batch_size < 1)
        fail("eval report: --batch-size must be positive for batch-mean", ">= 1 (Stable-Pose 4, HumanSD 10)",
             std::to_string(options.pose.batch_size));
    const auto device = resolve_device(options.device);
    std::optional<TorchScriptPoseDetector> detector;
    if (options.detector) detector = TorchScriptPoseDetector::load(*options.detector, device);

    json runs = json::array();
    for (const auto& run : options.runs) {
        spdlog::info("eval report: run {} ({})", run.name, run.dir.string());
        if (!fs::exists(run.dir))
            fail("eval report: run '" + run.name + "' not found", "a sample folder with manifest.jsonl", run.dir.string());
        json row{{"name", run.name}, {"dir", run.dir.string()}};
        if (detector || run.detections) {
            const auto poses = read_manifest_poses(run.dir, options.gt_box);
            std::vector<CocoKeypointDetection> dets;
            if (run.detections) {
                for (const auto& d : read_coco_keypoint_results(*run.detections))
                    if (d.image_id >= 0 && static_cast<size_t>(d.image_id) < poses.has_pose.size() &&
                        poses.has_pose[static_cast<size_t>(d.image_id)])
                        dets.push_back(d);
                row["detections_source"] = run.detections->string();
            } else {
                dets = detect_all(*detector, poses, options.swap_channels);
                row["detections_source"] = "detector";
            }
            row["pose"] = pose_columns(poses.gt, dets, options.pose);
            std::set<std::string> groups(poses.groups.begin(), poses.groups.end());
            groups.erase("");
            json per_group = json::object();
            for (const auto& g : groups) {
                const auto [gt, gd] = select_group(poses, dets, g);
                if (!gt.image_ids.empty()) per_group[g] = pose_columns(gt, gd, options.pose);
            }
            if (!per_group.empty()) row["pose_by_group"] = per_group;
        }
        if (options.inception) {
            ImageQualityRequest q;
            q.real = *options.reference;
            q.fake = run.dir;
            q.inception = *options.inception;
            q.metrics = options.quality;
            q.extraction.reference_compat = options.reference_compat;
            q.extraction.cache_dir = options.feature_cache;
            row["quality"] = evaluate_image_quality(q);
        }
        if (options.clip) {
            ClipScoreOptions c;
            c.reference_compat = options.reference_compat;
            row["clip"] = evaluate_clip_score(run.dir, *options.clip, c);
        }
        runs.push_back(row);
    }

    EvalReport report;
    json settings{
        {"aggregation", to_string(options.pose.aggregation)},
        {"batch_size", options.pose.batch_size},
        {"convention", to_string(options.pose.coco.convention)},
        {"cap_form", to_string(options.pose.coco.cap_form)},
        {"gt_box",
         options.gt_box == GtBoxMode::kLabelledJoints ? "labelled joints" : "reference (all 17 entries)"},
        {"gt_box_note", options.gt_box == GtBoxMode::kLabelledJoints
                            ? "a GT person with one labelled joint has area 0, so its OKS is exact-match "
                              "(evaluation.md §3)"
                            : "boxes include the (-1, -1) placeholders of missing joints (reference quirk)"},
        {"detector_channel_swap", options.swap_channels},
        {"reference_compat_preprocessing", options.reference_compat},
        {"reference", options.reference ? json(options.reference->string()) : json(nullptr)}};
    if (detector)
        settings["detector"] = {{"name", detector->info().name},
                                {"channel_order", detector->info().channel_order},
                                {"config", detector->info().config},
                                {"weights_sha256", detector->info().weights_sha256},
                                {"file_sha256", detector->info().file_sha256}};
    report.json = {{"format", "stablepose.eval-report"}, {"version", 1}, {"settings", settings}, {"runs", runs}};

    // The paper's table: AP and CAP in percent as the papers print them, PCE, FID, KID x 1000, CLIP-score.
    std::ostringstream md, csv;
    md << "| run | AP ↑ | CAP ↑ | PCE ↓ | FID ↓ | KID×1000 ↓ | CLIP-score ↑ |\n|---|---|---|---|---|---|---|\n";
    csv << "run,AP_x100,CAP_x100,PCE,FID,KID_x1000,CLIP_score\n";
    for (const auto& r : runs) {
        const auto pose = r.value("pose", json::object());
        auto pct = [](const json& v) { return v.is_number() ? json(100.0 * v.get<double>()) : v; };
        const json ap = pct(pose.value("AP", json(nullptr))), cap = pct(pose.value("CAP", json(nullptr)));
        const json pce = pose.value("PCE", json(nullptr));
        const auto [fid, kid] = quality_columns(r);
        const json clip = r.contains("clip") ? r["clip"].value("clip_score", json(nullptr)) : json(nullptr);
        md << "| " << r["name"].get<std::string>() << " | " << fmt_number(ap, 2) << " | " << fmt_number(cap, 2) << " | "
           << fmt_number(pce, 3) << " | " << fmt_number(fid, 2) << " | " << fmt_number(kid, 2) << " | "
           << fmt_number(clip, 2) << " |\n";
        csv << r["name"].get<std::string>() << "," << (ap.is_number() ? fmt_number(ap, 6) : "") << ","
            << (cap.is_number() ? fmt_number(cap, 6) : "") << "," << (pce.is_number() ? fmt_number(pce, 6) : "") << ","
            << (fid.is_number() ? fmt_number(fid, 6) : "") << "," << (kid.is_number() ? fmt_number(kid, 6) : "") << ","
            << (clip.is_number() ? fmt_number(clip, 6) : "") << "\n";
    }
    bool any_groups = false;
    for (const auto& r : runs) any_groups = any_groups || r.contains("pose_by_group");
    if (any_groups) {
        md << "\n| run | group | images | AP ↑ | CAP ↑ | PCE ↓ |\n|---|---|---|---|---|---|\n";
        for (const auto& r : runs)
            if (r.contains("pose_by_group"))
                for (const auto& [g, v] : r["pose_by_group"].items()) {
                    auto pct = [](const json& x) { return x.is_number() ? json(100.0 * x.get<double>()) : x; };
                    md << "| " << r["name"].get<std::string>() << " | " << g << " | " << v["images"] << " | "
                       << fmt_number(pct(v["AP"]), 2) << " | " << fmt_number(pct(v["CAP"]), 2) << " | "
                       << fmt_number(v["PCE"], 3) << " |\n";
                }
    }
    md << "\nAP/CAP: COCO keypoint AP (OKS / cosine), " << to_string(options.pose.coco.convention)
       << " conventions, "
       << (options.pose.aggregation == Aggregation::dataset
               ? "one evaluation over the whole set"
               : "mean over batches of " + std::to_string(options.pose.batch_size))
       << "; GT boxes over " << settings["gt_box"].get<std::string>() << " ("
       << settings["gt_box_note"].get<std::string>() << "). Settings and hashes: report.json.\n";
    std::vector<std::pair<std::string, std::string>> fid_kid_basis;  // (run, what its FID/KID columns are)
    for (const auto& r : runs)
        if (r.contains("quality"))
            fid_kid_basis.emplace_back(
                r["name"].get<std::string>(),
                r["quality"].contains("per_scenario")
                    ? "unweighted mean over " +
                          std::to_string(r["quality"]["per_scenario"]["scenarios"].size()) +
                          " scenarios (whole-set values in report.json)"
                    : "the whole set");
    const bool one_basis = std::all_of(fid_kid_basis.begin(), fid_kid_basis.end(), [&](const auto& b) {
        return b.second == fid_kid_basis.front().second;
    });
    if (!fid_kid_basis.empty() && one_basis) md << "FID/KID: " << fid_kid_basis.front().second << ".\n";
    if (!one_basis)
        for (const auto& [name, basis] : fid_kid_basis) md << "FID/KID of " << name << ": " << basis << ".\n";
    report.markdown = md.str();
    report.csv = csv.str();
    return report;
}

std::vector<fs::path> write_report(const EvalReport& report, const fs::path& out_dir) {
    fs::create_directories(out_dir);
    const std::vector<fs::path> paths = {out_dir / "report.md", out_dir / "report.csv", out_dir / "report.json"};
    write_file_atomic(paths[0], report.markdown);
    write_file_atomic(paths[1], report.csv);
    write_file_atomic(paths[2], report.json.dump(2) + "\n");
    return paths;
}

}  // namespace stablepose
