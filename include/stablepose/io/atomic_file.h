// Atomic writes: a finished file is either the old one or the complete new one, never half written.
#pragma once

#include <filesystem>
#include <string_view>

namespace stablepose {

// Writes to "<path>.tmp-<pid>" in the same directory, flushes, then renames over `path`.
// Creates missing parent directories. Throws Error naming the path on failure.
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

}  // namespace stablepose
