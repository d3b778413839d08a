#include "stablepose/pose/pose_json.h"

#include <algorithm>
#include <cmath>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"

namespace stablepose {
namespace {

using nlohmann::json;

const char* kHintFormat = "see docs/pose_format.md for the keypoint JSON format";

void check_keys(const json& object, const std::vector<std::string>& allowed, const std::string& where) {
    for (const auto& [key, value] : object.items())
        if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
            std::string list;
            for (const auto& a : allowed) list += (list.empty() ? "" : ", ") + a;
            fail(where + ": unknown key '" + key + "'", "only the keys " + list, key, kHintFormat);
        }
}

int positive_int(const json& object, const char* key, const std::string& where) {
    if (!object.contains(key)) fail(where + ": missing \"" + key + "\"", "a positive integer", "nothing", kHintFormat);
    const auto& v = object[key];
    if (!v.is_number_integer() || v.get<long long>() <= 0 || v.get<long long>() > 1 << 20)
        fail(where + ": \"" + std::string(key) + "\" must be a positive integer (image pixels)",
             "an integer in [1, 1048576]", v.dump());
    return v.get<int>();
}

float finite_number(const json& v, const std::string& where) {
    if (!v.is_number())
        fail(where + " is not a number", "a finite number", v.dump(), "mark a missing joint as [-1, -1, 0]");
    const double d = v.get<double>();
    if (!std::isfinite(d)) fail(where + " is not finite", "a finite number", v.dump());
    return static_cast<float>(d);
}

Person parse_person(const json& person, const KeypointSchema& schema, const std::string& where) {
    if (!person.is_object()) fail(where + " must be an object", "{\"keypoints\": [[x, y, c], ...]}", person.dump());
    check_keys(person, {"keypoints"}, where);
    if (!person.contains("keypoints")) fail(where + ": missing \"keypoints\"", "[[x, y, c], ...]", "nothing", kHintFormat);
    const auto& kps = person["keypoints"];
    const int num_joints = schema.num_joints();
    const auto expected = std::to_string(num_joints) + " [x, y, confidence] triples (schema " + schema.name +
                          "), or a flat list of " + std::to_string(3 * num_joints) + " numbers";
    if (!kps.is_array()) fail(where + ": \"keypoints\" must be a list", expected, kps.dump());
    const bool flat = !kps.empty() && !kps[0].is_array();
    const size_t count = flat ? kps.size() / 3 : kps.size();
    if ((flat && kps.size() % 3 != 0) || static_cast<int>(count) != num_joints)
        fail(where + ": wrong number of keypoints", expected,
             std::to_string(kps.size()) + (flat ? " numbers" : " entries"));
    Person out;
    out.joints.resize(num_joints);
    for (int j = 0; j < num_joints; ++j) {
        const std::string joint_where = where + ", joint " + std::to_string(j) + " (" + schema.joint_names[j] + ")";
        const json triple = flat ? json::array({kps[3 * j], kps[3 * j + 1], kps[3 * j + 2]}) : kps[j];
        if (!triple.is_array() || triple.size() != 3)
            fail(joint_where + " must be [x, y, confidence]", "3 numbers", triple.dump());
        out.joints[j] = {finite_number(triple[0], joint_where + " x"), finite_number(triple[1], joint_where + " y"),
                         finite_number(triple[2], joint_where + " confidence")};
    }
    return out;
}

}  // namespace

PoseFile parse_pose_json(const std::string& text, const std::string& source, const PoseReadOptions& options) {
    json root;
    try {
        root = json::parse(text);
    } catch (const json::parse_error& e) {
        const bool has_nan = text.find("NaN") != std::string::npos || text.find("Infinity") != std::string::npos;
        fail(source + ": not valid JSON", "a JSON object in the stablepose.pose format", e.what(),
             has_nan ? "JSON has no NaN or Infinity (Python's json.dump writes them for float('nan')); "
                       "write a missing joint as [-1, -1, 0]"
                     : kHintFormat);
    } catch (const json::exception& e) {  // out_of_range 406: a number beyond double, e.g. 1e400
        fail(source + ": not valid JSON", "a JSON object in the stablepose.pose format, with finite numbers",
             e.what(), kHintFormat);
    }
    if (!root.is_object()) fail(source + ": the top level must be an object", "{\"format\": ...}", root.type_name());
    check_keys(root, {"format", "version", "schema", "width", "height", "people"}, source);
    if (root.value("format", std::string()) != kPoseFormatName)
        fail(source + ": not a stablepose pose file", std::string("\"format\": \"") + kPoseFormatName + "\"",
             root.contains("format") ? root["format"].dump() : "no \"format\" key", kHintFormat);
    if (root.value("version", 0) != kPoseFormatVersion)
        fail(source + ": unsupported pose format version", std::to_string(kPoseFormatVersion),
             root.contains("version") ? root["version"].dump() : "none");

    PoseFile out;
    std::string schema_name = root.value("schema", std::string("coco17"));
    if (schema_name.ends_with(".json")) {
        const std::filesystem::path schema_path(schema_name);
        if (schema_path.is_relative()) schema_name = (std::filesystem::path(source).parent_path() / schema_path).string();
    }
    out.schema = load_schema(schema_name);
    out.pose.width = positive_int(root, "width", source);
    out.pose.height = positive_int(root, "height", source);
    if (!root.contains("people") || !root["people"].is_array())
        fail(source + ": \"people\" must be a list of people", "[{\"keypoints\": ...}, ...]",
             root.contains("people") ? root["people"].dump() : "nothing");
    const auto& people = root["people"];
    if (people.empty() && !options.allow_no_people)
        fail(source + ": the person list is empty", "at least one person",
             "\"people\": []", "a pose without people conditions on nothing; remove the file or add a person");
    for (size_t p = 0; p < people.size(); ++p)
        out.pose.people.push_back(parse_person(people[p], out.schema, source + ": person " + std::to_string(p)));
    out.pose.validate(out.schema, source);
    return out;
}

PoseFile read_pose_json(const std::filesystem::path& path, const PoseReadOptions& options) {
    std::ifstream in(path, std::ios::binary);
    if (!in || std::filesystem::is_directory(path))  // a folder opens as an empty stream on Linux
        fail("cannot read pose file '" + path.string() + "'", "a readable keypoint JSON file",
             std::filesystem::is_directory(path) ? "a folder"
             : std::filesystem::exists(path)     ? "a file that cannot be opened"
                                                 : "no such file");
    std::stringstream buffer;
    buffer << in.rdbuf();
    return parse_pose_json(buffer.str(), path.string(), options);
}

nlohmann::json pose_to_json(const Pose& pose, const std::string& schema_name) {
    json people = json::array();
    for (const auto& person : pose.people) {
        json kps = json::array();
        for (const auto& k : person.joints) kps.push_back({k.x, k.y, k.confidence});
        people.push_back({{"keypoints", kps}});
    }
    return {{"format", kPoseFormatName}, {"version", kPoseFormatVersion}, {"schema", schema_name},
            {"width", pose.width},       {"height", pose.height},         {"people", people}};
}

void write_pose_json(const std::filesystem::path& path, const Pose& pose, const std::string& schema_name) {
    write_file_atomic(path, pose_to_json(pose, schema_name).dump(2) + "\n");
}

}  // namespace stablepose
