// SHA-256 (FIPS 180-4), for checking vendored and downloaded files against their published digests.
// Hand-written: the project's package set has no crypto library (no OpenSSL or libsodium dependency), and
// a file checksum does not justify adding one.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

namespace stablepose {

// Lower-case hex digest (64 characters) of `bytes`.
std::string sha256_hex(std::string_view bytes);

// Lower-case hex digest of a file's contents, read in 1 MiB blocks. Throws Error when it cannot be read.
std::string sha256_file(const std::filesystem::path& path);

}  // namespace stablepose
