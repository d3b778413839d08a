// SHA-256 against the NIST example vectors, Python hashlib digests and the vendored CLIP vocabulary.
#include <fstream>

#include <unistd.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/assets.h"
#include "stablepose/io/sha256.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;

TEST(Sha256, NistVectors) {
    EXPECT_EQ(sha256_hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    EXPECT_EQ(sha256_hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    EXPECT_EQ(sha256_hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),  // 448 bits
              "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
    EXPECT_EQ(sha256_hex(std::string(1'000'000, 'a')),
              "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

TEST(Sha256, FileIsStreamedInBlocks) {
    const auto path =
        fs::temp_directory_path() / ("stablepose_sha256_" + std::to_string(::getpid()) + ".bin");
    std::string content(3 * (1 << 20) + 17, '\0');  // several read blocks, and a tail
    for (size_t i = 0; i < content.size(); ++i) content[i] = static_cast<char>((i * 131) % 251);
    std::ofstream(path, std::ios::binary) << content;
    EXPECT_EQ(sha256_file(path), sha256_hex(content));
    fs::remove(path);
}

TEST(Sha256, MatchesPythonHashlibAcrossBlockBoundaries) {
    std::ifstream in(fs::path(STABLEPOSE_GOLDEN_DIR) / "clip_tokenizer.json");
    ASSERT_TRUE(in) << "golden clip_tokenizer.json missing: run ctest (reference.tokenizer writes it)";
    const auto golden = nlohmann::json::parse(in);
    ASSERT_EQ(golden["sha256"].size(), 200u);
    for (const auto& vector : golden["sha256"]) {
        const auto message = vector[0].get<std::string>();
        ASSERT_EQ(sha256_hex(message), vector[1].get<std::string>()) << message.size() << "-byte message";
    }
    EXPECT_EQ(sha256_file(clip_vocabulary_path()), golden["gz_sha256"].get<std::string>());
}

TEST(Sha256, VendoredClipVocabularyHasThePublishedDigest) {
    EXPECT_EQ(sha256_file(clip_vocabulary_path()),
              "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a");
}

TEST(Sha256, MissingFileIsAnError) {
    try {
        sha256_file("/nonexistent/stablepose.bin");
        FAIL() << "no error";
    } catch (const Error& e) {
        EXPECT_NE(std::string(e.what()).find("no such file"), std::string::npos) << e.what();
    }
}

}  // namespace
}  // namespace stablepose
