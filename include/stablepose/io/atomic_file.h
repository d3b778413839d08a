// Atomic writes: a finished file is either the old one or the complete new one, never half written.
#pragma once

#include <filesystem>
#include <string_view>

namespace stablepose {

// Writes to "<path>.tmp-<pid>" in the same directory, flushes, then renames over `path`.
// Creates missing parent directories. Throws Error naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

// Removes a file or a folder tree (no error when absent). Use instead of std::filesystem::remove_all: libtorch
// exports its own build of std::filesystem::remove_all, and calls resolve to it and crash when linked with it.
void remove_tree(const std::filesystem::path& path);

}  // namespace stablepose
