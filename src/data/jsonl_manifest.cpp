#include "stablepose/data/jsonl_manifest.h"

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {
namespace {

constexpr int kJoints = 17;
const char* kHint =
    "each line: {\"image\": PATH, \"caption\": TEXT, \"people\": [[[x, y, c] x 17], ...]} "
    "(docs/data.md)";

Person parse_person(const nlohmann::json& person, const std::string& where) {
    if (!person.is_array() || person.size() != kJoints)
        fail(where + " is not a list of 17 joints", "17 [x, y, c] triples (COCO-17 order)",
             person.is_array() ? std::to_string(person.size()) + " entries" : person.dump().substr(0, 80),
             kHint);
    Person out;
    for (int j = 0; j < kJoints; ++j) {
        const auto& k = person[j];
        bool ok = k.is_array() && k.size() == 3;
        for (int c = 0; ok && c < 3; ++c) ok = k[c].is_number() && std::isfinite(k[c].get<double>());
        if (!ok)
            fail(where + ", joint " + std::to_string(j) + " is not [x, y, c]", "three finite numbers",
                 k.dump().substr(0, 80), "mark a missing joint as [-1, -1, 0]");
        out.joints.push_back({k[0].get<float>(), k[1].get<float>(), k[2].get<float>()});
    }
    return out;
}

}  // namespace

DatasetSample parse_manifest_line(const std::string& line, const std::string& where,
                                  const std::filesystem::path& image_root) {
    nlohmann::json j;
    try {
        j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::parse_error& e) {
        fail(where + ": invalid JSON", "one JSON object per line",
             "a syntax error at byte " + std::to_string(e.byte) + " of the line", kHint);
    } catch (const nlohmann::json::exception& e) {  // out_of_range 406: a number beyond double, e.g. 1e400
        fail(where + ": invalid JSON", "one JSON object per line, with finite numbers", e.what(), kHint);
    }
    if (!j.is_object()) fail(where + ": not a JSON object", "an object", j.dump().substr(0, 80), kHint);
    for (const auto& [key, value] : j.items())
        if (key != "image" && key != "caption" && key != "people")
            fail(where + ": unknown key '" + key + "'", "only \"image\", \"caption\" and \"people\"", key,
                 kHint);
    DatasetSample s;
    s.source = where;
    if (!j.contains("image") || !j["image"].is_string() || j["image"].get<std::string>().empty())
        fail(where + ": \"image\" is missing or not a path", "a non-empty string",
             j.contains("image") ? j["image"].dump().substr(0, 80) : "nothing", kHint);
    s.image_path = image_root / j["image"].get<std::string>();
    if (!j.contains("caption") || !j["caption"].is_string())
        fail(where + ": \"caption\" is missing or not a string", "a string (\"\" for none)",
             j.contains("caption") ? j["caption"].dump().substr(0, 80) : "nothing", kHint);
    s.caption = j["caption"].get<std::string>();
    if (!j.contains("people") || !j["people"].is_array())
        fail(where + ": \"people\" is missing or not a list", "a list of people ([] for none)",
             j.contains("people") ? j["people"].dump().substr(0, 80) : "nothing", kHint);
    std::vector<Person> people;
    for (size_t p = 0; p < j["people"].size(); ++p)
        people.push_back(parse_person(j["people"][p], where + ": person " + std::to_string(p)));
    s.people = std::move(people);
    return s;
}

std::vector<DatasetSample> read_jsonl_manifest(const std::filesystem::path& manifest,
                                               const std::filesystem::path& image_root) {
    std::ifstream in(manifest, std::ios::binary);
    if (!in)
        fail("cannot open JSONL manifest " + manifest.string(), "an existing, readable file",
             std::filesystem::exists(manifest) ? "a file that cannot be opened" : "no such file", kHint);
    std::vector<DatasetSample> out;
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.find_first_not_of(" \t") == std::string::npos) continue;
        auto sample = parse_manifest_line(line, manifest.string() + ":" + std::to_string(number), image_root);
        sample.id = std::to_string(number);
        out.push_back(std::move(sample));
    }
    return out;
}

}  // namespace stablepose
