// The toy-world dataset writer (HumanSD layout; reference: stable-pose.md §11.1-11.2).
#include "stablepose/toyworld/generator.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/data/humansd_npz.h"
#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/toyworld/joint_visibility.h"
#include "stablepose/toyworld/random.h"

namespace stablepose::toyworld {
namespace {

nlohmann::json rgb_json(const Rgb& c) { return {c.r, c.g, c.b}; }

// Metadata numbers to a thousandth: readable, and float32 constants such as 0.01f print as 0.01.
double rounded(double v) { return std::round(v * 1000.0) / 1000.0; }

int count_visible(const std::vector<Joint>& joints) {
    return static_cast<int>(std::count_if(joints.begin(), joints.end(),
                                          [](const Joint& j) { return j.confidence > kOfficialConfidenceThreshold; }));
}

std::vector<HumansdPerson> humansd_people(const RenderedScene& rendered) {
    std::vector<HumansdPerson> people;
    for (const auto& p : rendered.people) {
        HumansdPerson h;
        std::copy(p.keypoints.begin(), p.keypoints.end(), h.keypoints.begin());
        h.score = 1.0f;
        h.area = static_cast<float>(p.bbox.area());
        people.push_back(h);
    }
    return people;
}

// A JSON object with one "id": value pair per line, keys in the given order (the mapping file's order is
// the sample order, which a sorted JSON object would lose past 999999 samples).
std::string object_lines(const std::vector<std::string>& ids, const std::vector<nlohmann::ordered_json>& values,
                         const std::string& indent) {
    std::string out = "{";
    for (size_t i = 0; i < ids.size(); ++i)
        out += (i == 0 ? "\n" : ",\n") + indent + " " + nlohmann::json(ids[i]).dump() + ": " + values[i].dump();
    return out + "\n" + indent + "}";
}

}  // namespace

void GenerateOptions::validate() const {
    if (out_dir.empty()) fail("toyworld generate: no output directory", "--out DIR", "an empty path");
    if (count < 1) fail("toyworld generate: --count must be positive", ">= 1", std::to_string(count));
    if (size < 32 || size > 4096)
        fail("toyworld generate: --size out of range", "32 ... 4096 pixels", std::to_string(size),
             "128 is the default the demo and tests use");
    if (split != "training" && split != "validation")
        fail("toyworld generate: unknown split name", "training or validation (HumanSD's mapping_file_<split>.json)",
             split);
    if (threads < 0) fail("toyworld generate: --threads must not be negative", ">= 0 (0 = all)", std::to_string(threads));
}

nlohmann::json GenerateOptions::to_json() const {
    return {{"out", out_dir.string()}, {"count", count}, {"size", size}, {"seed", seed}, {"split", split},
            {"threads", threads}};
}

std::string sample_id(const std::string& split, int index) {
    char digits[16];
    std::snprintf(digits, sizeof digits, "%06d", index);
    return split + "_" + digits;
}

ToySample make_sample(const GenerateOptions& options, int index) {
    Random rng = Random::for_sample(options.seed, options.split, static_cast<std::uint64_t>(index));
    ToySample s;
    s.id = sample_id(options.split, index);
    s.scene = random_scene(rng, options.size, options.size);
    s.rendered = render_scene(s.scene, kSupersample);
    s.caption = scene_caption(s.scene);
    return s;
}

nlohmann::ordered_json sample_metadata(const ToySample& sample, int index) {
    nlohmann::ordered_json people = nlohmann::ordered_json::array();
    for (const auto& p : sample.rendered.people) {
        const FigureSpec& f = sample.scene.figures[p.figure];
        people.push_back({{"view", view_name(p.view)},
                          {"yaw_deg", rounded(f.yaw_deg)},
                          {"colour", f.colour},
                          {"clothing_rgb", rgb_json(f.style.clothing)},
                          {"skin_rgb", rgb_json(f.style.skin)},
                          {"hair_rgb", rgb_json(f.style.hair)},
                          {"shoes_rgb", rgb_json(f.style.shoes)},
                          {"bbox", {rounded(p.bbox.x), rounded(p.bbox.y), rounded(p.bbox.width), rounded(p.bbox.height)}},
                          {"depth_rank", p.figure},
                          {"visible_joints", count_visible(p.keypoints)}});
    }
    return {{"index", index}, {"prompt", sample.caption}, {"background", sample.scene.background},
            {"people", people}};
}

GenerateSummary generate_dataset(const GenerateOptions& options) {
    options.validate();
    namespace fs = std::filesystem;
    const auto start = std::chrono::steady_clock::now();
    std::error_code ec;
    for (const char* sub : {"images", "pose"}) {
        fs::create_directories(options.out_dir / sub, ec);
        if (ec) fail("cannot create '" + (options.out_dir / sub).string() + "'", "a writable directory", ec.message());
    }
    // A split generated here before is replaced: its index files go first, so that a run stopped half-way
    // leaves no mapping that describes a mix of old and new images (they are written again at the end).
    const auto mapping_file = options.out_dir / ("mapping_file_" + options.split + ".json");
    const auto metadata_file = options.out_dir / ("toyworld_" + options.split + ".json");
    for (const auto& index_file : {mapping_file, metadata_file}) {
        fs::remove(index_file, ec);
        if (ec)
            fail("cannot replace '" + index_file.string() + "'", "a file this run may delete and write again",
                 ec.message(), "pass another --out, or check the folder's permissions");
    }

    std::vector<nlohmann::ordered_json> mapping(options.count), metadata(options.count);
    std::atomic<int> next{0};
    std::exception_ptr error;
    std::mutex error_mutex;
    auto worker = [&] {
        for (int i = next++; i < options.count; i = next++) {
            try {
                const ToySample s = make_sample(options, i);
                const std::string img_rel = "images/" + s.id + ".png", pose_rel = "pose/" + s.id + ".npz";
                write_png(options.out_dir / img_rel, s.rendered.image);
                write_humansd_npz(options.out_dir / pose_rel, humansd_people(s.rendered));
                mapping[i] = {{"img_path", img_rel}, {"pose_path", pose_rel}, {"prompt", s.caption}};
                metadata[i] = sample_metadata(s, i);
            } catch (...) {
                const std::lock_guard lock(error_mutex);
                if (!error) error = std::current_exception();
                next = options.count;  // stop the others early
            }
        }
    };
    const int hw = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
    const int n_threads = std::min(options.count, options.threads > 0 ? options.threads : hw);
    std::vector<std::thread> pool;
    for (int t = 1; t < n_threads; ++t) pool.emplace_back(worker);
    worker();
    for (auto& t : pool) t.join();
    if (error) std::rethrow_exception(error);

    GenerateSummary summary;
    summary.count = options.count;
    std::vector<std::string> ids(options.count);
    for (int i = 0; i < options.count; ++i) {
        ids[i] = sample_id(options.split, i);
        for (const auto& p : metadata[i]["people"]) {
            const std::string view = p["view"];
            ++summary.views[view == "front" ? 0 : view == "side" ? 1 : 2];
            ++summary.people;
        }
    }
    const nlohmann::ordered_json header{{"generator", "stablepose toyworld generate"},
                                        {"format_version", kToyworldFormatVersion},
                                        {"stablepose_version", STABLEPOSE_VERSION},
                                        {"seed", options.seed},
                                        {"split", options.split},
                                        {"count", options.count},
                                        {"width", options.size},
                                        {"height", options.size},
                                        {"supersample", kSupersample},
                                        {"keypoint_confidence",
                                         {{"visible", rounded(kVisibleConfidence)},
                                          {"occluded", rounded(kOccludedConfidence)},
                                          {"outside", rounded(kOutsideConfidence)}}}};
    std::string meta = "{\n";
    for (const auto& [key, value] : header.items()) meta += " " + nlohmann::json(key).dump() + ": " + value.dump() + ",\n";
    meta += " \"samples\": " + object_lines(ids, metadata, " ") + "\n}\n";
    summary.mapping_file = mapping_file;
    summary.metadata_file = metadata_file;
    write_file_atomic(summary.metadata_file, meta);
    write_file_atomic(summary.mapping_file,
                      object_lines(ids, mapping, "") + "\n");  // last: the dataset is whole
    summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return summary;
}

}  // namespace stablepose::toyworld
