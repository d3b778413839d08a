// Strict config reading shared by the training config sections: unknown keys, overrides, differences.
#include "stablepose/train/config_fields.h"

#include <algorithm>
#include <sstream>

namespace stablepose {

namespace {

std::string join_keys(const nlohmann::json& j) {
    std::string out;
    for (const auto& item : j.items()) out += (out.empty() ? "" : ", ") + item.key();
    return out;
}

void collect_differences(const nlohmann::json& a, const nlohmann::json& b, const std::string& prefix,
                         std::vector<std::string>& out) {
    if (a.is_object() && b.is_object()) {
        std::vector<std::string> keys;
        for (const auto& item : a.items()) keys.push_back(item.key());
        for (const auto& item : b.items())
            if (!a.contains(item.key())) keys.push_back(item.key());
        for (const auto& key : keys) {
            const auto path = prefix.empty() ? key : prefix + "." + key;
            if (!a.contains(key) || !b.contains(key)) {
                out.push_back(path);
                continue;
            }
            collect_differences(a.at(key), b.at(key), path, out);
        }
        return;
    }
    if (a != b) out.push_back(prefix);
}

}  // namespace

void reject_unknown_config_keys(const nlohmann::json& j, const std::vector<std::string>& known,
                                const std::string& source) {
    for (const auto& item : j.items()) {
        if (std::find(known.begin(), known.end(), item.key()) != known.end()) continue;
        std::string list;
        for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
        fail("unknown config key '" + source + "." + item.key() + "'", "one of: " + list, item.key(),
             "check the spelling; `stablepose train --help-config` lists every key");
    }
}

void apply_config_override(nlohmann::json& config, const std::string& assignment) {
    const auto eq = assignment.find('=');
    if (eq == std::string::npos || eq == 0)
        fail("bad config override '" + assignment + "'", "KEY.SUB=VALUE, e.g. optim.lr=2e-5", assignment);
    const std::string key = assignment.substr(0, eq);
    const std::string text = assignment.substr(eq + 1);
    nlohmann::json* node = &config;
    std::stringstream parts(key);
    std::string part, walked;
    while (std::getline(parts, part, '.')) {
        if (!node->is_object() || !node->contains(part))
            fail("unknown config key '" + key + "' in override",
                 node->is_object() ? "one of: " + join_keys(*node) + (walked.empty() ? "" : " under " + walked)
                                   : walked + " is a value, not a section",
                 part, "the resolved config (printed at start and saved as config.json) shows every key");
        node = &(*node)[part];
        walked += (walked.empty() ? "" : ".") + part;
    }
    if (node->is_object())
        fail("config override '" + key + "' names a section", "a value key such as " + key + "." +
                                                                   (node->empty() ? "..." : node->begin().key()),
             key);
    nlohmann::json value = nlohmann::json::parse(text, nullptr, false);
    if (value.is_discarded()) value = text;  // a bare word: a string
    *node = value;
}

std::vector<std::string> config_differences(const nlohmann::json& a, const nlohmann::json& b) {
    std::vector<std::string> out;
    collect_differences(a, b, "", out);
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace stablepose
