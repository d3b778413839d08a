// Forward kinematics of the toy-world mannequin (a hand-built joint hierarchy, no reference implementation).
#include "stablepose/toyworld/skeleton3d.h"

#include <cmath>
#include <numbers>

#include "stablepose/toyworld/random.h"

namespace stablepose::toyworld {
namespace {

constexpr double kDeg = std::numbers::pi / 180.0;
const cv::Vec3d kDown{0, -1, 0};
const cv::Vec3d kForward{0, 0, 1};

cv::Vec3d unit(double x, double y, double z) { return cv::normalize(cv::Vec3d{x, y, z}); }

// Head-sphere directions of the face keypoints in the head frame (x = the person's left).
const cv::Vec3d kNoseDir = unit(0, -0.1, 1);
const cv::Vec3d kLeftEyeDir = unit(0.35, 0.2, 0.915);
const cv::Vec3d kLeftEarDir = unit(1, 0, -0.05);

cv::Vec3d mirror(const cv::Vec3d& v) { return {-v[0], v[1], v[2]}; }

double wrap_degrees(double deg) {
    double d = std::fmod(deg, 360.0);
    if (d <= -180.0) d += 360.0;
    if (d > 180.0) d -= 360.0;
    return d;
}

ArmAngles random_arm(Random& rng) {
    ArmAngles a;
    const double band = rng.uniform();
    a.elevation = band < 0.4 ? rng.uniform(0, 40) : band < 0.75 ? rng.uniform(40, 110) : rng.uniform(110, 170);
    a.plane = rng.uniform(-30, 100);
    a.twist = rng.uniform(-60, 70);
    a.elbow = rng.bernoulli(0.4) ? rng.uniform(0, 30) : rng.uniform(30, 140);
    return a;
}

LegAngles supporting_leg(Random& rng) {
    return {rng.uniform(-12, 20), rng.uniform(0, 15), rng.uniform(0, 25), rng.uniform(0, 20)};
}

LegAngles free_leg(Random& rng) {
    LegAngles l;
    const double kind = rng.uniform();
    if (kind < 0.5) {  // standing
        l.flexion = rng.uniform(-20, 30), l.knee = rng.uniform(0, 40);
    } else if (kind < 0.8) {  // stepping
        l.flexion = rng.uniform(-30, 55), l.knee = rng.uniform(0, 70);
    } else {  // raised: a kick or a knee lift
        l.flexion = rng.uniform(50, 95), l.knee = rng.uniform(20, 120);
    }
    l.abduction = rng.uniform(0, 35);
    l.rotation = rng.uniform(-10, 30);
    return l;
}

}  // namespace

cv::Matx33d rotation_x(double deg) {
    const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
    return {1, 0, 0, 0, c, -s, 0, s, c};
}
cv::Matx33d rotation_y(double deg) {
    const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
    return {c, 0, s, 0, 1, 0, -s, 0, c};
}
cv::Matx33d rotation_z(double deg) {
    const double c = std::cos(deg * kDeg), s = std::sin(deg * kDeg);
    return {c, -s, 0, s, c, 0, 0, 0, 1};
}

std::string view_name(View view) {
    switch (view) {
        case View::kFront: return "front";
        case View::kSide: return "side";
        case View::kBack: return "back";
    }
    return "unknown";
}

View classify_view(double yaw_deg) {
    const double a = std::abs(wrap_degrees(yaw_deg));
    if (a < 45.0) return View::kFront;
    if (a > 135.0) return View::kBack;
    return View::kSide;
}

double random_yaw(View view, Random& rng) {
    switch (view) {
        case View::kFront: return rng.uniform(-35, 35);
        case View::kSide: return (rng.bernoulli(0.5) ? 90.0 : -90.0) + rng.uniform(-25, 25);
        case View::kBack: return wrap_degrees(180.0 + rng.uniform(-35, 35));
    }
    return 0.0;
}

PoseAngles random_pose_angles(Random& rng) {
    PoseAngles p;
    p.torso_pitch = rng.uniform(-8, 22);
    p.torso_roll = rng.uniform(-10, 10);
    p.torso_twist = rng.uniform(-20, 20);
    p.head_yaw = rng.uniform(-35, 35);
    p.head_pitch = rng.uniform(-20, 20);
    p.head_roll = rng.uniform(-15, 15);
    p.arms[0] = random_arm(rng);
    p.arms[1] = random_arm(rng);
    const int support = rng.uniform_int(0, 1);
    p.legs[support] = supporting_leg(rng);
    p.legs[1 - support] = free_leg(rng);
    return p;
}

Skeleton3d pose_skeleton(const PoseAngles& a, double yaw_deg, const BodyShape& b) {
    Skeleton3d s;
    s.yaw_deg = yaw_deg;
    const cv::Matx33d body = rotation_y(yaw_deg);
    s.chest = body * rotation_y(a.torso_twist) * rotation_x(a.torso_pitch) * rotation_z(a.torso_roll);
    s.head = s.chest * rotation_y(a.head_yaw) * rotation_x(a.head_pitch) * rotation_z(a.head_roll);
    s.pelvis = {0, 0, 0};
    s.neck = s.chest * cv::Vec3d{0, b.pelvis_to_neck, 0};
    s.head_centre = s.neck + s.head * cv::Vec3d{0, b.neck_to_head_centre, 0};

    auto& k = s.coco;
    k[0] = s.head_centre + s.head * (kNoseDir * b.head_radius);
    k[1] = s.head_centre + s.head * (kLeftEyeDir * b.head_radius);
    k[2] = s.head_centre + s.head * (mirror(kLeftEyeDir) * b.head_radius);
    k[3] = s.head_centre + s.head * (kLeftEarDir * b.head_radius);
    k[4] = s.head_centre + s.head * (mirror(kLeftEarDir) * b.head_radius);

    for (int side = 0; side < 2; ++side) {
        const double sg = side == 0 ? 1.0 : -1.0;  // the person's left is body +x
        const ArmAngles& arm = a.arms[side];
        const cv::Vec3d shoulder = s.chest * cv::Vec3d{sg * b.shoulder_half_width, b.shoulder_height, 0};
        const cv::Matx33d upper = s.chest * rotation_y(-sg * arm.plane) * rotation_z(sg * arm.elevation) *
                                  rotation_y(sg * (arm.plane + arm.twist));
        const cv::Vec3d elbow = shoulder + upper * kDown * b.upper_arm;
        const cv::Vec3d forearm_dir = upper * rotation_x(-arm.elbow) * kDown;
        const cv::Vec3d wrist = elbow + forearm_dir * b.forearm;
        s.hands[side] = wrist + forearm_dir * (b.hand_radius * 1.1);
        k[5 + side] = shoulder;
        k[7 + side] = elbow;
        k[9 + side] = wrist;

        const LegAngles& leg = a.legs[side];
        const cv::Vec3d hip = body * cv::Vec3d{sg * b.hip_half_width, -b.hip_drop, 0};
        const cv::Matx33d thigh =
            body * rotation_z(sg * leg.abduction) * rotation_x(-leg.flexion) * rotation_y(sg * leg.rotation);
        const cv::Vec3d knee = hip + thigh * kDown * b.thigh;
        const cv::Matx33d shin = thigh * rotation_x(leg.knee);
        const cv::Vec3d shin_dir = shin * kDown;
        const cv::Vec3d ankle = knee + shin_dir * b.shin;
        // The foot starts below the ankle, so a foot pointing at the camera does not hide the ankle.
        s.heels[side] = ankle + shin_dir * (b.foot_radius * 1.1);
        s.toes[side] = s.heels[side] + shin * kForward * b.foot_length;
        k[11 + side] = hip;
        k[13 + side] = knee;
        k[15 + side] = ankle;
    }
    return s;
}

}  // namespace stablepose::toyworld
