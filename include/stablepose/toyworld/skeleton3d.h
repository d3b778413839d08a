// The toy world's 3-D mannequin skeleton: joint angles within plausible limits, forward kinematics, views.
// Frames: the body frame has x = the person's left, y = up, z = the person's forward; the camera frame has
// x = image right, y = image up, z = toward the camera. Yaw turns the body about y: yaw 0 faces the camera
// (the person's left on the image right), yaw 90 faces the image right, yaw 180 shows the back.
#pragma once

#include <array>
#include <string>

#include <opencv2/core/matx.hpp>

namespace stablepose::toyworld {

class Random;

enum class View { kFront, kSide, kBack };
std::string view_name(View view);  // "front", "side", "back"
// |yaw| < 45 degrees: front; |yaw| > 135: back; otherwise side (yaw taken modulo 360).
View classify_view(double yaw_deg);
// A yaw of the given view, drawn away from the class borders (front within 35 degrees of 0, side within
// 25 of +-90, back within 35 of 180) so that views stay unambiguous.
double random_yaw(View view, Random& rng);

// One arm, degrees. elevation: raise from hanging (0) through horizontal (90) to overhead (up to 170);
// plane: the direction it is raised in, 0 = sideways, 90 = forwards, negative = backwards; twist: about
// the upper arm, positive turns the elbow's bend outwards; elbow: 0 = straight, bends the forearm forwards.
struct ArmAngles {
    double elevation = 8, plane = 0, twist = 0, elbow = 10;
};
// One leg, degrees. flexion: the thigh forwards (negative: backwards); abduction: outwards; rotation: the
// toes outwards; knee: 0 = straight, bends the shin backwards.
struct LegAngles {
    double flexion = 0, abduction = 4, rotation = 8, knee = 4;
};

// A whole pose, degrees. Index 0 of arms/legs is the person's left side, index 1 the right.
struct PoseAngles {
    double torso_pitch = 0;  // forward lean
    double torso_roll = 0;   // sideways lean, positive towards the person's right
    double torso_twist = 0;  // chest turned to the person's left
    double head_yaw = 0, head_pitch = 0, head_roll = 0;  // relative to the chest; pitch > 0 nods down
    std::array<ArmAngles, 2> arms;
    std::array<LegAngles, 2> legs;
};

// Random angles within the limits documented in docs/toyworld.md: one supporting leg stays close to
// straight so the figure stands, walks, kicks, waves or reaches rather than floats in a crouch.
PoseAngles random_pose_angles(Random& rng);

// Segment lengths and radii in model units (a standing figure is about 1.8 tall).
struct BodyShape {
    double pelvis_to_neck = 0.52, shoulder_height = 0.46, shoulder_half_width = 0.19, hip_half_width = 0.1;
    double hip_drop = 0.05, neck_to_head_centre = 0.17, head_radius = 0.13;
    double upper_arm = 0.29, forearm = 0.26, thigh = 0.43, shin = 0.42;
    double torso_radius = 0.1;  // half the chest's depth
    double upper_arm_radius = 0.058, forearm_radius = 0.046, hand_radius = 0.048;
    double thigh_radius = 0.08, shin_radius = 0.058, foot_radius = 0.042, foot_length = 0.15;
    double neck_radius = 0.05;
};

// Joint positions in the camera frame (model units, origin at the pelvis).
struct Skeleton3d {
    std::array<cv::Vec3d, 17> coco;   // COCO-17 order; nose, eyes and ears lie on the head sphere
    cv::Vec3d pelvis, neck, head_centre;
    std::array<cv::Vec3d, 2> hands;   // hand centres, [left, right]
    std::array<cv::Vec3d, 2> heels, toes;
    cv::Matx33d chest;                // body frame -> camera frame of the chest (yaw included)
    cv::Matx33d head;                 // the same for the head
    double yaw_deg = 0;
};

// Forward kinematics: angles and yaw -> joint positions (orthographic camera looking down -z).
Skeleton3d pose_skeleton(const PoseAngles& angles, double yaw_deg, const BodyShape& shape = {});

// Rotations about the camera/body axes, degrees (right-handed).
cv::Matx33d rotation_x(double deg);
cv::Matx33d rotation_y(double deg);
cv::Matx33d rotation_z(double deg);

}  // namespace stablepose::toyworld
