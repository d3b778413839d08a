// Subcommand registration: each tools/<name>.cpp adds one subcommand that parses into library structs.
#pragma once

#include <cmath>
#include <string>

#include <CLI/CLI.hpp>

namespace stablepose::tools {

// A whole number >= minimum. CLI11's PositiveNumber/NonNegativeNumber say "Value 0 not in range 0.000000 to
// 1.797...e308" and let "-1" wrap around in an unsigned option; this names what is wanted.
inline CLI::Validator whole_number_at_least(long long minimum) {
    return CLI::Validator(
        [minimum](std::string& text) -> std::string {
            size_t used = 0;
            long long value = 0;
            try {
                value = std::stoll(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != text.size() || value < minimum)
                return "expected a whole number >= " + std::to_string(minimum) + ", found '" + text + "'";
            return {};
        },
        "INT>=" + std::to_string(minimum));
}

// A finite number > 0 ("nan" would reach a JSON config as null, "inf" as an overflow).
inline CLI::Validator positive_finite_number() {
    return CLI::Validator(
        [](std::string& text) -> std::string {
            size_t used = 0;
            double value = 0.0;
            try {
                value = std::stod(text, &used);
            } catch (const std::exception&) {
                used = 0;
            }
            if (used == 0 || used != text.size() || !(value > 0.0) || value == HUGE_VAL)
                return "expected a finite number > 0, found '" + text + "'";
            return {};
        },
        "NUMBER>0");
}

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
