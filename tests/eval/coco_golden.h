// The COCO evaluation goldens of tests/reference/make_coco_golden.py: GOLDEN_DIR/coco_eval.json and the
// fixture files it names, read once per process.
#pragma once

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "stablepose/eval/coco_keypoint_json.h"

namespace stablepose::testing {

inline const nlohmann::json& coco_golden() {
    static const nlohmann::json doc = [] {
        std::ifstream in(std::filesystem::path(STABLEPOSE_GOLDEN_DIR) / "coco_eval.json");
        if (!in) throw std::runtime_error("golden coco_eval.json missing: run ctest (reference.coco)");
        return nlohmann::json::parse(in);
    }();
    return doc;
}

inline std::filesystem::path coco_golden_path(const std::string& relative) {
    return std::filesystem::path(STABLEPOSE_GOLDEN_DIR) / relative;
}

inline CocoKeypointGroundTruth coco_case_gt(const std::string& name) {
    return read_coco_keypoint_ground_truth(coco_golden_path(coco_golden()["cases"][name]["gt"]));
}

inline std::vector<CocoKeypointDetection> coco_case_dt(const std::string& name) {
    return read_coco_keypoint_results(coco_golden_path(coco_golden()["cases"][name]["dt"]));
}

// A golden number: JSON null stands for NaN, and the strings "nan", "inf", "-inf" for themselves.
inline double golden_number(const nlohmann::json& j) {
    if (j.is_null()) return std::numeric_limits<double>::quiet_NaN();
    if (j.is_string()) {
        const auto s = j.get<std::string>();
        if (s == "nan") return std::numeric_limits<double>::quiet_NaN();
        if (s == "inf") return std::numeric_limits<double>::infinity();
        if (s == "-inf") return -std::numeric_limits<double>::infinity();
        throw std::runtime_error("unexpected golden value " + s);
    }
    return j.get<double>();
}

// |a - b|, with equal infinities and two NaNs counting as 0 and any other NaN / infinity mismatch as
// infinity.
inline double number_diff(double a, double b) {
    if (std::isnan(a) || std::isnan(b)) return std::isnan(a) && std::isnan(b) ? 0.0 : INFINITY;
    if (std::isinf(a) || std::isinf(b)) return a == b ? 0.0 : INFINITY;
    return std::abs(a - b);
}

}  // namespace stablepose::testing
