// `stablepose toyworld jobs`: a `stablepose sample` job file (docs/sample.md) for the held-out poses of a toy
// world split: one job per image, its pose file and caption, a per-image seed, and the view of its figures as
// the job's `scenario`, so `stablepose eval report` gives AP per front / side / back view. Also the manifest
// of the real images of those poses, the detector's ceiling.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace stablepose::toyworld {

struct SampleJobsOptions {
    std::filesystem::path data_dir;     // a `toyworld generate` output folder
    std::string split = "validation";   // reads toyworld_<split>.json
    std::filesystem::path out_file;     // the job file; pose paths are written relative to its folder
    int count = 0;                      // the first `count` images (after the people filter); 0: all
    int people = 0;                     // only images with exactly this many figures; 0: any
    std::uint64_t seed = 1000;          // image k of the split is sampled with seed + k
    // "caption": the image's caption, which names the number of figures and their colours; "count-free":
    // "figures on a <background> background", which leaves the number of figures to the pose alone (the
    // setting in which the paper's PCE separates pose control from none; docs/toyworld.md, "The proof").
    std::string prompts = "caption";
    nlohmann::ordered_json defaults = nlohmann::ordered_json::object();  // the job file's "defaults"
};

// The view shared by all figures of a sample ("front", "side", "back"), or "mixed".
std::string sample_scenario(const nlohmann::ordered_json& sample_metadata);

// "figures on a <background> background" ("an" before a vowel): a prompt that does not say how many figures.
std::string count_free_prompt(const std::string& background);

// Builds the job file. Throws Error naming the file for a missing or malformed toyworld_<split>.json, when
// no sample passes the filter, and for an unknown `prompts`.
nlohmann::ordered_json make_sample_jobs(const SampleJobsOptions& options);

// The real images of the same selection as a sample manifest (JSONL: image relative to `manifest_file`'s
// folder, job, job_index, prompt, scenario, pose with the stored keypoints), so `stablepose eval report` can
// score the detector on real images: the ceiling of the generated rows' AP.
std::string make_real_image_manifest(const SampleJobsOptions& options, const std::filesystem::path& manifest_file);

}  // namespace stablepose::toyworld
