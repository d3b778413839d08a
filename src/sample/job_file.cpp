#include "stablepose/sample/job_file.h"

#include <cmath>
#include <fstream>
#include <set>
#include <type_traits>

#include "stablepose/error.h"
#include "stablepose/sd/scheduler.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::set<std::string> kSettingKeys = {"prompt", "negative_prompt", "seeds", "seed", "count", "width",
                                            "height", "sampler", "steps", "guidance_scale", "control_scale",
                                            "control_start", "control_end", "eta", "fit", "pose", "scenario"};
const std::set<std::string> kTopLevelKeys = {"format", "version", "defaults", "jobs"};

std::string key_list(const std::set<std::string>& keys) {
    std::string out;
    for (const auto& k : keys) out += (out.empty() ? "" : ", ") + k;
    return out;
}

template <typename T>
T get(const json& j, const std::string& key, const char* expected) {
    // nlohmann converts 2.5 to the integer 2 without a word; a count, a step number or a seed must be whole.
    const auto& v = j.at(key);
    if constexpr (std::is_integral_v<T>) {
        if (!v.is_number_integer()) fail("field '" + key + "' has the wrong type", expected, v.dump());
    } else if constexpr (std::is_same_v<T, std::vector<int64_t>>) {
        if (v.is_array())
            for (const auto& e : v)
                if (!e.is_number_integer())
                    fail("field '" + key + "' has the wrong type", expected, v.dump());
    }
    try {
        return v.get<T>();
    } catch (const json::exception&) {
        fail("field '" + key + "' has the wrong type", expected, v.dump());
    }
}

fs::path resolve(const fs::path& base_dir, const std::string& path) {
    const fs::path p(path);
    return p.is_absolute() ? p : base_dir / p;
}

PoseSourceKind kind_from_extension(const fs::path& path) {
    auto ext = path.extension().string();
    for (auto& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    if (ext == ".json") return PoseSourceKind::kKeypointJson;
    if (ext == ".npz") return PoseSourceKind::kHumansdNpz;
    if (ext == ".png" || ext == ".jpg" || ext == ".jpeg") return PoseSourceKind::kSkeletonImage;
    fail("pose: cannot tell the pose source from the file name '" + path.string() + "'",
         ".json (keypoints), .npz (HumanSD), .png/.jpg (rendered skeleton), or {\"coco\": FILE, \"image_id\": N}",
         path.extension().string());
}

}  // namespace

std::string to_string(PoseSourceKind kind) {
    switch (kind) {
        case PoseSourceKind::kKeypointJson: return "keypoints";
        case PoseSourceKind::kHumansdNpz: return "npz";
        case PoseSourceKind::kCocoAnnotation: return "coco";
        case PoseSourceKind::kSkeletonImage: return "skeleton";
    }
    return "?";
}

json PoseSource::to_json() const {
    json j{{"type", stablepose::to_string(kind)}, {"path", path.string()}};
    if (kind == PoseSourceKind::kCocoAnnotation) j["image_id"] = coco_image_id;
    if (pose_size) j["pose_size"] = {pose_size->first, pose_size->second};
    if (image) j["image"] = image->string();
    return j;
}

json GenerationSettings::to_json() const {
    return {{"width", width},
            {"height", height},
            {"sampler", sampler},
            {"steps", steps},
            {"guidance_scale", guidance_scale},
            {"control_scale", control_scale},
            {"control_start", control_start},
            {"control_end", control_end},
            {"eta", eta},
            {"fit", stablepose::to_string(fit)}};
}

PoseSource parse_pose_source(const json& value, const fs::path& base_dir) {
    PoseSource src;
    if (value.is_string()) {
        src.path = resolve(base_dir, value.get<std::string>());
        src.kind = kind_from_extension(src.path);
        if (src.kind == PoseSourceKind::kHumansdNpz)
            fail("pose: an .npz needs the size of the image its keypoints refer to",
                 "{\"npz\": FILE, \"pose_size\": [W, H]} or {\"npz\": FILE, \"image\": IMAGE}", value.dump());
        return src;
    }
    if (!value.is_object())
        fail("pose: wrong type", "a file path or an object such as {\"coco\": FILE, \"image_id\": N}", value.dump());
    const std::set<std::string> known = {"keypoints", "npz", "skeleton", "coco", "image_id", "pose_size", "image"};
    int kinds = 0;
    for (const auto& [key, v] : value.items()) {
        if (!known.count(key)) fail("pose: unknown key '" + key + "'", key_list(known), key);
        if (key == "keypoints" || key == "npz" || key == "skeleton" || key == "coco") {
            ++kinds;
            src.path = resolve(base_dir, get<std::string>(value, key, "a file path"));
            src.kind = key == "keypoints" ? PoseSourceKind::kKeypointJson
                       : key == "npz"     ? PoseSourceKind::kHumansdNpz
                       : key == "coco"    ? PoseSourceKind::kCocoAnnotation
                                          : PoseSourceKind::kSkeletonImage;
        }
    }
    if (kinds != 1)
        fail("pose: exactly one source", "one of keypoints, npz, skeleton, coco", std::to_string(kinds) + " given");
    if (src.kind == PoseSourceKind::kCocoAnnotation) {
        if (!value.contains("image_id")) fail("pose: a COCO source needs \"image_id\"", "an integer image id", "none");
        src.coco_image_id = get<int64_t>(value, "image_id", "an integer image id");
    } else if (value.contains("image_id")) {
        fail("pose: \"image_id\" belongs to a COCO source", "{\"coco\": FILE, \"image_id\": N}", value.dump());
    }
    if (value.contains("pose_size")) {
        const auto size = get<std::vector<int>>(value, "pose_size", "[W, H]");
        if (size.size() != 2 || size[0] <= 0 || size[1] <= 0)
            fail("pose: pose_size", "[W, H] with positive integers", value.at("pose_size").dump());
        src.pose_size = std::make_pair(size[0], size[1]);
    }
    if (value.contains("image")) src.image = resolve(base_dir, get<std::string>(value, "image", "an image path"));
    if (src.kind == PoseSourceKind::kHumansdNpz && !src.pose_size && !src.image)
        fail("pose: an .npz needs the size of the image its keypoints refer to",
             "\"pose_size\": [W, H] or \"image\": IMAGE beside \"npz\"", value.dump());
    if (src.kind != PoseSourceKind::kHumansdNpz && (src.pose_size || src.image))
        fail("pose: \"pose_size\" and \"image\" belong to an npz source", "{\"npz\": FILE, \"pose_size\": [W, H]}",
             value.dump());
    return src;
}

void validate_settings(const GenerationSettings& s) {
    for (const auto& [name, v] : {std::pair{"width", s.width}, std::pair{"height", s.height}})
        if (v < 64 || v % 64 != 0)
            fail(std::string(name) + " must be a positive multiple of 64", "64, 128, ..., e.g. 512",
                 std::to_string(v), "the VAE downsamples by 8 and the U-Net by 8 more");
    const auto names = scheduler_names();
    if (std::find(names.begin(), names.end(), s.sampler) == names.end())
        fail("unknown sampler", "ddim, dpmpp_2m or euler", s.sampler);
    if (s.steps < 1 || s.steps > 1000) fail("steps out of range", "1 ... 1000", std::to_string(s.steps));
    for (const auto& [name, v] :
         {std::pair{"guidance_scale", s.guidance_scale}, std::pair{"control_scale", s.control_scale},
          std::pair{"control_start", s.control_start}, std::pair{"control_end", s.control_end},
          std::pair{"eta", s.eta}})
        if (!std::isfinite(v))
            fail(std::string(name) + " must be a finite number", "a finite number", std::to_string(v));
    if (!(s.guidance_scale >= 1.0))
        fail("guidance_scale must be >= 1", ">= 1 (1: no classifier-free guidance)", std::to_string(s.guidance_scale));
    if (!(s.control_scale >= 0.0)) fail("control_scale must be >= 0", ">= 0", std::to_string(s.control_scale));
    if (!(s.control_start >= 0.0 && s.control_start < s.control_end && s.control_end <= 1.0))
        fail("control window", "0 <= control_start < control_end <= 1",
             std::to_string(s.control_start) + ", " + std::to_string(s.control_end));
    if (!(s.eta >= 0.0)) fail("eta must be >= 0", ">= 0", std::to_string(s.eta));
    if (s.eta != 0.0 && s.sampler != "ddim") fail("eta is a DDIM option", "eta 0 for " + s.sampler, std::to_string(s.eta));
}

void apply_job_fields(const json& fields, const fs::path& base_dir, SampleJob& job, bool allow_pose_and_prompt) {
    if (!fields.is_object()) fail("a job must be a JSON object", "{\"pose\": ..., \"prompt\": ...}", fields.dump());
    for (const auto& [key, value] : fields.items())
        if (!kSettingKeys.count(key) && key != "name")
            fail("unknown field '" + key + "'", key_list(kSettingKeys) + ", name", key, "see docs/sample.md");
    auto& s = job.settings;
    if (fields.contains("pose")) {
        if (!allow_pose_and_prompt) fail("\"pose\" is per job", "pose inside a job", "pose in defaults");
        job.pose = parse_pose_source(fields.at("pose"), base_dir);
    }
    if (fields.contains("prompt")) job.prompt = get<std::string>(fields, "prompt", "a string");
    if (fields.contains("negative_prompt")) job.negative_prompt = get<std::string>(fields, "negative_prompt", "a string");
    if (fields.contains("seeds") && (fields.contains("seed") || fields.contains("count")))
        fail("give either \"seeds\" or \"seed\"/\"count\"", "seeds: [..] or seed + count", fields.dump());
    if (fields.contains("seeds")) {
        job.seeds = get<std::vector<int64_t>>(fields, "seeds", "an array of integers");
        if (job.seeds.empty()) fail("\"seeds\" is empty", "at least one seed", "[]");
    }
    if (fields.contains("seed") || fields.contains("count")) {
        const int64_t seed = fields.contains("seed") ? get<int64_t>(fields, "seed", "an integer") : job.seeds.front();
        const int count = fields.contains("count") ? get<int>(fields, "count", "an integer")
                                                   : static_cast<int>(job.seeds.size());
        if (count < 1 || count > 100000) fail("\"count\" out of range", "1 ... 100000", std::to_string(count));
        job.seeds.clear();
        for (int k = 0; k < count; ++k) job.seeds.push_back(seed + k);
    }
    if (fields.contains("width")) s.width = get<int>(fields, "width", "an integer multiple of 64");
    if (fields.contains("height")) s.height = get<int>(fields, "height", "an integer multiple of 64");
    if (fields.contains("sampler")) s.sampler = get<std::string>(fields, "sampler", "ddim, dpmpp_2m or euler");
    if (fields.contains("steps")) s.steps = get<int>(fields, "steps", "an integer");
    if (fields.contains("guidance_scale")) s.guidance_scale = get<double>(fields, "guidance_scale", "a number");
    if (fields.contains("control_scale")) s.control_scale = get<double>(fields, "control_scale", "a number");
    if (fields.contains("control_start")) s.control_start = get<double>(fields, "control_start", "a number in [0, 1)");
    if (fields.contains("control_end")) s.control_end = get<double>(fields, "control_end", "a number in (0, 1]");
    if (fields.contains("eta")) s.eta = get<double>(fields, "eta", "a number");
    if (fields.contains("fit")) s.fit = parse_canvas_fit(get<std::string>(fields, "fit", "\"cover\" or \"stretch\""));
    if (fields.contains("name")) job.name = get<std::string>(fields, "name", "a string");
    if (fields.contains("scenario")) job.scenario = get<std::string>(fields, "scenario", "a string");
}

JobFile parse_job_file(const json& j, const fs::path& base_dir, const std::string& source) {
    if (!j.is_object())
        fail(source + ": the top level must be an object", "{\"defaults\": {...}, \"jobs\": [...]}", j.type_name());
    for (const auto& [key, value] : j.items())
        if (!kTopLevelKeys.count(key)) fail(source + ": unknown top-level key '" + key + "'", key_list(kTopLevelKeys), key);
    if (j.contains("format") && j.at("format") != kJobFileFormat)
        fail(source + ": wrong format", kJobFileFormat, j.at("format").dump());
    if (j.contains("version") && j.at("version") != kJobFileVersion)
        fail(source + ": unsupported version", std::to_string(kJobFileVersion), j.at("version").dump(),
             "this stablepose reads version 1 job files");
    if (!j.contains("jobs") || !j.at("jobs").is_array())
        fail(source + ": no \"jobs\" array", "\"jobs\": [{\"pose\": ..., \"prompt\": ...}, ...]",
             j.contains("jobs") ? j.at("jobs").type_name() : "missing");
    SampleJob defaults;
    if (j.contains("defaults")) {
        const auto& d = j.at("defaults");
        if (d.is_object() && d.contains("name")) fail(source + ": \"name\" is per job", "name inside a job", "in defaults");
        try {
            apply_job_fields(d, base_dir, defaults, false);
            validate_settings(defaults.settings);
        } catch (const Error& e) {
            fail(source + ": bad \"defaults\"", "", "", e.what());
        }
    }
    JobFile out;
    const auto& jobs = j.at("jobs");
    for (size_t i = 0; i < jobs.size(); ++i) {
        SampleJob job = defaults;
        job.index = static_cast<int>(i);
        job.name = "job" + std::to_string(i);
        try {
            if (jobs[i].is_object() && jobs[i].contains("seeds") && !jobs[i].contains("seed") && !jobs[i].contains("count"))
                job.seeds.clear();
            apply_job_fields(jobs[i], base_dir, job, true);
            if (!jobs[i].contains("pose")) fail("no \"pose\"", "a pose source", "none");
            if (!jobs[i].contains("prompt") && !(j.contains("defaults") && j.at("defaults").contains("prompt")))
                fail("no \"prompt\"", "a prompt (may be \"\")", "none");
            validate_settings(job.settings);
            if (job.name.empty() || job.name.find_first_of("/\\") != std::string::npos || job.name == "." ||
                job.name == "..")
                fail("bad \"name\"", "a non-empty file stem without slashes", job.name);
            for (const auto& other : out.jobs)
                if (other.name == job.name)
                    fail("duplicate job name '" + job.name + "'", "unique names (they are the output file stems)",
                         "also job " + std::to_string(other.index));
            out.jobs.push_back(std::move(job));
        } catch (const Error& e) {
            out.errors.push_back({static_cast<int>(i), job.name, e.what()});
        }
    }
    return out;
}

JobFile read_job_file(const fs::path& path) {
    std::ifstream in(path);
    if (!in)
        fail("job file not found: " + path.string(), "a JSON job file (docs/sample.md)", "no such file",
             "or use the quick form: stablepose sample --pose POSE --prompt TEXT ...");
    json j;
    try {
        j = json::parse(in);
    } catch (const json::exception& e) {
        fail("job file is not valid JSON: " + path.string(), "JSON", e.what());
    }
    return parse_job_file(j, path.parent_path(), path.string());
}

}  // namespace stablepose
