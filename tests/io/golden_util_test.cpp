// Shared golden loader (compiled into the test binary once) and tests of the safetensors reader/writer.
#include <cstring>
#include <fstream>
#include <random>
#include <map>
#include <mutex>

#include "stablepose/error.h"
#include "stablepose/io/assets.h"
#include "test_util.h"

namespace stablepose::testing {

const SafetensorsFile& golden_file(const std::string& file) {
    static std::mutex mutex;
    static std::map<std::string, SafetensorsFile> cache;
    std::lock_guard<std::mutex> lock(mutex);
    auto it = cache.find(file);
    if (it == cache.end())
        it = cache.emplace(file, read_safetensors(std::filesystem::path(STABLEPOSE_GOLDEN_DIR) / (file + ".safetensors")))
                 .first;
    return it->second;
}

torch::Tensor golden(const std::string& file, const std::string& name) {
    const auto& tensors = golden_file(file).tensors;
    const auto it = tensors.find(name);
    if (it == tensors.end()) throw std::runtime_error("golden tensor " + file + ":" + name + " missing");
    return it->second;
}

}  // namespace stablepose::testing

namespace stablepose {
namespace {

namespace fs = std::filesystem;

fs::path temp_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("stablepose_test_" + name + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

TEST(Safetensors, RoundTripKeepsValuesDtypesAndMetadata) {
    const auto path = temp_dir("st") / "a.safetensors";
    std::map<std::string, torch::Tensor> tensors = {
        {"f32", torch::randn({3, 4})},
        {"bf16", torch::randn({5}).to(torch::kBFloat16)},
        {"i64", torch::arange(7)},
        {"empty", torch::empty({0, 3})},
        {"strided", torch::randn({4, 6}).t()}};
    write_safetensors(path, tensors, {{"format", "test"}});
    const auto file = read_safetensors(path);
    EXPECT_EQ(file.metadata.at("format"), "test");
    ASSERT_EQ(file.tensors.size(), tensors.size());
    for (const auto& [name, t] : tensors) {
        EXPECT_EQ(file.tensors.at(name).scalar_type(), t.scalar_type()) << name;
        EXPECT_TRUE(torch::equal(file.tensors.at(name), t)) << name;
    }
}

TEST(Safetensors, ReadsWhatPythonWrote) {
    // networks.safetensors was written by the Python safetensors package.
    const auto posemb = testing::golden("networks", "posemb_16x24");
    EXPECT_EQ(posemb.sizes(), (std::vector<int64_t>{384, 512}));
}

TEST(Safetensors, TruncatedAndMissingFilesGiveClearErrors) {
    const auto dir = temp_dir("st_bad");
    write_safetensors(dir / "ok.safetensors", {{"x", torch::randn({100})}});
    const auto size = fs::file_size(dir / "ok.safetensors");
    fs::copy_file(dir / "ok.safetensors", dir / "cut.safetensors", fs::copy_options::overwrite_existing);
    fs::resize_file(dir / "cut.safetensors", size - 40);
    EXPECT_THROW(read_safetensors(dir / "cut.safetensors"), Error);
    try {
        read_safetensors(dir / "missing.safetensors");
        FAIL() << "no error for a missing file";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
    }
    std::ofstream(dir / "junk.safetensors") << "not a safetensors file at all";
    EXPECT_THROW(read_safetensors(dir / "junk.safetensors"), Error);
}

// Fuzz-style: thousands of corrupted variants of a valid file either load or fail with stablepose::Error;
// never a crash, another exception type or an out-of-bounds read (run under ASan to see the last).
TEST(Safetensors, CorruptedFilesNeverCrashTheReader) {
    const auto dir = temp_dir("st_fuzz");
    const auto good = dir / "good.safetensors";
    write_safetensors(good, {{"a", torch::randn({3, 5})}, {"b", torch::arange(4).to(torch::kInt16)},
                             {"c", torch::ones({2}, torch::kBool)}},
                      {{"k", "v"}});
    std::string bytes;
    {
        std::ifstream in(good, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    std::uint64_t header_len = 0;
    std::memcpy(&header_len, bytes.data(), 8);
    std::mt19937 rng(1234);
    const auto bad = dir / "bad.safetensors";
    int loaded = 0, refused = 0;
    const std::string junk = "{}[]\":,-0123456789eE.\\ \x00\xff";
    for (int i = 0; i < 3000; ++i) {
        std::string mutated = bytes;
        switch (i % 5) {
            case 0:  // flip bits in the header (including the length)
                for (int k = 0; k < 1 + static_cast<int>(rng() % 4); ++k)
                    mutated[rng() % (8 + header_len)] ^= static_cast<char>(1u << (rng() % 8));
                break;
            case 1:  // replace header characters with JSON-significant ones
                for (int k = 0; k < 1 + static_cast<int>(rng() % 3); ++k)
                    mutated[8 + rng() % header_len] = junk[rng() % junk.size()];
                break;
            case 2:  // truncate anywhere
                mutated.resize(rng() % bytes.size());
                break;
            case 3: {  // change one digit of a number in the header (shapes, offsets)
                const auto pos = 8 + rng() % header_len;
                if (std::isdigit(static_cast<unsigned char>(mutated[pos]))) mutated[pos] = static_cast<char>('0' + rng() % 10);
                break;
            }
            default:  // append garbage
                mutated += std::string(1 + rng() % 16, static_cast<char>(rng()));
        }
        std::ofstream(bad, std::ios::binary | std::ios::trunc) << mutated;
        try {
            read_safetensors(bad);
            ++loaded;
        } catch (const Error&) {
            ++refused;
        }
    }
    EXPECT_GT(refused, 1000);
    EXPECT_EQ(loaded + refused, 3000);
}

TEST(Safetensors, OverlapsHolesAndNegativeShapesAreRefused) {
    const auto dir = temp_dir("st_crafted");
    auto write_raw = [&](const std::string& header, size_t data_bytes) {
        std::string blob(8, '\0');
        const std::uint64_t n = header.size();
        std::memcpy(blob.data(), &n, 8);
        blob += header + std::string(data_bytes, '\0');
        std::ofstream(dir / "x.safetensors", std::ios::binary | std::ios::trunc) << blob;
        return dir / "x.safetensors";
    };
    auto message = [&](const std::string& header, size_t data_bytes) {
        try {
            read_safetensors(write_raw(header, data_bytes));
        } catch (const Error& e) {
            return std::string(e.what());
        }
        return std::string("loaded");
    };
    EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[2],"data_offsets":[4,12]}})", 12)
                  .find("overlaps"), std::string::npos);
    EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}})", 8).find("hole"), std::string::npos);
    EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4).find("dimension"), std::string::npos);
    EXPECT_NE(message(R"({"a":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,4]}})", 4).find("large"),
              std::string::npos);
    EXPECT_NE(message(R"({"a":{"dtype":"Q4","shape":[1],"data_offsets":[0,4]}})", 4).find("dtype"), std::string::npos);
    EXPECT_NE(message(R"([1, 2])", 0).find("not a JSON object"), std::string::npos);
    EXPECT_EQ(message(R"({"a":{"dtype":"F32","shape":[0],"data_offsets":[0,0]}})", 0), "loaded");
}

TEST(Assets, VendoredClipVocabularyIsFoundWithItsLicence) {
    const auto vocab = clip_vocabulary_path();
    EXPECT_TRUE(fs::exists(vocab));
    EXPECT_GT(fs::file_size(vocab), 1'000'000u);  // the OpenAI BPE merges, gzip
    EXPECT_TRUE(fs::exists(vocab.parent_path() / "bpe_simple_vocab_16e6.LICENSE.txt"));
    EXPECT_THROW(find_asset("no/such/asset.bin"), Error);
}

}  // namespace
}  // namespace stablepose
