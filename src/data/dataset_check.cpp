#include "stablepose/data/dataset_check.h"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <memory>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "stablepose/error.h"
#include "stablepose/pose/pose.h"
#include "stablepose/sd/clip_tokenizer.h"

namespace stablepose {
namespace {

constexpr int kJoints = 17;

class Checker {
public:
    Checker(DatasetCheckReport& report, const DatasetCheckOptions& options) : r_(report), options_(options) {}

    void offender(const std::string& kind, const DatasetSample& s, const std::string& message) {
        if (++named_[kind] <= options_.max_offenders)
            r_.offenders.push_back(kind + ": " + s.source + ": " + message);
    }

    // The decoded (or annotated) image size; {0, 0} when the image cannot be used.
    cv::Size image(const DatasetSample& s) {
        if (!std::filesystem::exists(s.image_path)) {
            ++r_.missing_images;
            offender("missing image", s, s.image_path.string());
            return {};
        }
        if (!options_.decode_images) return {s.width, s.height};
        const cv::Mat m = cv::imread(s.image_path.string(), cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
        if (m.empty()) {
            ++r_.unreadable_images;
            offender("unreadable image", s, s.image_path.string());
            return {};
        }
        if (s.width > 0 && (m.cols != s.width || m.rows != s.height)) {
            ++r_.size_mismatches;
            offender("image size differs from its annotation", s,
                     s.image_path.string() + " is " + std::to_string(m.cols) + "x" + std::to_string(m.rows) +
                         ", annotated " + std::to_string(s.width) + "x" + std::to_string(s.height));
        }
        return m.size();
    }

    void pose(const DatasetSample& s, cv::Size size) {
        Pose pose;
        try {
            pose = load_sample_pose(s, size.width, size.height);
        } catch (const Error& e) {
            ++r_.unreadable_poses;
            const std::string what = e.what();
            offender("unreadable pose", s, what.substr(0, what.find('\n')));
            return;
        }
        const int people = static_cast<int>(pose.people.size());
        ++r_.people_histogram[std::min(people, kOfficialMaxPeople)];
        r_.people += people;
        if (people > kOfficialMaxPeople) ++r_.samples_over_max_people;
        bool bad = false, outside = false;
        for (size_t p = 0; p < pose.people.size(); ++p) {
            const auto& joints = pose.people[p].joints;
            if (joints.size() != kJoints) {
                bad = true;
                offender("bad keypoints", s,
                         "person " + std::to_string(p) + " has " + std::to_string(joints.size()) + " joints");
                continue;
            }
            for (size_t j = 0; j < joints.size(); ++j) {
                const Joint& k = joints[j];
                if (!std::isfinite(k.x) || !std::isfinite(k.y) || !std::isfinite(k.confidence)) {
                    if (!bad)
                        offender("bad keypoints", s,
                                 "person " + std::to_string(p) + ", joint " + std::to_string(j) + ": (" +
                                     std::to_string(k.x) + ", " + std::to_string(k.y) + ", " +
                                     std::to_string(k.confidence) + ")");
                    bad = true;
                    continue;
                }
                if (!(k.confidence > kOfficialConfidenceThreshold)) continue;
                ++r_.visible_joints;
                if (size.width > 0 && (k.x < 0 || k.x >= size.width || k.y < 0 || k.y >= size.height)) {
                    ++r_.joints_outside_image;
                    outside = true;
                }
            }
        }
        if (bad) ++r_.bad_keypoints;
        if (outside) offender("confident joints outside the image", s, "the loader moves them to (0, 0)");
    }

    void caption(const DatasetSample& s, int64_t& total) {
        int64_t length = static_cast<int64_t>(s.caption.size());
        if (tokenizer_) {
            try {
                length = static_cast<int64_t>(tokenizer_->encode(s.caption).size());
            } catch (const Error& e) {
                const std::string what = e.what();
                offender("caption not UTF-8", s, what.substr(0, what.find('\n')));
            }
            if (length > ClipTokenizer::kContextLength - 2) {
                ++r_.captions_truncated;
                offender("caption truncated", s, std::to_string(length) + " tokens, CLIP sees 75");
            }
        }
        if (s.caption.empty()) ++r_.empty_captions;
        r_.caption_min = r_.checked == 1 ? length : std::min(r_.caption_min, length);
        r_.caption_max = std::max(r_.caption_max, length);
        total += length;
    }

    void set_tokenizer(std::unique_ptr<ClipTokenizer> t) { tokenizer_ = std::move(t); }

private:
    DatasetCheckReport& r_;
    const DatasetCheckOptions& options_;
    std::map<std::string, int> named_;
    std::unique_ptr<ClipTokenizer> tokenizer_;
};

}  // namespace

DatasetCheckReport check_dataset(const Dataset& dataset, const DatasetCheckOptions& options) {
    DatasetCheckReport r;
    r.format = to_string(dataset.format);
    r.samples = static_cast<int64_t>(dataset.size());
    Checker checker(r, options);
    if (options.count_tokens)
        checker.set_tokenizer(std::make_unique<ClipTokenizer>(ClipTokenizer::vendored()));
    else
        r.caption_unit = "bytes";
    int64_t caption_total = 0;
    for (const auto& sample : dataset.samples) {
        if (options.limit > 0 && r.checked >= options.limit) break;
        ++r.checked;
        const cv::Size size = checker.image(sample);
        checker.pose(sample, size);
        checker.caption(sample, caption_total);
    }
    r.caption_mean = r.checked ? static_cast<double>(caption_total) / r.checked : 0.0;
    return r;
}

std::string DatasetCheckReport::summary() const {
    std::ostringstream s;
    s << format << " dataset: " << samples << " samples, " << checked << " checked\n";
    s << "people: " << people << " (" << visible_joints << " joints with confidence > 0.02); per sample:";
    for (const auto& [count, n] : people_histogram)
        s << " " << count << (count == kOfficialMaxPeople ? "+" : "") << ":" << n;
    s << "\ncaptions (" << caption_unit << "): min " << caption_min << ", mean " << caption_mean << ", max "
      << caption_max << "; empty " << empty_captions << ", over 75 tokens " << captions_truncated << "\n";
    s << "errors: " << missing_images << " missing images, " << unreadable_images << " unreadable images, "
      << unreadable_poses << " unreadable poses, " << bad_keypoints << " with bad keypoints, "
      << size_mismatches << " size mismatches\n";
    s << "warnings: " << joints_outside_image << " confident joints outside their image, "
      << samples_over_max_people << " samples with more than 10 people (the rest are dropped)\n";
    for (const auto& o : offenders) s << "  " << o << "\n";
    return s.str();
}

}  // namespace stablepose
