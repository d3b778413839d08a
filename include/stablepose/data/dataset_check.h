// `stablepose data check`: walks a dataset and reports what would break or silently degrade training:
// missing or unreadable images, unreadable pose files, bad keypoints, people and joint counts, caption
// lengths in CLIP tokens.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "stablepose/data/dataset.h"

namespace stablepose {

struct DatasetCheckOptions {
    bool decode_images = true;  // false: only check that the image files exist (fast)
    int64_t limit = 0;          // check at most this many samples (0: all)
    int max_offenders = 5;      // offenders named per kind of problem
    bool count_tokens = true;   // caption lengths in CLIP tokens (vendored tokenizer); else in bytes
};

struct DatasetCheckReport {
    std::string format;
    int64_t samples = 0;
    int64_t checked = 0;
    // Errors: training would fail on these samples.
    int64_t missing_images = 0;
    int64_t unreadable_images = 0;
    int64_t unreadable_poses = 0;
    int64_t bad_keypoints = 0;    // samples with non-finite values or people without 17 joints
    int64_t size_mismatches = 0;  // decoded size differs from the annotated size
    // Warnings: the sample trains, but differently from what the data says.
    int64_t joints_outside_image = 0;  // confident joints outside the image (moved to (0, 0) by the loader)
    int64_t samples_over_max_people = 0;  // people past 10 are dropped
    int64_t empty_captions = 0;
    int64_t captions_truncated = 0;  // longer than the 75 content tokens CLIP sees
    // Statistics.
    std::map<int, int64_t> people_histogram;  // people per sample (10 means 10 or more)
    int64_t people = 0;
    int64_t visible_joints = 0;  // confidence > 0.02
    int64_t caption_min = 0, caption_max = 0;
    double caption_mean = 0;
    std::string caption_unit = "tokens";
    // "KIND: SAMPLE SOURCE: message", at most max_offenders per kind.
    std::vector<std::string> offenders;

    int64_t errors() const {
        return missing_images + unreadable_images + unreadable_poses + bad_keypoints + size_mismatches;
    }
    // The multi-line report `data check` prints.
    std::string summary() const;
};

DatasetCheckReport check_dataset(const Dataset& dataset, const DatasetCheckOptions& options = {});

}  // namespace stablepose
