// stablepose eval: the evaluation subcommand group. `eval coco` scores COCO keypoint results against COCO
// keypoint ground truth (AP or CAP stats and PCE, evaluation.md §4-§7) and prints one JSON object.
#include <iostream>
#include <memory>

#include <nlohmann/json.hpp>

#include "commands.h"
#include "stablepose/error.h"
#include "stablepose/eval/coco_keypoint_json.h"
#include "stablepose/eval/pose_metrics.h"

namespace stablepose::tools {

CLI::App& eval_command_group(CLI::App& app) {
    const auto existing = app.get_subcommands([](CLI::App* sub) { return sub->get_name() == "eval"; });
    if (!existing.empty()) return *existing.front();
    auto* group = app.add_subcommand("eval", "Evaluate generated images and poses (docs/evaluate.md)");
    group->require_subcommand(1);
    return *group;
}

void add_eval_coco_command(CLI::App& app) {
    struct Args {
        std::string gt, dt, convention = "xtcocotools", metric = "oks", aggregation = "dataset";
        bool cap_reference_compat = false, pce_reference_compat = false;
        int batch_size = 4;
    };
    auto args = std::make_shared<Args>();
    auto* cmd = eval_command_group(app).add_subcommand(
        "coco",
        "COCO keypoint AP (OKS) or CAP, and PCE, of a results file against ground truth; prints JSON");
    cmd->add_option("--gt", args->gt, "COCO keypoint ground truth JSON (images, annotations, categories)")
        ->required();
    cmd->add_option("--dt", args->dt, "COCO keypoint results JSON (image_id, category_id, keypoints, score)")
        ->required();
    cmd->add_option("--convention", args->convention,
                    "xtcocotools: the COCO API the papers used (default); pycocotools: the original COCO API")
        ->check(CLI::IsMember({"xtcocotools", "pycocotools"}));
    cmd->add_option("--metric", args->metric, "oks: keypoint AP (default); cap: pose cosine-similarity AP")
        ->check(CLI::IsMember({"oks", "cap"}));
    cmd->add_flag(
        "--cap-reference-compat", args->cap_reference_compat,
        "CAP as the published code computes it (detection y replaced by x, NaN similarity matches)");
    cmd->add_flag("--pce-reference-compat", args->pce_reference_compat,
                  "PCE over the reference's index-shifted image loop instead of every image");
    cmd->add_option(
           "--aggregation", args->aggregation,
           "dataset: one evaluation over all images (default); batch-mean: the reference protocol's mean "
           "over consecutive batches of the ground truth's images (drop_last)")
        ->check(CLI::IsMember({"dataset", "batch-mean"}));
    cmd->add_option("--batch-size", args->batch_size, "Batch size of batch-mean (Stable-Pose 4, HumanSD 10)")
        ->check(whole_number_at_least(1));
    cmd->callback([args] {
        if (args->cap_reference_compat && args->metric != "cap")
            fail("--cap-reference-compat changes CAP only", "--metric cap with it",
                 "--metric " + args->metric, "add --metric cap, or drop --cap-reference-compat");
        PoseMetricsOptions options;
        options.coco.convention = parse_coco_convention(args->convention);
        options.coco.metric = parse_keypoint_metric(args->metric);
        options.coco.cap_form = args->cap_reference_compat ? CapForm::reference : CapForm::corrected;
        options.pce_loop = args->pce_reference_compat ? PceLoop::reference_index_shift : PceLoop::every_image;
        options.aggregation = parse_aggregation(args->aggregation);
        options.batch_size = args->batch_size;
        const auto gt = read_coco_keypoint_ground_truth(args->gt);
        const auto detections = read_coco_keypoint_results(args->dt);
        auto report = to_json(evaluate_pose_metrics(gt, detections, options), options);
        report["gt"] = args->gt;
        report["dt"] = args->dt;
        std::cout << report.dump(-1) << '\n';
    });
}

}  // namespace stablepose::tools
