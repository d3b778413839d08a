#include "stablepose/pose/skeleton_renderer.h"

#include <algorithm>
#include <string>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"
#include "stablepose/io/image_io.h"

namespace stablepose {
namespace {

bool joint_is_drawable(const Joint& k, float threshold) {
    return static_cast<int>(k.x) != -1 && static_cast<int>(k.y) != -1 && k.confidence > threshold;
}

cv::Point pixel(const Joint& k) { return {static_cast<int>(k.x), static_cast<int>(k.y)}; }

void check_style(const Pose& pose, const KeypointSchema& schema, const SkeletonStyle& style) {
    pose.validate(schema, "render");
    if (style.line_width < 1) fail("render: line width must be positive", ">= 1", std::to_string(style.line_width));
    if (style.max_people < 0) fail("render: max_people must not be negative", ">= 0", std::to_string(style.max_people));
}

}  // namespace

bool person_is_drawn(const Person& person) {
    double sum = 0.0;
    for (const auto& k : person.joints) sum += static_cast<double>(k.x) + k.y + k.confidence;
    return sum > 0.0;
}

cv::Mat render_skeleton(const Pose& pose, const KeypointSchema& schema, const SkeletonStyle& style) {
    check_style(pose, schema, style);
    cv::Mat canvas = cv::Mat::zeros(pose.height, pose.width, CV_8UC3);
    const int people = std::min<int>(static_cast<int>(pose.people.size()), style.max_people);
    for (int p = 0; p < people; ++p) {
        const auto& person = pose.people[p];
        if (!person_is_drawn(person)) continue;
        for (const auto& limb : schema.limbs) {
            const Joint& a = person.joints[limb.a];
            const Joint& b = person.joints[limb.b];
            if (!joint_is_drawable(a, style.confidence_threshold) || !joint_is_drawable(b, style.confidence_threshold))
                continue;
            const cv::Scalar colour(limb.colour.r, limb.colour.g, limb.colour.b);  // canvas is RGB
            cv::line(canvas, pixel(a), pixel(b), colour, style.line_width, cv::LINE_8);
            cv::circle(canvas, pixel(a), style.line_width / 2, colour, cv::FILLED, cv::LINE_8);
            cv::circle(canvas, pixel(b), style.line_width / 2, colour, cv::FILLED, cv::LINE_8);
        }
    }
    return canvas;
}

torch::Tensor render_skeleton_tensor(const Pose& pose, const KeypointSchema& schema, const SkeletonStyle& style) {
    return rgb_to_tensor(render_skeleton(pose, schema, style));
}

cv::Mat draw_joint_overlay(const cv::Mat& base, const Pose& pose, const KeypointSchema& schema,
                           const SkeletonStyle& style) {
    check_style(pose, schema, style);
    if (base.type() != CV_8UC3 || base.cols != pose.width || base.rows != pose.height)
        fail("joint overlay: the base image must be RGB at the pose's size",
             std::to_string(pose.width) + "x" + std::to_string(pose.height) + " RGB",
             std::to_string(base.cols) + "x" + std::to_string(base.rows) + " with " +
                 std::to_string(base.channels()) + " channels");
    cv::Mat out = base.clone();
    const auto colours = hls_palette(schema.num_joints());
    const int radius = std::max(2, std::min(pose.width, pose.height) / 128);
    const int people = std::min<int>(static_cast<int>(pose.people.size()), style.max_people);
    for (int p = 0; p < people; ++p)
        for (int j = 0; j < schema.num_joints(); ++j) {
            const Joint& k = pose.people[p].joints[j];
            if (!joint_is_drawable(k, style.confidence_threshold)) continue;
            const cv::Scalar colour(colours[j].r, colours[j].g, colours[j].b);
            cv::circle(out, pixel(k), radius + 1, cv::Scalar(20, 20, 20), cv::FILLED, cv::LINE_AA);
            cv::circle(out, pixel(k), radius, colour, cv::FILLED, cv::LINE_AA);
            cv::putText(out, std::to_string(j), pixel(k) + cv::Point(radius + 2, -radius - 2),
                        cv::FONT_HERSHEY_SIMPLEX, 0.3, cv::Scalar(255, 255, 255), 1, cv::LINE_AA);
        }
    return out;
}

}  // namespace stablepose
