#include "stablepose/data/humansd_npz.h"

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "stablepose/data/numpy_pickle.h"
#include "stablepose/data/zip_archive.h"
#include "stablepose/error.h"
#include "stablepose/io/atomic_file.h"

namespace stablepose {
namespace {

using Kind = PickleValue::Kind;

const char* kHint =
    "HumanSD pose files are numpy.savez(path, mmpose_results): an object array of dicts with "
    "'keypoints' (17x3 float), 'score' and 'area' (docs/data.md)";
constexpr uint64_t kMaxNpyBytes = uint64_t{64} << 20;  // a pose file is kilobytes; anything larger is corrupt

// The .npy header: "{'descr': '|O', 'fortran_order': False, 'shape': (P,), }" (a Python dict literal).
struct NpyHeader {
    std::string descr;
    bool fortran_order = false;
    std::vector<int64_t> shape;
    size_t data_offset = 0;
};

class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& source) : s_(text), source_(source) {}

    NpyHeader parse() {
        NpyHeader h;
        bool has_descr = false, has_order = false, has_shape = false;
        expect('{');
        while (!peek('}')) {
            const std::string key = string();
            expect(':');
            if (key == "descr")
                h.descr = string(), has_descr = true;
            else if (key == "fortran_order")
                h.fortran_order = boolean(), has_order = true;
            else if (key == "shape")
                h.shape = tuple(), has_shape = true;
            else
                bad("an unknown key '" + printable(key) + "'");
            if (!peek('}')) expect(',');
        }
        expect('}');
        if (!has_descr || !has_order || !has_shape) bad("a header without descr, fortran_order and shape");
        return h;
    }

private:
    [[noreturn]] void bad(const std::string& found) {
        fail(source_ + ": arr_0.npy has a malformed header",
             "{'descr': ..., 'fortran_order': ..., 'shape': (...)}", found + " in " + printable(s_, 120),
             kHint);
    }
    void skip() {
        while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n')) ++i_;
    }
    bool peek(char c) {
        skip();
        return i_ < s_.size() && s_[i_] == c;
    }
    void expect(char c) {
        if (!peek(c)) bad(std::string("no '") + c + "' at position " + std::to_string(i_));
        ++i_;
    }
    std::string string() {
        skip();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"'))
            bad("no string at position " + std::to_string(i_));
        const char quote = s_[i_++];
        const size_t end = s_.find(quote, i_);
        if (end == std::string::npos) bad("an unterminated string");
        std::string out = s_.substr(i_, end - i_);
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        skip();
        if (s_.compare(i_, 4, "True") == 0) return i_ += 4, true;
        if (s_.compare(i_, 5, "False") == 0) return i_ += 5, false;
        bad("no True/False at position " + std::to_string(i_));
    }
    std::vector<int64_t> tuple() {
        std::vector<int64_t> out;
        expect('(');
        while (!peek(')')) {
            skip();
            int64_t v = 0;
            size_t digits = 0;
            while (i_ < s_.size() && s_[i_] >= '0' && s_[i_] <= '9' && digits < 12)
                v = v * 10 + (s_[i_++] - '0'), ++digits;
            if (digits == 0 || out.size() >= 8) bad("a malformed shape at position " + std::to_string(i_));
            out.push_back(v);
            if (!peek(')')) expect(',');
        }
        expect(')');
        return out;
    }

    const std::string& s_;
    const std::string& source_;
    size_t i_ = 0;
};

NpyHeader parse_npy_header(const std::vector<uint8_t>& npy, const std::string& source) {
    static const uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
    if (npy.size() < 10 || std::memcmp(npy.data(), kMagic, 6) != 0)
        fail(source + ": arr_0.npy is not a .npy array", "the magic \\x93NUMPY",
             std::to_string(npy.size()) + " bytes without it", kHint);
    const int major = npy[6];
    const size_t len_bytes = major == 1 ? 2 : 4;
    if (major < 1 || major > 3 || npy.size() < 8 + len_bytes)
        fail(source + ": unsupported .npy format version", "1.0, 2.0 or 3.0", std::to_string(major), kHint);
    size_t header_len = 0;
    for (size_t i = len_bytes; i-- > 0;) header_len = (header_len << 8) | npy[8 + i];
    if (header_len > npy.size() - 8 - len_bytes)
        fail(source + ": arr_0.npy header is truncated", std::to_string(header_len) + " header bytes",
             std::to_string(npy.size() - 8 - len_bytes), kHint);
    const std::string text(reinterpret_cast<const char*>(npy.data() + 8 + len_bytes), header_len);
    NpyHeader h = HeaderParser(text, source).parse();
    h.data_offset = 8 + len_bytes + header_len;
    return h;
}

[[noreturn]] void bad_person(const std::string& source, size_t p, const std::string& what,
                             const std::string& expected, const std::string& found) {
    fail(source + ": person " + std::to_string(p) + ": " + what, expected, found, kHint);
}

std::optional<float> optional_scalar(const PickleValue& dict, const char* key, const std::string& source,
                                     size_t p) {
    const PickleValue* v = dict.get(key);
    if (!v) return std::nullopt;
    if (v->kind != Kind::scalar)
        bad_person(source, p, std::string("'") + key + "' is not a numpy float scalar", "numpy.float32",
                   v->describe());
    return static_cast<float>(scalar_float(*v));
}

HumansdPerson to_person(const PickleValue* item, const std::string& source, size_t p) {
    if (item->kind != Kind::dict)
        bad_person(source, p, "is not a dict", "a dict with 'keypoints'", item->describe());
    const PickleValue* k = item->get("keypoints");
    if (!k) bad_person(source, p, "has no 'keypoints'", "a 'keypoints' entry", item->describe());
    if (k->kind != Kind::ndarray || !k->built || !k->array_dtype->is_float_dtype() || k->shape.size() != 2 ||
        k->shape[0] != kHumansdJoints || k->shape[1] != 3)
        bad_person(source, p, "'keypoints' has the wrong type or shape", "a float ndarray of shape (17, 3)",
                   k->describe());
    HumansdPerson person;
    for (int j = 0; j < kHumansdJoints; ++j) {
        auto& joint = person.keypoints[j];
        joint.x = static_cast<float>(ndarray_float_at(*k, j, 0));
        joint.y = static_cast<float>(ndarray_float_at(*k, j, 1));
        joint.confidence = static_cast<float>(ndarray_float_at(*k, j, 2));
    }
    person.score = optional_scalar(*item, "score", source, p);
    person.area = optional_scalar(*item, "area", source, p);
    return person;
}

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail("cannot open pose file " + path.string(), "an existing, readable .npz file",
             std::filesystem::exists(path) ? "a file that cannot be opened" : "no such file",
             "check the dataset's pose_path entries against the files on disk");
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

std::vector<HumansdPerson> parse_humansd_npz(std::span<const uint8_t> bytes, const std::string& source) {
    const auto npy = read_zip_member(bytes, "arr_0.npy", source, kMaxNpyBytes);
    const NpyHeader header = parse_npy_header(npy, source);
    int64_t count = 1;
    for (const auto d : header.shape) count *= d;
    if (header.descr != "|O") {
        // np.savez(path, []) for an image without people: a float64 array of shape (0,).
        if (count == 0) return {};
        fail(source + ": arr_0.npy is not an object array of person dicts", "descr '|O' (or an empty array)",
             "descr '" + printable(header.descr) + "' with " + std::to_string(count) + " elements", kHint);
    }
    if (header.shape.size() != 1)
        fail(source + ": arr_0.npy has the wrong shape", "a 1-D array of people (P,)",
             std::to_string(header.shape.size()) + " dimensions", kHint);
    const auto pickle = std::span<const uint8_t>(npy).subspan(header.data_offset);
    const PickleGraph graph = unpickle_numpy(pickle, source);
    const PickleValue* root = graph.root;
    if (root->kind != Kind::ndarray || !root->built || !root->array_dtype->is_object_dtype() ||
        root->shape != header.shape)
        fail(source + ": the pickle does not hold the array the header describes",
             "an object ndarray of shape (" + std::to_string(header.shape[0]) + ",)", root->describe(),
             kHint);
    std::vector<HumansdPerson> people;
    people.reserve(root->items.size());
    for (size_t p = 0; p < root->items.size(); ++p) people.push_back(to_person(root->items[p], source, p));
    return people;
}

std::vector<HumansdPerson> read_humansd_people(const std::filesystem::path& path) {
    const auto bytes = read_bytes(path);
    return parse_humansd_npz(bytes, path.string());
}

Pose parse_humansd_npz_pose(std::span<const uint8_t> bytes, const std::string& source, int image_width,
                            int image_height) {
    Pose pose;
    pose.width = image_width;
    pose.height = image_height;
    for (const auto& person : parse_humansd_npz(bytes, source))
        pose.people.push_back(Person{{person.keypoints.begin(), person.keypoints.end()}});
    return pose;
}

Pose read_humansd_npz(const std::filesystem::path& path, int image_width, int image_height) {
    const auto bytes = read_bytes(path);
    return parse_humansd_npz_pose(bytes, path.string(), image_width, image_height);
}

void write_humansd_npz(const std::filesystem::path& path, const std::vector<HumansdPerson>& people) {
    write_file_atomic(path, write_stored_zip({{"arr_0.npy", humansd_npy_bytes(people)}}));
}

}  // namespace stablepose
