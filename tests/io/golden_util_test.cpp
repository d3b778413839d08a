// Shared golden loader (compiled into the test binary once) and tests of the safetensors reader/writer.
#include <fstream>
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

TEST(Assets, VendoredClipVocabularyIsFoundWithItsLicence) {
    const auto vocab = clip_vocabulary_path();
    EXPECT_TRUE(fs::exists(vocab));
    EXPECT_GT(fs::file_size(vocab), 1'000'000u);  // the OpenAI BPE merges, gzip
    EXPECT_TRUE(fs::exists(vocab.parent_path() / "bpe_simple_vocab_16e6.LICENSE.txt"));
    EXPECT_THROW(find_asset("no/such/asset.bin"), Error);
}

}  // namespace
}  // namespace stablepose
