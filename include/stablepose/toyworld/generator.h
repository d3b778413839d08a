// `stablepose toyworld generate`: a procedural dataset in the HumanSD layout (stable-pose.md §11), so the
// real loaders, renderer, masks, trainer, sampler and evaluator run on it unchanged.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/toyworld/scene.h"

namespace stablepose::toyworld {

inline constexpr int kToyworldFormatVersion = 1;
inline constexpr int kSupersample = 2;  // drawing resolution factor (anti-aliasing)

struct GenerateOptions {
    std::filesystem::path out_dir;
    int count = 1000;
    int size = 128;                   // square images, size x size
    std::uint64_t seed = 0;
    std::string split = "training";   // "training" or "validation"
    int threads = 0;                  // 0: all hardware threads; the output does not depend on it

    // Throws Error for a count below 1, a size outside [32, 4096], an unknown split or an empty out_dir.
    void validate() const;
    nlohmann::json to_json() const;
};

// "<split>_<index, 6 digits>", e.g. "training_000042".
std::string sample_id(const std::string& split, int index);

// Sample `index` alone, exactly as generate_dataset writes it (seeded by Random::for_sample).
struct ToySample {
    std::string id;
    Scene scene;
    RenderedScene rendered;
    std::string caption;
};
ToySample make_sample(const GenerateOptions& options, int index);

struct GenerateSummary {
    int count = 0;
    int people = 0;
    std::array<int, 3> views{};  // people seen from the front, side, back
    double seconds = 0;
    std::filesystem::path mapping_file, metadata_file;
};

// Writes, under options.out_dir:
//   images/<id>.png                 the rendered image (RGB)
//   pose/<id>.npz                   the people, left to right, as HumanSD pose files (write_humansd_npz)
//   mapping_file_<split>.json       {id: {img_path, pose_path, prompt}} in sample order (paths relative)
//   toyworld_<split>.json           generator settings and per-sample metadata (docs/toyworld.md)
// Samples are rendered on `threads` threads; every file is identical for any thread count.
GenerateSummary generate_dataset(const GenerateOptions& options);

// The metadata object of one sample in toyworld_<split>.json.
nlohmann::ordered_json sample_metadata(const ToySample& sample, int index);

}  // namespace stablepose::toyworld
