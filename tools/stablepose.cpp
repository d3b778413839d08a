// stablepose: the command-line front end. Each subcommand lives in its own file in tools/.
#include <cstdio>
#include <exception>

#include <spdlog/spdlog.h>

#include "commands.h"
#include "stablepose/error.h"

int main(int argc, char** argv) {
    CLI::App app{"stablepose " STABLEPOSE_VERSION ": Stable-Pose adapter training, sampling and evaluation"};
    app.require_subcommand(1);
    stablepose::tools::add_render_command(app);
    stablepose::tools::add_tokenize_command(app);
    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        return app.exit(e);
    } catch (const stablepose::Error& e) {
        spdlog::error("{}", e.what());
        return 1;
    } catch (const std::exception& e) {
        spdlog::error("unexpected failure: {}", e.what());
        return 2;
    }
    return 0;
}
