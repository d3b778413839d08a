#include "stablepose/toyworld/sample_jobs.h"

#include "stablepose/data/humansd_npz.h"
#include "stablepose/data/json_file.h"
#include "stablepose/error.h"
#include "stablepose/sample/job_file.h"

namespace stablepose::toyworld {
namespace fs = std::filesystem;

namespace {

struct SelectedSamples {
    fs::path metadata_file;
    int width = 0, height = 0;
    std::vector<std::pair<std::string, nlohmann::ordered_json>> samples;  // id, metadata, in split order
};

// The samples of the split that pass the people filter, the first `count` of them.
SelectedSamples select_samples(const SampleJobsOptions& options) {
    if (options.count < 0)
        fail("toyworld jobs: --count must not be negative", ">= 0 (0: all)", std::to_string(options.count));
    if (options.people < 0)
        fail("toyworld jobs: --people must not be negative", ">= 0 (0: any)", std::to_string(options.people));
    SelectedSamples out;
    out.metadata_file = options.data_dir / ("toyworld_" + options.split + ".json");
    const auto metadata = read_json_file(out.metadata_file, "toy world metadata (stablepose toyworld generate)");
    if (!metadata.contains("samples") || !metadata["samples"].is_object() || !metadata.contains("width") ||
        !metadata.contains("height"))
        fail(out.metadata_file.string() + ": not a toy world metadata file",
             "an object with width, height and samples (docs/toyworld.md)", "other keys");
    out.width = metadata["width"].get<int>();
    out.height = metadata["height"].get<int>();
    for (const auto& [id, sample] : metadata["samples"].items()) {
        if (options.count > 0 && static_cast<int>(out.samples.size()) == options.count) break;
        if (!sample.contains("people") || !sample["people"].is_array() || !sample.contains("index"))
            fail(out.metadata_file.string() + ": samples." + id, "an object with index and people", sample.dump());
        if (options.people > 0 && static_cast<int>(sample["people"].size()) != options.people) continue;
        out.samples.emplace_back(id, sample);
    }
    if (out.samples.empty())
        fail("toyworld jobs: no sample of " + out.metadata_file.string() + " passes the filter",
             "at least one sample" + (options.people > 0 ? " with " + std::to_string(options.people) + " figures"
                                                          : std::string()),
             "none");
    return out;
}

std::string relative_to(const fs::path& target, const fs::path& file) {
    return fs::relative(fs::absolute(target), fs::absolute(file).parent_path()).generic_string();
}

}  // namespace

std::string sample_scenario(const nlohmann::ordered_json& sample_metadata) {
    std::string view;
    for (const auto& person : sample_metadata.at("people")) {
        const auto v = person.at("view").get<std::string>();
        if (view.empty()) view = v;
        else if (v != view) return "mixed";
    }
    return view.empty() ? "empty" : view;
}

std::string count_free_prompt(const std::string& background) {
    const bool vowel = !background.empty() && std::string("aeiou").find(background.front()) != std::string::npos;
    return std::string("figures on ") + (vowel ? "an " : "a ") + background + " background";
}

nlohmann::ordered_json make_sample_jobs(const SampleJobsOptions& options) {
    if (options.prompts != "caption" && options.prompts != "count-free")
        fail("toyworld jobs: unknown prompts '" + options.prompts + "'", "caption or count-free", options.prompts);
    const auto selected = select_samples(options);
    nlohmann::ordered_json jobs = nlohmann::ordered_json::array();
    for (const auto& [id, sample] : selected.samples) {
        const auto where = selected.metadata_file.string() + ": samples." + id;
        const auto index = json_integer(sample, "index", where);
        const auto prompt = options.prompts == "caption" ? json_string(sample, "prompt", where)
                                                         : count_free_prompt(json_string(sample, "background", where));
        jobs.push_back({{"name", id},
                        {"pose", {{"npz", relative_to(options.data_dir / "pose" / (id + ".npz"), options.out_file)},
                                  {"pose_size", {selected.width, selected.height}}}},
                        {"prompt", prompt},
                        {"seeds", {options.seed + static_cast<std::uint64_t>(index)}},
                        {"scenario", sample_scenario(sample)}});
    }
    nlohmann::ordered_json defaults = options.defaults;
    if (!defaults.contains("width")) defaults["width"] = selected.width;
    if (!defaults.contains("height")) defaults["height"] = selected.height;
    // The toy base model's unconditional text is the empty caption (its caption dropout), not SD's negative prompt.
    if (!defaults.contains("negative_prompt")) defaults["negative_prompt"] = "";
    nlohmann::ordered_json file{
        {"format", "stablepose.sample-jobs"}, {"version", 1}, {"defaults", defaults}, {"jobs", jobs}};
    // Read back as `stablepose sample` will, so that a bad default fails here rather than at sampling time.
    const auto check = parse_job_file(nlohmann::json(file), options.out_file.parent_path(), "toyworld jobs");
    if (!check.errors.empty())
        fail("toyworld jobs: the job settings would be refused by stablepose sample",
             "settings sample accepts", check.errors.front().message,
             "fix --sampler, --steps, --guidance or --control-scale");
    return file;
}

std::string make_real_image_manifest(const SampleJobsOptions& options, const fs::path& manifest_file) {
    const auto selected = select_samples(options);
    std::string out;
    int line = 0;
    for (const auto& [id, sample] : selected.samples) {
        const auto where = selected.metadata_file.string() + ": samples." + id;
        nlohmann::ordered_json people = nlohmann::ordered_json::array();
        for (const auto& person : read_humansd_people(options.data_dir / "pose" / (id + ".npz"))) {
            nlohmann::ordered_json joints = nlohmann::ordered_json::array();
            for (const auto& j : person.keypoints) joints.push_back({j.x, j.y, j.confidence});
            people.push_back(joints);
        }
        const nlohmann::ordered_json entry{
            {"image", relative_to(options.data_dir / "images" / (id + ".png"), manifest_file)},
            {"job", id},
            {"job_index", line++},
            {"prompt", json_string(sample, "prompt", where)},
            {"scenario", sample_scenario(sample)},
            {"pose", {{"schema", "coco17"}, {"width", selected.width}, {"height", selected.height}, {"people", people}}}};
        out += entry.dump() + "\n";
    }
    return out;
}

}  // namespace stablepose::toyworld
