#include "stablepose/sample/sample_run.h"

#include <chrono>
#include <fstream>
#include <map>

#include <spdlog/spdlog.h>
#include <torch/cuda.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/io/png_text.h"
#include "stablepose/io/sha256.h"
#include "stablepose/pose/pose_json.h"
#include "stablepose/sample/condition.h"
#include "stablepose/sample/pipeline.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

// One image to make: a job, one of its seeds, and where it goes.
struct PendingImage {
    const SampleJob* job = nullptr;
    int64_t seed = 0;
    std::string image;  // relative to the output folder
};

std::string image_name(const SampleJob& job, int64_t seed) {
    return "images/" + job.name + "_s" + std::to_string(seed) + ".png";
}

// Manifest entries by image path, in the order first seen.
struct Manifest {
    std::vector<std::string> order;
    std::map<std::string, json> entries;

    void put(const json& entry) {
        const auto key = entry.at("image").get<std::string>();
        if (!entries.count(key)) order.push_back(key);
        entries[key] = entry;
    }
    void write(const fs::path& path) const {
        std::string text;
        for (const auto& key : order) text += entries.at(key).dump() + "\n";
        write_file_atomic(path, text);
    }
};

Manifest read_manifest(const fs::path& path) {
    Manifest m;
    std::ifstream in(path);
    std::string line;
    int line_no = 0;
    while (std::getline(in, line)) {
        ++line_no;
        if (line.empty()) continue;
        try {
            m.put(json::parse(line));
        } catch (const json::exception& e) {
            fail("manifest " + path.string() + " line " + std::to_string(line_no) + " is not a JSON object",
                 "one JSON object per line with \"image\"", e.what(), "remove the line or the file and rerun");
        }
    }
    return m;
}

json pose_json(const PreparedCondition& c) {
    if (!c.pose) return nullptr;
    json people = json::array();
    for (const auto& person : c.pose->people) {
        json joints = json::array();
        for (const auto& j : person.joints) joints.push_back({j.x, j.y, j.confidence});
        people.push_back(joints);
    }
    return {{"schema", c.schema_name}, {"width", c.pose->width}, {"height", c.pose->height}, {"people", people}};
}

json manifest_entry(const PendingImage& p, const PreparedCondition& c, const json& models) {
    const auto& job = *p.job;
    json entry = {{"image", p.image},
            {"job", job.name},
            {"job_index", job.index},
            {"seed", p.seed},
            {"prompt", job.prompt},
            {"negative_prompt", job.negative_prompt},
            {"pose_source", job.pose.to_json()},
            {"pose", pose_json(c)},
            {"settings", job.settings.to_json()},
            {"models", models}};
    if (!job.scenario.empty()) entry["scenario"] = job.scenario;
    return entry;
}

cv::Mat panel(const cv::Mat& image, const PreparedCondition& c, const KeypointSchema& schema, const SkeletonStyle& style) {
    const auto skeleton = tensor_to_rgb(c.skeleton);
    const auto overlay = c.pose ? draw_joint_overlay(image, *c.pose, schema, style) : image.clone();
    cv::Mat out;
    cv::hconcat(std::vector<cv::Mat>{image, skeleton, overlay}, out);
    return out;
}

void dump_condition(const fs::path& dir, const PreparedCondition& c, const SamplingPipeline& pipeline,
                    const GenerationSettings& s) {
    fs::create_directories(dir);
    write_png(dir / "skeleton.png", tensor_to_rgb(c.skeleton));
    const bool cfg = s.guidance_scale != 1.0;
    const auto& config = cfg ? pipeline.options().inference_masks : pipeline.options().training_masks;
    const auto masks = build_pose_masks(c.skeleton.unsqueeze(0), config);  // [K, h, w] of the conditional rows
    for (size_t k = 0; k < config.gaussian_kernels.size(); ++k)
        write_png(dir / ("mask_k" + std::to_string(config.gaussian_kernels[k]) + ".png"),
                  mask_to_image(masks[static_cast<int64_t>(k)]));
    json info{{"settings", s.to_json()},
              {"masks", cfg ? "inference (unconditional rows: all ones)" : "training-style (guidance 1)"},
              {"threshold", config.threshold},
              {"gaussian_kernels", config.gaussian_kernels}};
    if (c.pose) info["pose"] = pose_json(c);
    write_file_atomic(dir / "condition.json", info.dump(2) + "\n");
}

}  // namespace

torch::Device resolve_device(const std::string& name) {
    if (name == "auto") return torch::cuda::is_available() ? torch::Device(torch::kCUDA, 0) : torch::Device(torch::kCPU);
    try {
        torch::Device device(name);
        if (device.is_cuda() && !torch::cuda::is_available())
            fail("device " + name + " requested", "a CUDA device", "none available", "use --device cpu");
        return device;
    } catch (const c10::Error&) {
        fail("unknown device", "auto, cpu, cuda or cuda:N", name);
    }
}

PoseConditionConfig resolve_pose_condition(const std::optional<PoseConditionConfig>& given,
                                           const LoadedAdapter* adapter) {
    if (given) return *given;
    if (adapter == nullptr) return {};
    const auto it = adapter->metadata.find("pose_condition");
    if (it == adapter->metadata.end()) return {};
    json j;
    try {
        j = json::parse(it->second);
    } catch (const json::exception& e) {
        fail(adapter->source + ": pose_condition metadata is not JSON", "a JSON object", e.what(),
             "pass --config PRESET to set the pose conditioning explicitly");
    }
    return PoseConditionConfig::from_json(j, adapter->source + " (pose_condition metadata)");
}

namespace {

// An image a previous run finished: a file that decodes, at the job's size. Anything else at that path (an
// empty or cut file, a folder) is made again rather than counted as done.
bool finished_image(const fs::path& path, const GenerationSettings& settings) {
    if (!fs::is_regular_file(path)) return false;
    const cv::Mat image = cv::imread(path.string(), cv::IMREAD_UNCHANGED | cv::IMREAD_IGNORE_ORIENTATION);
    return !image.empty() && image.cols == settings.width && image.rows == settings.height;
}

}  // namespace

SampleRunReport run_sampling(const JobFile& jobs, const SampleRunOptions& options) {
    const auto start = std::chrono::steady_clock::now();
    if (options.batch_size < 1) fail("--batch-size must be >= 1", ">= 1", std::to_string(options.batch_size));
    SampleRunReport report;
    report.failed = jobs.errors;
    for (const auto& e : jobs.errors) spdlog::error("job {} ({}) skipped: {}", e.index, e.name, e.message);

    const auto device = resolve_device(options.device);
    FrozenLoadOptions load;
    load.device = device;
    if (device.is_cuda()) at::globalContext().setBenchmarkCuDNN(true);
    auto sd = FrozenStableDiffusion::load(options.model_dir, load);
    std::optional<LoadedAdapter> adapter;
    if (options.adapter) adapter = load_adapter(*options.adapter, sd.spec.unet);
    auto tokenizer = ClipTokenizer::from_file(sd.spec.tokenizer_path(), options.tokenizer);
    json models{{"model_dir", options.model_dir.string()},
                {"model_sha256", sha256_file(options.model_dir / "model.json")},
                {"adapter", adapter ? json{{"path", adapter->source},
                                           {"sha256", adapter->sha256},
                                           {"mode", to_string(adapter->adapter->config().mode)}}
                                    : json(nullptr)}};
    if (options.zero_condition_features) models["ablation"] = "zero_condition_features";
    const auto condition = resolve_pose_condition(options.pose_condition, adapter ? &*adapter : nullptr);
    models["pose_condition"] = condition.to_json();
    SamplingPipeline pipeline(std::move(sd), std::move(adapter), std::move(tokenizer),
                              {condition.inference_masks, condition.training_masks, options.zero_condition_features,
                               options.cuda_graphs});
    if (options.cuda_graphs && !pipeline.uses_cuda_graphs())
        spdlog::warn("--cuda-graph has no effect on {}: CUDA graphs need a CUDA device", device.str());
    const auto schema = load_schema(options.schema);
    const auto& style = condition.style;
    const auto drawing = options.skeleton_drawing != "auto" ? parse_skeleton_drawing(options.skeleton_drawing)
                         : options.adapter && fs::is_directory(*options.adapter) ? SkeletonDrawing::kOpenPose
                                                                                  : SkeletonDrawing::kSchema;

    fs::create_directories(options.output_dir / "images");
    if (options.panels) fs::create_directories(options.output_dir / "panels");
    report.manifest = options.output_dir / kManifestFile;
    auto manifest = read_manifest(report.manifest);

    // Conditions per job; a job whose source cannot be read fails here and is skipped.
    std::map<int, PreparedCondition> conditions;
    std::vector<std::vector<PendingImage>> buckets;  // by settings, in order of first appearance
    std::vector<GenerationSettings> bucket_settings;
    for (const auto& job : jobs.jobs) {
        try {
            auto condition = prepare_condition(job.pose, job.settings, schema, style, drawing);
            if (options.dump_condition)
                dump_condition(options.output_dir / "conditions" / job.name, condition, pipeline, job.settings);
            for (const auto seed : job.seeds) {
                PendingImage p{&job, seed, image_name(job, seed)};
                const auto path = options.output_dir / p.image;
                if (!options.overwrite && finished_image(path, job.settings)) {
                    ++report.images_skipped;
                    if (!manifest.entries.count(p.image)) manifest.put(manifest_entry(p, condition, models));
                    continue;
                }
                if (!options.overwrite && fs::exists(path)) {
                    spdlog::warn("{} is there but is not a readable {}x{} image; it is made again",
                                 path.string(), job.settings.width, job.settings.height);
                }
                size_t b = 0;
                while (b < bucket_settings.size() && !(bucket_settings[b] == job.settings)) ++b;
                if (b == bucket_settings.size()) {
                    bucket_settings.push_back(job.settings);
                    buckets.emplace_back();
                }
                buckets[b].push_back(p);
            }
            conditions.emplace(job.index, std::move(condition));
        } catch (const Error& e) {
            spdlog::error("job {} ({}) skipped: {}", job.index, job.name, e.what());
            report.failed.push_back({job.index, job.name, e.what()});
        }
    }
    manifest.write(report.manifest);

    int total = 0;
    for (const auto& bucket : buckets) total += static_cast<int>(bucket.size());
    for (const auto& bucket : buckets) {
        for (size_t first = 0; first < bucket.size(); first += static_cast<size_t>(options.batch_size)) {
            const size_t last = std::min(bucket.size(), first + static_cast<size_t>(options.batch_size));
            std::vector<ImageRequest> requests;
            for (size_t i = first; i < last; ++i) {
                const auto& p = bucket[i];
                requests.push_back({p.job->settings, p.job->prompt, p.job->negative_prompt, p.seed,
                                    conditions.at(p.job->index).skeleton, p.job->index});
            }
            try {
                const auto images = pipeline.generate(requests);
                for (size_t i = first; i < last; ++i) {
                    const auto& p = bucket[i];
                    const auto& c = conditions.at(p.job->index);
                    const auto rgb = unit_tensor_to_rgb(images[static_cast<int64_t>(i - first)]);
                    auto entry = manifest_entry(p, c, models);
                    json meta = entry;
                    meta.erase("pose");
                    meta["stablepose_version"] = STABLEPOSE_VERSION;
                    write_png_with_text(options.output_dir / p.image, rgb, {{kPngMetadataKey, meta.dump()}});
                    if (options.panels) {
                        const auto panel_path = "panels/" + fs::path(p.image).filename().string();
                        write_png(options.output_dir / panel_path, panel(rgb, c, schema, style));
                        entry["panel"] = panel_path;
                    }
                    manifest.put(entry);
                    ++report.images_written;
                }
                manifest.write(report.manifest);
                spdlog::info("sample: {}/{} images written", report.images_written, total);
            } catch (const std::exception& e) {
                for (size_t i = first; i < last; ++i) {
                    const auto& job = *bucket[i].job;
                    spdlog::error("job {} ({}) seed {} failed: {}", job.index, job.name, bucket[i].seed, e.what());
                    report.failed.push_back({job.index, job.name, e.what()});
                }
            }
        }
    }
    std::sort(report.failed.begin(), report.failed.end(),
              [](const JobError& a, const JobError& b) { return a.index < b.index; });
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return report;
}

}  // namespace stablepose
