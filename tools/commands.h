// Subcommand registration: each tools/<name>.cpp adds one subcommand that parses into library structs.
#pragma once

#include <CLI/CLI.hpp>

namespace stablepose::tools {

void add_data_command(CLI::App& app);
void add_render_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);
void add_toyworld_command(CLI::App& app);
void add_sample_command(CLI::App& app);
// `bench` group: created on first use; each benchmark adds a subcommand to it.
CLI::App& bench_command_group(CLI::App& app);
void add_bench_sample_command(CLI::App& app);
void add_eval_coco_command(CLI::App& app);
void add_eval_images_commands(CLI::App& app);  // tools/eval_images.cpp: eval fid, eval clip-score
CLI::App& eval_command_group(CLI::App& app);  // tools/eval.cpp: the "eval" group, made on first use
void add_eval_report_command(CLI::App& app);  // tools/eval_report.cpp
void add_train_command(CLI::App& app);        // tools/train.cpp
void add_bench_train_command(CLI::App& app);  // tools/train.cpp

}  // namespace stablepose::tools
