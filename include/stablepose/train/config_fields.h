// Typed config sections declared once (gemma.cpp's habit): each section lists its fields with a visitor,
//   template <class F> void fields(F&& f) { f("lr", lr, "learning rate"); ... }
// and reading (unknown keys rejected, wrong types named), writing and --set overrides all come from that list.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/error.h"

namespace stablepose {

// Fails naming `source` and the first key of `j` that is not in `known`.
void reject_unknown_config_keys(const nlohmann::json& j, const std::vector<std::string>& known,
                                const std::string& source);

template <class Section>
nlohmann::json section_to_json(const Section& section) {
    nlohmann::json j = nlohmann::json::object();
    const_cast<Section&>(section).fields([&](const char* key, auto& value, const char*) { j[key] = value; });
    return j;
}

// Reads the keys present in `j` into `section`; missing keys keep their defaults.
template <class Section>
void section_from_json(Section& section, const nlohmann::json& j, const std::string& source) {
    if (!j.is_object()) fail(source + ": not a JSON object", "{...}", j.dump());
    std::vector<std::string> known;
    section.fields([&](const char* key, auto& value, const char*) {
        known.push_back(key);
        if (!j.contains(key)) return;
        const auto& v = j.at(key);
        try {
            value = v.template get<std::remove_reference_t<decltype(value)>>();
        } catch (const nlohmann::json::exception&) {
            fail(source + "." + key + ": wrong type", nlohmann::json(value).type_name(), v.dump());
        }
        // Integral fields given a fractional number would be truncated silently by nlohmann.
        if constexpr (std::is_integral_v<std::remove_reference_t<decltype(value)>> &&
                      !std::is_same_v<std::remove_reference_t<decltype(value)>, bool>) {
            if (!v.is_number_integer() && !v.is_number_unsigned())
                fail(source + "." + key + ": wrong type", "an integer", v.dump());
        }
    });
    reject_unknown_config_keys(j, known, source);
}

// One "key: help" line per field, for --help text and docs.
template <class Section>
std::vector<std::string> section_help(const Section& section, const std::string& prefix) {
    std::vector<std::string> out;
    const_cast<Section&>(section).fields([&](const char* key, auto& value, const char* help) {
        out.push_back(prefix + key + " = " + nlohmann::json(value).dump() + ": " + help);
    });
    return out;
}

// Applies "a.b.c=value" to a resolved config tree: the path must exist (else an error listing the keys at
// that level); the value is parsed as JSON, or taken as a string when it is not valid JSON.
void apply_config_override(nlohmann::json& config, const std::string& assignment);

// The dotted keys whose values differ between two config trees (leaves only), sorted.
std::vector<std::string> config_differences(const nlohmann::json& a, const nlohmann::json& b);

}  // namespace stablepose
