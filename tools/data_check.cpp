// stablepose data check: a dataset file in; a report of missing/unreadable files, bad keypoints, people and
// caption statistics out; exit status 1 when any sample would fail in training.
#include <iostream>

#include "commands.h"
#include "stablepose/data/dataset.h"
#include "stablepose/data/dataset_check.h"
#include "stablepose/error.h"

namespace stablepose::tools {

void add_data_command(CLI::App& app) {
    auto* data = app.add_subcommand("data", "Dataset tools (docs/data.md)");
    data->require_subcommand(1);
    auto path = std::make_shared<std::string>();
    auto format = std::make_shared<std::string>();
    auto root = std::make_shared<std::string>();
    auto options = std::make_shared<DatasetCheckOptions>();
    auto* check = data->add_subcommand("check", "Check every sample of a dataset and report problems");
    check
        ->add_option("dataset", *path,
                     "Mapping JSON (HumanSD), COCO annotation JSON (Human-Art) or JSONL manifest")
        ->required();
    check->add_option("--format", *format, "Reader to use instead of detecting it")
        ->check(CLI::IsMember({"humansd", "coco", "jsonl"}));
    check->add_option("--root", *root,
                      "Folder the image/pose paths are relative to (default: see docs/data.md)");
    check->add_option("--limit", options->limit, "Check only the first N samples (default: all)");
    check->add_option("--offenders", options->max_offenders,
                      "Offenders named per kind of problem (default 5)");
    check->add_flag("!--no-decode", options->decode_images,
                    "Only check that images exist; do not decode them");
    check->add_flag("!--no-tokens", options->count_tokens, "Caption lengths in bytes instead of CLIP tokens");
    check->callback([=] {
        DatasetOptions open;
        if (!format->empty()) open.format = parse_dataset_format(*format);
        if (!root->empty()) open.root = *root;
        const auto report = check_dataset(open_dataset(*path, open), *options);
        std::cout << report.summary();
        if (report.errors() > 0)
            fail(*path + ": " + std::to_string(report.errors()) + " problems that would stop training",
                 "readable images and pose files for every sample",
                 report.offenders.empty() ? "" : report.offenders[0],
                 "fix or remove the samples named above, then run stablepose data check again");
        if (report.samples == 0)
            fail(*path + ": the dataset holds no samples", "at least one sample to train on", "0 samples",
                 "check that this is the right file (an empty mapping {} or an empty .jsonl reads as no "
                 "samples)");
        std::cout << "ok: no errors\n";
    });
}

}  // namespace stablepose::tools
