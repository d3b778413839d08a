// Our keypoint JSON format (docs/pose_format.md): strict reading with errors naming file, person and joint.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json_fwd.hpp>

#include "stablepose/pose/keypoint_schema.h"
#include "stablepose/pose/pose.h"

namespace stablepose {

inline constexpr const char* kPoseFormatName = "stablepose.pose";
inline constexpr int kPoseFormatVersion = 1;

struct PoseFile {
    KeypointSchema schema;
    Pose pose;
};

struct PoseReadOptions {
    bool allow_no_people = false;  // an empty "people" list is an error unless asked for
};

// Parses and validates; every error names `source` (the file) and, where it applies, person and joint.
PoseFile parse_pose_json(const std::string& text, const std::string& source, const PoseReadOptions& options = {});
PoseFile read_pose_json(const std::filesystem::path& path, const PoseReadOptions& options = {});

nlohmann::json pose_to_json(const Pose& pose, const std::string& schema_name);
// Written atomically (temporary file, then rename).
void write_pose_json(const std::filesystem::path& path, const Pose& pose, const std::string& schema_name);

}  // namespace stablepose
