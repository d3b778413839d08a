// HumanSD pose .npz: files numpy wrote (tests/reference/make_data_golden.py) read exactly, the writer's bytes
// equal numpy's, hostile and corrupt files refused with messages naming the file, random mutations never
// crash.
#include <unistd.h>

#include <fstream>
#include <functional>
#include <iterator>
#include <random>

#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/data/humansd_npz.h"
#include "stablepose/data/numpy_pickle.h"
#include "stablepose/data/zip_archive.h"
#include "stablepose/error.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using testing::error_of;
using testing::golden;

fs::path npz_dir() { return fs::path(STABLEPOSE_GOLDEN_DIR) / "data" / "npz"; }

std::vector<uint8_t> read_all(const fs::path& path) {
    std::ifstream in(path, std::ios::binary);
    return std::vector<uint8_t>(std::istreambuf_iterator<char>(in), {});
}

torch::Tensor keypoints_tensor(const std::vector<HumansdPerson>& people) {
    auto t = torch::zeros({static_cast<int64_t>(people.size()), kHumansdJoints, 3});
    for (size_t p = 0; p < people.size(); ++p)
        for (int j = 0; j < kHumansdJoints; ++j) {
            const auto& k = people[p].keypoints[j];
            t[p][j][0] = k.x;
            t[p][j][1] = k.y;
            t[p][j][2] = k.confidence;
        }
    return t;
}

TEST(HumansdNpz, EveryFormNumpyWritesReadsIdentically) {
    for (int count : {0, 1, 9, 40}) {
        const auto expected = golden("data/npz/expected", "keypoints_p" + std::to_string(count));
        const auto score = golden("data/npz/expected", "score_p" + std::to_string(count));
        const auto area = golden("data/npz/expected", "area_p" + std::to_string(count));
        for (const std::string form : {"humansd", "savez", "compressed", "deflate"}) {
            const auto path = npz_dir() / (form + "_p" + std::to_string(count) + ".npz");
            SCOPED_TRACE(path.string());
            const auto people = read_humansd_people(path);
            ASSERT_EQ(static_cast<int>(people.size()), count);
            EXPECT_TRUE(torch::equal(keypoints_tensor(people), expected));  // bit-exact float32
            for (int p = 0; p < count; ++p) {
                ASSERT_TRUE(people[p].score && people[p].area);
                EXPECT_EQ(*people[p].score, score[p].item<float>());
                EXPECT_EQ(*people[p].area, area[p].item<float>());
            }
        }
    }
}

TEST(HumansdNpz, PoseCarriesTheImageSizeAndRawJoints) {
    const auto pose = read_humansd_npz(npz_dir() / "humansd_p9.npz", 640, 480);
    EXPECT_EQ(pose.width, 640);
    EXPECT_EQ(pose.height, 480);
    ASSERT_EQ(pose.people.size(), 9u);
    const auto expected = golden("data/npz/expected", "keypoints_p9");
    for (int p = 0; p < 9; ++p) {
        ASSERT_EQ(pose.people[p].joints.size(), 17u);
        EXPECT_EQ(pose.people[p].joints[16].x, expected[p][16][0].item<float>());
        EXPECT_EQ(pose.people[p].joints[3].confidence, expected[p][3][2].item<float>());
    }
    EXPECT_EQ(read_humansd_npz(npz_dir() / "humansd_p0.npz", 0, 0).people.size(), 0u);
}

TEST(HumansdNpz, Float64FortranOrderAndKeypointOnlyDictsRead) {
    const auto expected = golden("data/npz/expected", "keypoints_variants");
    for (const char* name : {"float64_p2.npz", "fortran_p2.npz", "keypoints_only_p2.npz"}) {
        SCOPED_TRACE(name);
        const auto people = read_humansd_people(npz_dir() / name);
        ASSERT_EQ(people.size(), 2u);
        EXPECT_TRUE(torch::equal(keypoints_tensor(people), expected));
    }
    const auto only = read_humansd_people(npz_dir() / "keypoints_only_p2.npz");
    EXPECT_FALSE(only[0].score.has_value());
    EXPECT_FALSE(only[1].area.has_value());
}

TEST(HumansdNpz, WriterBytesEqualNumpysAndReadBack) {
    for (int count : {0, 1, 9, 40}) {
        SCOPED_TRACE(count);
        const auto people = read_humansd_people(npz_dir() / ("humansd_p" + std::to_string(count) + ".npz"));
        const auto numpy_bytes = read_all(npz_dir() / ("humansd_p" + std::to_string(count) + ".npy"));
        const std::string ours = humansd_npy_bytes(people);
        ASSERT_EQ(ours.size(), numpy_bytes.size());
        EXPECT_EQ(ours, std::string(numpy_bytes.begin(), numpy_bytes.end()));

        const auto path = fs::temp_directory_path() / ("stablepose_npz_" + std::to_string(::getpid()) + "_" +
                                                       std::to_string(count) + ".npz");
        write_humansd_npz(path, people);
        const auto back = read_humansd_people(path);
        EXPECT_TRUE(torch::equal(keypoints_tensor(back), keypoints_tensor(people)));
        fs::remove(path);
    }
}

TEST(HumansdNpz, HostileAndMalformedPicklesAreRefusedWithClearErrors) {
    std::ifstream in(npz_dir() / "hostile.json");
    const auto cases = nlohmann::json::parse(in);
    ASSERT_GE(cases.size(), 12u);
    for (const auto& [name, fragment] : cases.items()) {
        SCOPED_TRACE(name);
        const auto path = npz_dir() / name;
        const std::string message = error_of([&] { read_humansd_npz(path, 0, 0); });
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;
        EXPECT_NE(message.find(fragment.get<std::string>()), std::string::npos) << message;
    }
}

TEST(HumansdNpz, OpcodesOutsideTheSubsetAreRefusedByName) {
    // INST ("i") would import and call; a bare pickle of it must stop at the opcode, before anything else.
    const std::string inst =
        "\x80\x03i"
        "os\nsystem\n.";
    const auto message = error_of([&] {
        unpickle_numpy(std::span(reinterpret_cast<const uint8_t*>(inst.data()), inst.size()), "inst.pkl");
    });
    EXPECT_NE(message.find("inst.pkl"), std::string::npos) << message;
    EXPECT_NE(message.find("opcode INST"), std::string::npos) << message;
    const std::string memo = "\x80\x03h\x05.";  // BINGET of an index never stored
    EXPECT_NE(error_of([&] {
                  unpickle_numpy(std::span(reinterpret_cast<const uint8_t*>(memo.data()), memo.size()), "m");
              }).find("never stored"),
              std::string::npos);
}

TEST(HumansdNpz, CorruptArchivesNameTheFile) {
    const auto good = read_all(npz_dir() / "humansd_p9.npz");
    const auto dir = fs::temp_directory_path() / ("stablepose_corrupt_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    struct Case {
        std::string name;
        std::vector<uint8_t> bytes;
        std::string fragment;
    };
    auto flipped = good;
    flipped[200] ^= 0x5A;  // inside the stored member: the CRC catches it
    std::vector<Case> cases = {
        {"crc.npz", flipped, "CRC-32"},
        {"cut.npz", std::vector<uint8_t>(good.begin(), good.begin() + good.size() / 2), "not a zip archive"},
        {"empty.npz", {}, "truncated or corrupt"},
        {"text.npz", std::vector<uint8_t>(100, 'x'), "not a zip archive"},
    };
    for (const auto& c : cases) {
        SCOPED_TRACE(c.name);
        const auto path = dir / c.name;
        std::ofstream(path, std::ios::binary)
            .write(reinterpret_cast<const char*>(c.bytes.data()), c.bytes.size());
        const auto message = error_of([&] { read_humansd_npz(path, 0, 0); });
        EXPECT_NE(message.find(path.string()), std::string::npos) << message;
        EXPECT_NE(message.find(c.fragment), std::string::npos) << message;
    }
    const auto missing = error_of([&] { read_humansd_npz(dir / "nope.npz", 0, 0); });
    EXPECT_NE(missing.find("nope.npz"), std::string::npos);
    EXPECT_NE(missing.find("no such file"), std::string::npos);
    remove_tree(dir);
}

// Random byte mutations of valid files (stored and deflated, zip and pickle regions alike) must either parse
// or throw Error: no crash, no other exception type, no runaway allocation.
TEST(HumansdNpz, FuzzedFilesNeverCrash) {
    std::mt19937_64 rng(1234);
    int refused = 0, parsed = 0;
    for (const char* name : {"humansd_p9.npz", "compressed_p9.npz", "savez_p1.npz", "humansd_p1.npz"}) {
        const auto good = read_all(npz_dir() / name);
        for (int trial = 0; trial < 400; ++trial) {
            auto bytes = good;
            const int edits = 1 + static_cast<int>(rng() % 8);
            for (int e = 0; e < edits; ++e) {
                const size_t at = rng() % bytes.size();
                switch (rng() % 4) {
                    case 0:
                        bytes[at] = static_cast<uint8_t>(rng());
                        break;
                    case 1:
                        bytes[at] ^= static_cast<uint8_t>(1u << (rng() % 8));
                        break;
                    case 2:
                        bytes.resize(at + 1);
                        break;
                    default:
                        bytes.insert(bytes.begin() + at, static_cast<uint8_t>(rng()));
                        break;
                }
            }
            // Half the trials bypass the CRC by mutating the pickle inside a re-zipped member.
            if (trial % 2 == 1) {
                const auto npy = read_zip_member(good, "arr_0.npy", name);
                std::string member(npy.begin(), npy.end());
                for (int e = 0; e < edits; ++e)
                    member[128 + rng() % (member.size() - 128)] = static_cast<char>(rng());
                const auto zip = write_stored_zip({{"arr_0.npy", member}});
                bytes.assign(zip.begin(), zip.end());
            }
            try {
                parse_humansd_npz(bytes, name);
                ++parsed;
            } catch (const Error&) {
                ++refused;
            }
        }
    }
    EXPECT_GT(refused, 0);
    EXPECT_GT(parsed, 0);  // mutations inside the float data still make valid files
}

}  // namespace
}  // namespace stablepose
