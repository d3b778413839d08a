#include "stablepose/toyworld/sample_jobs.h"

#include "stablepose/data/json_file.h"
#include "stablepose/error.h"

namespace stablepose::toyworld {
namespace fs = std::filesystem;

std::string sample_scenario(const nlohmann::ordered_json& sample_metadata) {
    std::string view;
    for (const auto& person : sample_metadata.at("people")) {
        const auto v = person.at("view").get<std::string>();
        if (view.empty()) view = v;
        else if (v != view) return "mixed";
    }
    return view.empty() ? "empty" : view;
}

nlohmann::ordered_json make_sample_jobs(const SampleJobsOptions& options) {
    const auto metadata_file = options.data_dir / ("toyworld_" + options.split + ".json");
    const auto metadata = read_json_file(metadata_file, "toy world metadata (stablepose toyworld generate)");
    if (!metadata.contains("samples") || !metadata["samples"].is_object() || !metadata.contains("width") ||
        !metadata.contains("height"))
        fail(metadata_file.string() + ": not a toy world metadata file",
             "an object with width, height and samples (docs/toyworld.md)", "other keys");
    const int width = metadata["width"].get<int>(), height = metadata["height"].get<int>();
    const auto job_dir = fs::absolute(options.out_file).parent_path();
    const auto relative = [&](const std::string& in_data) {
        return fs::relative(fs::absolute(options.data_dir / in_data), job_dir).generic_string();
    };

    nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
    for (const auto& [id, sample] : metadata["samples"].items()) {
        if (options.count > 0 && static_cast<int>(jobs.size()) == options.count) break;
        const auto& people = sample.at("people");
        if (options.people > 0 && static_cast<int>(people.size()) != options.people) continue;
        const auto index = json_integer(sample, "index", metadata_file.string() + ": samples." + id);
        jobs.push_back({{"name", id},
                        {"pose", {{"npz", relative("pose/" + id + ".npz")}, {"pose_size", {width, height}}}},
                        {"prompt", json_string(sample, "prompt", metadata_file.string() + ": samples." + id)},
                        {"seeds", {options.seed + static_cast<std::uint64_t>(index)}},
                        {"scenario", sample_scenario(sample)}});
    }
    if (jobs.empty())
        fail("toyworld jobs: no sample of " + metadata_file.string() + " passes the filter",
             "at least one sample" + (options.people > 0 ? " with " + std::to_string(options.people) + " figures"
                                                          : std::string()),
             "none");
    nlohmann::ordered_json defaults = options.defaults;
    if (!defaults.contains("width")) defaults["width"] = width;
    if (!defaults.contains("height")) defaults["height"] = height;
    // The toy base model's unconditional text is the empty caption (its caption dropout), not SD's negative prompt.
    if (!defaults.contains("negative_prompt")) defaults["negative_prompt"] = "";
    return {{"format", "stablepose.sample-jobs"}, {"version", 1}, {"defaults", defaults}, {"jobs", jobs}};
}

}  // namespace stablepose::toyworld
