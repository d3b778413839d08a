#include "stablepose/data/humansd_dataset.h"

#include "stablepose/data/json_file.h"
#include "stablepose/error.h"

namespace stablepose {

std::vector<DatasetSample> humansd_mapping_samples(const nlohmann::ordered_json& mapping,
                                                   const std::string& source,
                                                   const std::filesystem::path& base_path) {
    if (!mapping.is_object())
        fail(source + ": not a HumanSD mapping file",
             "a JSON object {sample id: {img_path, pose_path, prompt}}",
             std::string("a JSON ") + mapping.type_name(), "see docs/data.md (HumanSD layout)");
    std::vector<DatasetSample> out;
    out.reserve(mapping.size());
    for (const auto& [key, value] : mapping.items()) {
        const std::string where = source + ": entry '" + key + "'";
        if (!value.is_object())
            fail(where + " is not an object", "{\"img_path\": ..., \"pose_path\": ..., \"prompt\": ...}",
                 value.dump().substr(0, 80), "see docs/data.md (HumanSD layout)");
        DatasetSample s;
        s.id = key;
        s.image_path = base_path / json_string(value, "img_path", where);
        s.pose_path = base_path / json_string(value, "pose_path", where);
        s.caption = json_string(value, "prompt", where);
        s.source = where;
        out.push_back(std::move(s));
    }
    return out;
}

std::vector<DatasetSample> read_humansd_mapping(const std::filesystem::path& mapping_file,
                                                const std::filesystem::path& base_path) {
    return humansd_mapping_samples(read_json_file(mapping_file, "HumanSD mapping JSON"),
                                   mapping_file.string(), base_path);
}

}  // namespace stablepose
