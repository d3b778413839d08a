// Subcommand registration: each tools/<name>.cpp adds one subcommand that parses into library structs.
#pragma once

#include <CLI/CLI.hpp>

namespace stablepose::tools {

void add_render_command(CLI::App& app);
void add_tokenize_command(CLI::App& app);

}  // namespace stablepose::tools
