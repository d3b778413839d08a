// stablepose: the command-line front end. Each subcommand lives in its own file in tools/.
#include <cstdio>
#include <exception>
#include <filesystem>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/error.h"

int main(int argc, char** argv) {
    // Messages and progress go to stderr; stdout carries only results (JSON, tables, token ids).
    spdlog::set_default_logger(spdlog::stderr_color_mt("stablepose"));
    CLI::App app{"stablepose " STABLEPOSE_VERSION ": Stable-Pose adapter training, sampling and evaluation"};
    app.require_subcommand(1);
    stablepose::tools::add_data_command(app);
    stablepose::tools::add_render_command(app);
    stablepose::tools::add_tokenize_command(app);
    stablepose::tools::add_toyworld_command(app);
    stablepose::tools::add_sample_command(app);
    stablepose::tools::add_bench_sample_command(app);
    stablepose::tools::add_eval_coco_command(app);
    stablepose::tools::add_eval_images_commands(app);
    stablepose::tools::add_eval_report_command(app);
    stablepose::tools::add_train_command(app);
    stablepose::tools::add_bench_train_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const stablepose::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    } catch (const std::filesystem::filesystem_error& e) {
        // Mostly an output path that cannot be made: a file where a folder must be, or no permission.
        const std::string path =
            e.path1().empty() ? std::string("(no path)") : "'" + e.path1().string() + "'";
        spdlog::error("{}", stablepose::format_error(
                                "file system: " + std::string(e.what()),
                                "a path this command can read or create", e.code().message() + " at " + path,
                                "a file may stand where a folder is needed, or the folder is not writable; "
                                "choose another path or fix the permissions"));
        return 1;
    } catch (const std::exception& e) {
        spdlog::error("unexpected failure: {}", e.what());
        return 2;
    }
    return 0;
}
