// HumanSD pose files: `.npz` holding arr_0.npy, a numpy object array of MMPose result dicts
// {'keypoints': float32 17x3 (x, y, confidence), 'score': float32, 'area': float32} (stable-pose.md §11.2).
// Reference: HumanSD / Stable-Pose `ldm/data/dataset_pose.py` (np.load(..., allow_pickle=True)['arr_0']).
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "stablepose/pose/pose.h"

namespace stablepose {

inline constexpr int kHumansdJoints = 17;  // COCO-17 order

// One person as MMPose writes it: keypoints in original-image pixels, exactly as stored (no threshold, no
// clipping; the loader semantics of §11.3 are applied by the transforms).
struct HumansdPerson {
    std::array<Joint, kHumansdJoints> keypoints;
    std::optional<float> score;  // absent when the dict has no 'score' (the official loader never reads it)
    std::optional<float> area;
};

// Parses the bytes of a .npz file (stored or deflate). Accepts exactly the pickle subset of §11.2 (plus the
// variants the same writer emits, docs/data.md) and the zero-person file np.savez(path, []) writes
// (a float64 array of shape (0,)). Throws Error naming `source` for anything else.
std::vector<HumansdPerson> parse_humansd_npz(std::span<const uint8_t> bytes, const std::string& source);
std::vector<HumansdPerson> read_humansd_people(const std::filesystem::path& path);

// The people of a pose file as a Pose of the given image size (0 when unknown), 17 joints each, values as
// stored. Throws Error naming the file for a missing, corrupt or refused file.
Pose read_humansd_npz(const std::filesystem::path& path, int image_width, int image_height);
Pose parse_humansd_npz_pose(std::span<const uint8_t> bytes, const std::string& source, int image_width,
                            int image_height);

// The .npy bytes numpy writes for np.array(people) (object array; header as numpy 2 writes it) with the
// pickle in protocol 3 and the module path numpy 1.x used (numpy.core.multiarray), as in HumanSD's files.
// Keypoints, score and area are float32; a person without score or area gets 0.
std::string humansd_npy_bytes(const std::vector<HumansdPerson>& people);
// A stored .npz with arr_0.npy = humansd_npy_bytes(people), written atomically. np.load(path,
// allow_pickle=True)['arr_0'] reads it back.
void write_humansd_npz(const std::filesystem::path& path, const std::vector<HumansdPerson>& people);

}  // namespace stablepose
