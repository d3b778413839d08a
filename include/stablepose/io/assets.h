// Files the project ships (the CLIP BPE vocabulary, example poses), found from the build or install tree.
#pragma once

#include <filesystem>

namespace stablepose {

// Resolves `relative` (e.g. "clip/bpe_simple_vocab_16e6.txt.gz") in, in order: $STABLEPOSE_ASSETS,
// <executable dir>/../share/stablepose/assets, and the source tree's assets/. Throws Error listing
// the places searched when it is in none of them.
std::filesystem::path find_asset(const std::filesystem::path& relative);

// The vendored CLIP vocabulary (OpenAI bpe_simple_vocab_16e6.txt.gz, MIT licence beside it).
inline std::filesystem::path clip_vocabulary_path() { return find_asset("clip/bpe_simple_vocab_16e6.txt.gz"); }

}  // namespace stablepose
