#include "stablepose/data/json_file.h"

#include <fstream>
#include <sstream>

#include "stablepose/error.h"

namespace stablepose {

nlohmann::ordered_json read_json_file(const std::filesystem::path& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail("cannot open " + what + " " + path.string(), "an existing, readable file",
             std::filesystem::exists(path) ? "a file that cannot be opened" : "no such file",
             "check the path (docs/data.md describes the dataset formats)");
    std::stringstream text;
    text << in.rdbuf();
    try {
        return nlohmann::ordered_json::parse(text.str());
    } catch (const nlohmann::json::parse_error& e) {
        fail(path.string() + ": invalid JSON in the " + what, "valid JSON",
             "a syntax error at byte " + std::to_string(e.byte) + " (" + e.what() + ")",
             "fix or re-create the file; a truncated download often ends like this");
    } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond double, e.g. 1e400
        fail(path.string() + ": invalid JSON in the " + what, "valid JSON with finite numbers", e.what(),
             "fix or re-create the file");
    }
}

const std::string& json_string(const nlohmann::ordered_json& object, const char* key,
                               const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_string())
        fail(where + ": \"" + key + "\" is missing or not a string", "a string",
             it == object.end() ? "nothing" : it->dump().substr(0, 80),
             "see docs/data.md for the dataset formats");
    return it->get_ref<const std::string&>();
}

int64_t json_integer(const nlohmann::ordered_json& object, const char* key, const std::string& where) {
    const auto it = object.find(key);
    if (it == object.end() || !it->is_number_integer())
        fail(where + ": \"" + key + "\" is missing or not an integer", "an integer",
             it == object.end() ? "nothing" : it->dump().substr(0, 80),
             "see docs/data.md for the dataset formats");
    return it->get<int64_t>();
}

}  // namespace stablepose
