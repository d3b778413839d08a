// stablepose eval report: sample folders against one reference set, printed as the papers' table.
#include <filesystem>
#include <iostream>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/error.h"
#include "stablepose/eval/eval_report.h"

namespace stablepose::tools {

void add_eval_report_command(CLI::App& app) {
    auto options = std::make_shared<EvalReportOptions>();
    auto runs = std::make_shared<std::vector<std::string>>();
    auto detections = std::make_shared<std::vector<std::string>>();
    auto detector = std::make_shared<std::string>();
    auto reference = std::make_shared<std::string>();
    auto inception = std::make_shared<std::string>();
    auto clip = std::make_shared<std::string>();
    auto cache = std::make_shared<std::string>();
    auto convention = std::make_shared<std::string>("xtcocotools");
    auto aggregation = std::make_shared<std::string>("dataset");
    auto gt_box = std::make_shared<std::string>("labelled");
    auto* cmd = eval_command_group(app).add_subcommand(
        "report", "The paper's table (AP, CAP, PCE, FID, KID, CLIP-score) for sample folders (docs/evaluate.md)");
    cmd->add_option("--run", *runs, "NAME=DIR: a `stablepose sample` output folder (repeat for several rows)")->required();
    cmd->add_option("--detector", *detector, "TorchScript pose detector (detector.pt + detector.json)");
    cmd->add_option("--detections", *detections, "NAME=RESULTS.json: COCO keypoint results for a run (image_id = manifest line)");
    cmd->add_option("--reference", *reference, "Real images for FID/KID: a folder or a manifest");
    cmd->add_option("--inception", *inception, "Inception file from scripts/export_metric_models.py (FID/KID)");
    cmd->add_option("--clip", *clip, "CLIP folder from scripts/export_metric_models.py (CLIP-score)");
    cmd->add_option("--feature-cache", *cache, "Folder for cached Inception features");
    cmd->add_option("-o,--out", options->out_dir, "Folder for report.md, report.csv, report.json")->required();
    cmd->add_option("--convention", *convention, "xtcocotools (default) or pycocotools")->capture_default_str();
    cmd->add_option("--aggregation", *aggregation, "dataset (default) or batch-mean (the reference protocol)")
        ->capture_default_str();
    cmd->add_option("--batch-size", options->pose.batch_size, "Batch of the batch-mean aggregation")->capture_default_str();
    cmd->add_option("--gt-box", *gt_box, "labelled (default) or reference: GT box over all 17 entries (quirk)")
        ->check(CLI::IsMember({"labelled", "reference"}))
        ->capture_default_str();
    auto cap_reference = std::make_shared<bool>(false);
    cmd->add_flag("--cap-reference-compat", *cap_reference, "CAP with the reference defect (detection y replaced by x)");
    cmd->add_flag("--swap-channels", options->swap_channels, "Feed the detector swapped channels (reference quirk)");
    cmd->add_flag("--reference-compat", options->reference_compat,
                  "FID/KID and CLIP-score preprocessing quirks of the reference pipeline");
    cmd->add_option("--kid-subset-size", options->quality.kid.subset_size, "KID subset size")->capture_default_str();
    cmd->add_option("--fid-dims", options->quality.fid_dims, "64 or 2048")->capture_default_str();
    cmd->add_option("--device", options->device, "auto, cpu or cuda")->capture_default_str();
    cmd->callback([=] {
        auto split = [](const std::string& spec, const char* what) {
            const auto eq = spec.find('=');
            if (eq == std::string::npos || eq == 0 || eq + 1 == spec.size())
                fail(std::string("eval report: bad ") + what, "NAME=PATH", spec);
            return std::make_pair(spec.substr(0, eq), spec.substr(eq + 1));
        };
        for (const auto& r : *runs) {
            const auto [name, dir] = split(r, "--run");
            options->runs.push_back({name, dir, std::nullopt});
        }
        for (const auto& d : *detections) {
            const auto [name, file] = split(d, "--detections");
            bool found = false;
            for (auto& run : options->runs)
                if (run.name == name) run.detections = file, found = true;
            if (!found) fail("eval report: --detections for an unknown run", "the NAME of a --run", name);
        }
        if (!detector->empty()) options->detector = *detector;
        if (!reference->empty()) options->reference = *reference;
        if (!inception->empty()) options->inception = *inception;
        if (!clip->empty()) options->clip = *clip;
        if (!cache->empty()) options->feature_cache = *cache;
        options->pose.coco.convention = parse_coco_convention(*convention);
        options->pose.aggregation = parse_aggregation(*aggregation);
        if (*cap_reference) options->pose.coco.cap_form = CapForm::reference;
        options->gt_box = *gt_box == "reference" ? GtBoxMode::kReferenceAllEntries : GtBoxMode::kLabelledJoints;
        std::filesystem::create_directories(options->out_dir);  // before the work: a bad -o fails at once
        const auto report = evaluate_report(*options);
        std::cout << report.markdown;
        for (const auto& p : write_report(report, options->out_dir)) spdlog::info("wrote {}", p.string());
    });
}

}  // namespace stablepose::tools
