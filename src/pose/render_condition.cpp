#include "stablepose/pose/render_condition.h"

#include <charconv>

#include <nlohmann/json.hpp>
#include <opencv2/imgproc.hpp>
#include <spdlog/spdlog.h>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"
#include "stablepose/io/image_io.h"
#include "stablepose/pose/pose_json.h"

namespace stablepose {
namespace {

// Tints the latent cells of each mask over the skeleton, coarse (first) faint, fine (last) strong.
cv::Mat masks_preview(const cv::Mat& skeleton, const torch::Tensor& masks, int64_t batch) {
    cv::Mat preview;
    skeleton.convertTo(preview, CV_32FC3);
    const int kernels = static_cast<int>(masks.size(0) / batch);
    for (int k = 0; k < kernels; ++k) {
        cv::Mat cells = mask_to_image(masks[k * batch]), upsampled;
        cv::resize(cells, upsampled, skeleton.size(), 0, 0, cv::INTER_NEAREST);
        const float strength = kernels == 1 ? 0.5f : 0.25f + 0.35f * k / (kernels - 1);
        cv::Mat tint(skeleton.size(), CV_32FC3, cv::Scalar(255, 255, 255));
        cv::Mat blended;
        cv::addWeighted(preview, 1.0f - strength, tint, strength, 0.0, blended);
        blended.copyTo(preview, upsampled);
    }
    cv::Mat out;
    preview.convertTo(out, CV_8UC3);
    return out;
}

int count_drawn(const Pose& pose, const SkeletonStyle& style) {
    int drawn = 0;
    for (int p = 0; p < std::min<int>(static_cast<int>(pose.people.size()), style.max_people); ++p)
        drawn += person_is_drawn(pose.people[p]);
    return drawn;
}

}  // namespace

std::pair<int, int> parse_image_size(const std::string& text) {
    const auto x = text.find('x');
    auto parse = [&](std::string_view s, int& v) {
        auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        return ec == std::errc() && ptr == s.data() + s.size() && v > 0;
    };
    int w = 0, h = 0;
    if (x == std::string::npos || !parse(std::string_view(text).substr(0, x), w) ||
        !parse(std::string_view(text).substr(x + 1), h))
        fail("bad image size '" + text + "'", "WIDTHxHEIGHT with positive integers, e.g. 512x512", text);
    return {w, h};
}

RenderConditionResult render_condition(const RenderConditionRequest& request) {
    request.masks.validate();
    const PoseFile file = read_pose_json(request.pose_file);
    Pose pose = file.pose;
    if (request.size) {
        const auto [w, h] = *request.size;
        if (w <= 0 || h <= 0) fail("render: image size must be positive", "WIDTHxHEIGHT > 0", std::to_string(w) + "x" + std::to_string(h));
        pose = pose.resized(w, h);
    }
    constexpr int kMaxSide = 8192;  // SD samples at 512-1024; a typo like 100000x100000 would exhaust memory
    if (pose.width > kMaxSide || pose.height > kMaxSide)
        fail("render: image size too large", "width and height <= " + std::to_string(kMaxSide),
             std::to_string(pose.width) + "x" + std::to_string(pose.height), "pass a smaller --size");
    const int f = request.masks.latent_factor;
    if (pose.width % f != 0 || pose.height % f != 0)
        fail("render: the image size must be a multiple of " + std::to_string(f) + " for the latent masks",
             "width and height divisible by " + std::to_string(f),
             std::to_string(pose.width) + "x" + std::to_string(pose.height),
             "pass --size, e.g. --size 512x512 (keypoints are scaled to it)");
    cv::Mat photo;
    if (request.image) {
        photo = read_image_rgb(*request.image);
        cv::resize(photo, photo, cv::Size(pose.width, pose.height), 0, 0, cv::INTER_AREA);
    }
    if (static_cast<int>(pose.people.size()) > request.style.max_people)
        spdlog::warn("{}: {} people, only the first {} are drawn (max_people)", request.pose_file.string(),
                     pose.people.size(), request.style.max_people);

    const cv::Mat skeleton = render_skeleton(pose, file.schema, request.style);
    const auto masks = build_pose_masks(rgb_to_tensor(skeleton).unsqueeze(0), request.masks);  // [K, h, w]

    RenderConditionResult result;
    result.people_total = static_cast<int>(pose.people.size());
    result.people_drawn = count_drawn(pose, request.style);
    auto save_png = [&](const std::string& name, const cv::Mat& image) {
        write_png(request.output_dir / name, image);
        result.written.push_back(request.output_dir / name);
    };
    save_png("skeleton.png", skeleton);
    nlohmann::json mask_info = nlohmann::json::array();
    for (size_t k = 0; k < request.masks.gaussian_kernels.size(); ++k) {
        const int kernel = request.masks.gaussian_kernels[k];
        const auto name = "mask_k" + std::to_string(kernel) + ".png";
        save_png(name, mask_to_image(masks[k]));
        result.mask_cells.push_back(masks[k].sum().item<int64_t>());
        mask_info.push_back({{"kernel", kernel}, {"file", name}, {"foreground_cells", result.mask_cells.back()},
                             {"grid", {masks.size(2), masks.size(1)}}, {"vit_layer", k}});
    }
    save_png("masks_preview.png", masks_preview(skeleton, masks, 1));
    save_png("joints.png", draw_joint_overlay(photo.empty() ? skeleton : photo, pose, file.schema, request.style));

    const nlohmann::json info = {
        {"pose_file", request.pose_file.string()},
        {"schema", file.schema.name},
        {"size", {pose.width, pose.height}},
        {"people", result.people_total},
        {"people_drawn", result.people_drawn},
        {"line_width", request.style.line_width},
        {"confidence_threshold", request.style.confidence_threshold},
        {"max_people", request.style.max_people},
        {"mask_threshold", request.masks.threshold},
        {"sigma", request.masks.sigma},
        {"latent_factor", f},
        {"masks", mask_info}};
    write_file_atomic(request.output_dir / "condition.json", info.dump(2) + "\n");
    result.written.push_back(request.output_dir / "condition.json");
    return result;
}

}  // namespace stablepose
