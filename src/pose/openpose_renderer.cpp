#include "stablepose/pose/openpose_renderer.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

constexpr int kJoints = 18;
constexpr int kStickWidth = 4;

// controlnet_aux's colour table: joint i and limb i share colours[i].
const std::vector<Rgb>& openpose_colours() {
    static const std::vector<Rgb> colours = {
        {255, 0, 0},   {255, 85, 0},  {255, 170, 0}, {255, 255, 0}, {170, 255, 0}, {85, 255, 0},
        {0, 255, 0},   {0, 255, 85},  {0, 255, 170}, {0, 255, 255}, {0, 170, 255}, {0, 85, 255},
        {0, 0, 255},   {85, 0, 255},  {170, 0, 255}, {255, 0, 255}, {255, 0, 170}, {255, 0, 85}};
    return colours;
}

KeypointSchema make_openpose18() {
    KeypointSchema s;
    s.name = "openpose18";
    s.joint_names = {"nose",       "neck",       "right_shoulder", "right_elbow", "right_wrist", "left_shoulder",
                     "left_elbow", "left_wrist", "right_hip",      "right_knee",  "right_ankle", "left_hip",
                     "left_knee",  "left_ankle", "right_eye",      "left_eye",    "right_ear",   "left_ear"};
    // limbSeq of draw_bodypose (1-based there), in draw order.
    const int limbs[17][2] = {{2, 3},   {2, 6},   {3, 4},   {4, 5},   {6, 7},  {7, 8},  {2, 9},   {9, 10}, {10, 11},
                              {2, 12},  {12, 13}, {13, 14}, {2, 1},   {1, 15}, {15, 17}, {1, 16}, {16, 18}};
    for (int i = 0; i < 17; ++i) s.limbs.push_back({limbs[i][0] - 1, limbs[i][1] - 1, openpose_colours()[i]});
    s.flip_pairs = {{5, 2}, {6, 3}, {7, 4}, {11, 8}, {12, 9}, {13, 10}, {15, 14}, {17, 16}};
    return s;
}

bool present(const Joint& j, float threshold) { return !(j == Joint::missing()) && j.confidence > threshold; }

}  // namespace

const KeypointSchema& openpose18_schema() {
    static const KeypointSchema schema = [] {
        auto s = make_openpose18();
        s.validate();
        return s;
    }();
    return schema;
}

Pose coco17_to_openpose18(const Pose& coco, float confidence_threshold) {
    // OpenPose index -> COCO index (-1: the neck).
    static const int from_coco[kJoints] = {0, -1, 6, 8, 10, 5, 7, 9, 12, 14, 16, 11, 13, 15, 2, 1, 4, 3};
    Pose out{coco.width, coco.height, {}};
    for (const auto& person : coco.people) {
        if (person.joints.size() != 17)
            fail("OpenPose conversion: a COCO-17 person", "17 joints", std::to_string(person.joints.size()));
        Person p;
        for (int k = 0; k < kJoints; ++k) {
            if (from_coco[k] >= 0) {
                const auto& j = person.joints[from_coco[k]];
                p.joints.push_back(present(j, confidence_threshold) ? j : Joint::missing());
                continue;
            }
            const auto& l = person.joints[5];
            const auto& r = person.joints[6];
            p.joints.push_back(present(l, confidence_threshold) && present(r, confidence_threshold)
                                   ? Joint{(l.x + r.x) / 2, (l.y + r.y) / 2, std::min(l.confidence, r.confidence)}
                                   : Joint::missing());
        }
        out.people.push_back(std::move(p));
    }
    return out;
}

cv::Mat render_openpose_skeleton(const Pose& pose, float confidence_threshold) {
    const auto& schema = openpose18_schema();
    cv::Mat canvas(pose.height, pose.width, CV_8UC3, cv::Scalar(0, 0, 0));
    const double w = pose.width, h = pose.height;
    for (const auto& person : pose.people) {
        if (static_cast<int>(person.joints.size()) != kJoints)
            fail("OpenPose renderer: an OpenPose-18 person", "18 joints", std::to_string(person.joints.size()),
                 "convert COCO-17 keypoints with coco17_to_openpose18");
        // controlnet_aux takes normalised coordinates and multiplies them by the size again.
        auto px = [&](const Joint& j) { return cv::Point2d(j.x / w * w, j.y / h * h); };
        for (const auto& limb : schema.limbs) {
            const auto& a = person.joints[limb.a];
            const auto& b = person.joints[limb.b];
            if (!present(a, confidence_threshold) || !present(b, confidence_threshold)) continue;
            const auto pa = px(a), pb = px(b);
            const double mean_x = (pa.x + pb.x) / 2, mean_y = (pa.y + pb.y) / 2;
            const double length = std::sqrt((pa.y - pb.y) * (pa.y - pb.y) + (pa.x - pb.x) * (pa.x - pb.x));
            const double angle = std::atan2(pa.y - pb.y, pa.x - pb.x) * (180.0 / M_PI);  // math.degrees
            std::vector<cv::Point> polygon;
            cv::ellipse2Poly(cv::Point(static_cast<int>(mean_x), static_cast<int>(mean_y)),
                             cv::Size(static_cast<int>(length / 2), kStickWidth), static_cast<int>(angle), 0, 360, 1,
                             polygon);
            const auto& c = limb.colour;
            cv::fillConvexPoly(canvas, polygon,
                               cv::Scalar(static_cast<int>(c.r * 0.6), static_cast<int>(c.g * 0.6),
                                          static_cast<int>(c.b * 0.6)));
        }
        for (int k = 0; k < kJoints; ++k) {
            const auto& j = person.joints[k];
            if (!present(j, confidence_threshold)) continue;
            const auto p = px(j);
            const auto& c = openpose_colours()[k];
            cv::circle(canvas, cv::Point(static_cast<int>(p.x), static_cast<int>(p.y)), 4, cv::Scalar(c.r, c.g, c.b),
                       -1);
        }
    }
    return canvas;
}

}  // namespace stablepose
