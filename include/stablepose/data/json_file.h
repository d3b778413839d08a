// Reading the JSON files datasets are made of, with errors that name the file and the place in it.
#pragma once

#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

namespace stablepose {

// Parses `path` keeping object key order (the mapping JSON's order is the sample order). Throws Error naming
// the file for a missing file or invalid JSON (with the byte offset of the error); `what` names the format
// for the hint ("HumanSD mapping JSON").
nlohmann::ordered_json read_json_file(const std::filesystem::path& path, const std::string& what);

// The string/number/object at `key` of `object`; throws Error naming `where` when it is missing or of
// another type.
const std::string& json_string(const nlohmann::ordered_json& object, const char* key,
                               const std::string& where);
int64_t json_integer(const nlohmann::ordered_json& object, const char* key, const std::string& where);

}  // namespace stablepose
