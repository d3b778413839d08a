// Helpers for the training tests: a small generated dataset (images + HumanSD mapping/.npz or a JSONL
// manifest) and a training config for the tiny exported SD (64x64, tiny adapter).
#pragma once

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>

#include "stablepose/data/humansd_npz.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/io/safetensors.h"
#include "stablepose/train/train_config.h"
#include "stablepose/train/trainer.h"
#include "test_util.h"

namespace stablepose::testing {

namespace fs = std::filesystem;

inline fs::path tiny_sd_dir() { return fs::path(STABLEPOSE_GOLDEN_DIR) / "tiny_sd"; }

inline fs::path train_scratch(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("stablepose_train_" + name + "_" + std::to_string(::getpid()));
    remove_tree(dir);
    fs::create_directories(dir);
    return dir;
}

// A standing figure of 17 COCO joints around (cx, cy), `s` pixels per unit.
inline std::array<Joint, 17> figure(float cx, float cy, float s) {
    const float xy[17][2] = {{0, -3},   {-0.3f, -3.2f}, {0.3f, -3.2f}, {-0.6f, -3}, {0.6f, -3}, {-1, -2},
                             {1, -2},   {-1.5f, -1},    {1.5f, -1},    {-1.8f, 0},  {1.8f, 0},  {-0.6f, 0},
                             {0.6f, 0}, {-0.7f, 1.5f},  {0.7f, 1.5f},  {-0.8f, 3}, {0.8f, 3}};
    std::array<Joint, 17> out;
    for (int j = 0; j < 17; ++j) out[j] = {cx + s * xy[j][0], cy + s * xy[j][1], 0.9f};
    return out;
}

// `n` images of w x h (a colour gradient with a bright figure-shaped blob), one person each.
// format "humansd": mapping_file_training.json + pose/<k>.npz; "jsonl": manifest.jsonl. Returns the file.
inline fs::path write_dataset(const fs::path& dir, int n, const std::string& format, int w = 80, int h = 64) {
    fs::create_directories(dir / "images");
    fs::create_directories(dir / "pose");
    nlohmann::json mapping = nlohmann::json::object();
    std::ofstream manifest;
    if (format == "jsonl") manifest.open(dir / "manifest.jsonl");
    for (int i = 0; i < n; ++i) {
        cv::Mat img(h, w, CV_8UC3);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                img.at<cv::Vec3b>(y, x) = cv::Vec3b(static_cast<uchar>((x * 3 + i * 40) % 256),
                                                    static_cast<uchar>((y * 4 + i * 70) % 256),
                                                    static_cast<uchar>((x + y + i * 20) % 256));
        const auto joints = figure(static_cast<float>(w) / 2 + static_cast<float>(i % 3) * 5 - 5,
                                   static_cast<float>(h) / 2, 7.0f + static_cast<float>(i % 2));
        for (const auto& j : joints) cv::circle(img, {static_cast<int>(j.x), static_cast<int>(j.y)}, 2, {255, 255, 255}, -1);
        const std::string key = "img" + std::to_string(i);
        write_png(dir / "images" / (key + ".png"), img);
        const std::string caption = i % 2 ? "a person dancing" : "a person standing in a room";
        if (format == "humansd") {
            HumansdPerson person;
            person.keypoints = joints;
            person.score = 0.9f;
            person.area = 100.0f;
            write_humansd_npz(dir / "pose" / (key + ".npz"), {person});
            mapping[key] = {{"img_path", "images/" + key + ".png"}, {"pose_path", "pose/" + key + ".npz"}, {"prompt", caption}};
        } else {
            nlohmann::json people = nlohmann::json::array();
            nlohmann::json person = nlohmann::json::array();
            for (const auto& j : joints) person.push_back({j.x, j.y, j.confidence});
            people.push_back(person);
            manifest << nlohmann::json{{"image", "images/" + key + ".png"}, {"caption", caption}, {"people", people}}.dump()
                     << "\n";
        }
    }
    if (format == "humansd") {
        std::ofstream(dir / "mapping_file_training.json") << mapping.dump(1);
        return dir / "mapping_file_training.json";
    }
    return dir / "manifest.jsonl";
}

// The LAION-Human preset at 64x64 on the CPU with the tiny adapter of tests/sample/pipeline_test.cpp.
inline std::vector<std::string> tiny_overrides() {
    return {"adapter.pose_channels=32",       "adapter.vit.dim=64",         "adapter.vit.dim_head=16",
            "adapter.vit.heads=4",            "adapter.vit.mlp_dim=64",     "adapter.vit.reduced_channels=16",
            "data.augment.width=64",          "data.augment.height=64",     "data.batch_size=2",
            "data.workers=2",                 "train.device=cpu",       "train.max_steps=4",
            "checkpoint.every=2",             "log.every=1",                "log.progress=false"};
}

inline TrainConfig tiny_config(std::vector<std::string> extra = {}) {
    auto overrides = tiny_overrides();
    overrides.insert(overrides.end(), extra.begin(), extra.end());
    return load_train_config(fs::path(STABLEPOSE_CONFIGS_DIR) / "sd15_stable_pose_laion_human.json", overrides);
}

// A run of the tiny SD on `data` into `out`, and hooks without console output.
inline TrainPaths paths_for(const fs::path& data, const fs::path& out) {
    TrainPaths p;
    p.model_dir = tiny_sd_dir();
    p.data = data;
    p.out_dir = out;
    return p;
}

inline TrainHooks quiet() {
    TrainHooks h;
    h.console = false;
    return h;
}

inline std::map<std::string, torch::Tensor> weights(const fs::path& file) { return read_safetensors(file).tensors; }

}  // namespace stablepose::testing
