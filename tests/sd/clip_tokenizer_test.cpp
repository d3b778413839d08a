// CLIP tokenizer: the spec fixtures (§10.7) directly, then every golden prompt of
// tests/reference/make_tokenizer_golden.py against transformers' CLIPTokenizer (5.x) and the slow 4.x
// tokenizer with ftfy, the HF file path, and the errors of bad input.
#include <fstream>

#include <unistd.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "stablepose/io/atomic_file.h"
#include "stablepose/error.h"
#include "stablepose/io/assets.h"
#include "stablepose/sd/clip_tokenizer.h"
#include "test_util.h"

namespace stablepose {
namespace {

namespace fs = std::filesystem;
using Ids = std::vector<int64_t>;

const ClipTokenizer& tokenizer(TextNormalization mode = TextNormalization::transformers) {
    static const ClipTokenizer transformers = ClipTokenizer::vendored({TextNormalization::transformers});
    static const ClipTokenizer ftfy = ClipTokenizer::vendored({TextNormalization::ftfy});
    return mode == TextNormalization::ftfy ? ftfy : transformers;
}

const nlohmann::json& golden() {
    static const nlohmann::json doc = [] {
        std::ifstream in(fs::path(STABLEPOSE_GOLDEN_DIR) / "clip_tokenizer.json");
        if (!in)
            throw std::runtime_error("golden clip_tokenizer.json missing: run ctest (reference.tokenizer)");
        return nlohmann::json::parse(in);
    }();
    return doc;
}

Ids padded(Ids ids) {
    ids.resize(77, ClipTokenizer::kEndOfText);
    return ids;
}

std::string quoted(const std::string& text) {
    return nlohmann::json(text).dump(-1, ' ', /*ensure_ascii=*/true);
}

using testing::error_of;

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

fs::path temp_dir(const std::string& name) {
    auto dir = fs::temp_directory_path() / ("stablepose_tok_" + name + "_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir;
}

// Compares every golden prompt's row `key` with `encode`; stops at and reports the first mismatch.
void expect_golden_rows(const std::string& key, TextNormalization mode, const ClipTokenizer& tok) {
    size_t matched = 0, without_mojibake = 0;
    const auto& prompts = golden()["prompts"];
    ASSERT_GE(prompts.size(), 500u);
    for (size_t i = 0; i < prompts.size(); ++i) {
        const auto& row = prompts[i];
        const auto text = row["text"].get<std::string>();
        auto expected = row[key].get<Ids>();
        if (mode == TextNormalization::ftfy && row.contains("ftfy_without_mojibake_repair")) {
            expected = row["ftfy_without_mojibake_repair"].get<Ids>();  // documented divergence
            ++without_mojibake;
        }
        const auto found = tok.encode_padded(text);
        ASSERT_EQ(found, expected) << "prompt " << i << " differs from the " << key
                                   << " reference: " << quoted(text)
                                   << "\n  normalised: " << quoted(normalize_clip_text(text, mode));
        ++matched;
    }
    std::cout << matched << " of " << prompts.size() << " prompts match the " << key << " reference";
    if (without_mojibake)
        std::cout << " (" << without_mojibake << " compared without ftfy's mojibake repair)";
    std::cout << '\n';
}

TEST(ClipTokenizer, SpecFixtures) {
    const std::vector<std::pair<std::string, Ids>> fixtures = {
        {"a photo of a cat", {49406, 320, 1125, 539, 320, 2368, 49407}},
        {"oil painting of girls dancing on the stage",
         {49406, 2870, 3086, 539, 1917, 6226, 525, 518, 2170, 49407}},
        {"Two people, dancing!! 2024", {49406, 1237, 1047, 267, 6226, 748, 273, 271, 273, 275, 49407}},
        {"longbody, lowres, bad anatomy", {49406, 4792, 1774, 267, 1049, 934, 267, 2103, 15376, 49407}}};
    for (const auto mode : {TextNormalization::transformers, TextNormalization::ftfy}) {
        for (const auto& [text, ids] : fixtures) {
            EXPECT_EQ(tokenizer(mode).encode_padded(text), padded(ids))
                << text << " (" << to_string(mode) << ")";
            EXPECT_EQ(tokenizer(mode).encode(text), Ids(ids.begin() + 1, ids.end() - 1)) << text;
        }
    }
}

TEST(ClipTokenizer, EmptyPromptIsStartThenEndPadding) {
    for (const auto mode : {TextNormalization::transformers, TextNormalization::ftfy}) {
        EXPECT_EQ(tokenizer(mode).encode_padded(""), padded({49406, 49407}));
        EXPECT_EQ(tokenizer(mode).encode_padded(" \t\n\u3000"), padded({49406, 49407}));
        EXPECT_TRUE(tokenizer(mode).encode("").empty());
    }
}

TEST(ClipTokenizer, LiteralSpecialTokensBecomeSpecialIds) {
    EXPECT_EQ(tokenizer().encode("a <|startoftext|> b"), (Ids{320, 49406, 321}));
    EXPECT_EQ(tokenizer().encode("a<|endoftext|>b<|endoftext|>"), (Ids{320, 49407, 321, 49407}));
    // Only the slow tokenizer's IGNORECASE pattern also catches other spellings.
    EXPECT_EQ(tokenizer(TextNormalization::ftfy).encode("<|EndOfText|>"), (Ids{49407}));
    EXPECT_NE(tokenizer().encode("<|EndOfText|>"), (Ids{49407}));
}

TEST(ClipTokenizer, LongPromptKeepsTheFirst75ContentIds) {
    std::string text;
    for (int i = 0; i < 100; ++i) text += "cat dog ";
    const auto row = tokenizer().encode_padded(text);
    ASSERT_EQ(row.size(), 77u);
    EXPECT_EQ(tokenizer().encode(text).size(), 200u);
    EXPECT_EQ(row[0], 49406);
    EXPECT_EQ(row[75], 2368);  // content id 75 is the 38th "cat"
    EXPECT_EQ(row[76], 49407);
    EXPECT_EQ(tokenizer().encode_padded(text, 10).size(), 10u);
}

TEST(ClipTokenizer, BatchIsAnInt64TensorOfPaddedRows) {
    const std::vector<std::string> texts = {"a photo of a cat", "", "Two people, dancing!! 2024"};
    const auto batch = tokenizer().encode_batch(texts);
    ASSERT_EQ(batch.sizes(), (std::vector<int64_t>{3, 77}));
    EXPECT_EQ(batch.scalar_type(), torch::kInt64);
    for (size_t b = 0; b < texts.size(); ++b) {
        const auto row = batch[static_cast<int64_t>(b)];
        EXPECT_EQ(Ids(row.data_ptr<int64_t>(), row.data_ptr<int64_t>() + 77),
                  tokenizer().encode_padded(texts[b]));
    }
}

TEST(ClipTokenizer, MatchesTransformersClipTokenizerOnGoldenPrompts) {
    expect_golden_rows("transformers", TextNormalization::transformers, tokenizer());
}

TEST(ClipTokenizer, MatchesSlowTokenizerWithFtfyOnGoldenPrompts) {
    expect_golden_rows("ftfy", TextNormalization::ftfy, tokenizer(TextNormalization::ftfy));
}

TEST(ClipTokenizer, HfVocabAndMergesGiveTheSameIdsAsTheGzFile) {
    const auto folder = fs::path(STABLEPOSE_GOLDEN_DIR) / "clip_hf";
    for (const auto& path : {folder, folder / "vocab.json", folder / "merges.txt"}) {
        const auto hf = ClipTokenizer::from_file(path, {TextNormalization::transformers});
        expect_golden_rows("transformers", TextNormalization::transformers, hf);
    }
}

// scripts/export_sd.py writes only OpenAI's merge list into a model's tokenizer/ folder.
TEST(ClipTokenizer, FolderWithOnlyTheOpenAiFileReadsIt) {
    const auto dir = temp_dir("openai_only");
    fs::copy_file(clip_vocabulary_path(), dir / "bpe_simple_vocab_16e6.txt.gz",
                  fs::copy_options::overwrite_existing);
    expect_golden_rows("transformers", TextNormalization::transformers,
                       ClipTokenizer::from_file(dir, {TextNormalization::transformers}));
}

TEST(TokenizerText, FtfyFixTextMatchesPython) {
    for (const auto& row : golden()["prompts"]) {
        const auto text = row["text"].get<std::string>();
        ASSERT_EQ(ftfy_fix_text(text), row["ftfy_text"].get<std::string>()) << "prompt " << quoted(text);
    }
}

TEST(TokenizerText, PythonLowerMatchesPython) {
    for (const auto& row : golden()["prompts"]) {
        const auto text = row["text"].get<std::string>();
        ASSERT_EQ(python_lower(text), row["python_lower"].get<std::string>()) << "prompt " << quoted(text);
    }
}

TEST(TokenizerText, HtmlEntityTableMatchesFtfy) {
    const auto expected = golden()["html_entities"].get<std::map<std::string, std::string>>();
    const auto& table = html_entities();
    ASSERT_EQ(table.size(), expected.size());
    for (const auto& [name, value] : expected) {
        const auto it = table.find(name);
        ASSERT_TRUE(it != table.end()) << name;
        EXPECT_EQ(it->second, value) << name;
    }
}

TEST(TokenizerText, FtfyDocstringExamples) {
    EXPECT_EQ(ftfy_fix_text("&lt;tag&gt;"), "<tag>");
    EXPECT_EQ(ftfy_fix_text("a <b> &amp; c"), "a <b> &amp; c");  // "auto": no unescaping next to '<'
    EXPECT_EQ(ftfy_fix_text("P&EACUTE;REZ"), "PÉREZ");
    EXPECT_EQ(ftfy_fix_text("&ntilde; &Ntilde; &NTILDE; &nTILDE;"), "ñ Ñ Ñ &nTILDE;");
    EXPECT_EQ(ftfy_fix_text("ＬＯＵＤ　ＮＯＩＳＥＳ"), "LOUD NOISES");
    EXPECT_EQ(ftfy_fix_text("ﬂuﬃeﬆ"), "fluffiest");
    EXPECT_EQ(ftfy_fix_text("\u201chere\u2019s a test\u201d"), "\"here's a test\"");
    EXPECT_EQ(ftfy_fix_text("\x1b[36;44mI'm blue\x1b[0m"), "I'm blue");
    EXPECT_EQ(ftfy_fix_text("Content-type: text/plain\r\n\r\nHi."), "Content-type: text/plain\n\nHi.");
    EXPECT_EQ(ftfy_fix_text("sÃ³"), "sÃ³");  // mojibake repair is not implemented (ftfy gives "só")
    EXPECT_EQ(python_lower("ΟΔΟΣ İ"), "οδος i̇");
    EXPECT_EQ(normalize_clip_text("ΟΔΟΣ", TextNormalization::transformers), "οδοσ");
}

TEST(ClipTokenizer, BadInputGivesClearErrors) {
    const auto dir = temp_dir("bad");
    const auto missing = error_of([&] { ClipTokenizer::from_file(dir / "none.txt.gz"); });
    EXPECT_TRUE(contains(missing, "not found") && contains(missing, "hint:")) << missing;

    std::ofstream(dir / "junk.txt.gz", std::ios::binary) << "this is not gzip data at all";
    const auto not_gzip = error_of([&] { ClipTokenizer::from_file(dir / "junk.txt.gz"); });
    EXPECT_TRUE(contains(not_gzip, "not a gzip file")) << not_gzip;

    std::ifstream real(clip_vocabulary_path(), std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(real)), {});
    std::ofstream(dir / "truncated.txt.gz", std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    const auto truncated = error_of([&] { ClipTokenizer::from_file(dir / "truncated.txt.gz"); });
    EXPECT_TRUE(contains(truncated, "corrupt") && contains(truncated, "truncated")) << truncated;
    bytes[bytes.size() / 2] ^= 0x5A;
    std::ofstream(dir / "flipped.txt.gz", std::ios::binary) << bytes;
    EXPECT_TRUE(contains(error_of([&] { ClipTokenizer::from_file(dir / "flipped.txt.gz"); }), "corrupt"));

    // A gzip file under OpenAI's name must be OpenAI's file.
    const auto renamed = dir / "bpe_simple_vocab_16e6.txt.gz";
    gzFile out = gzopen(renamed.c_str(), "wb");
    gzputs(out, "\"bpe_simple_vocab_16e6.txt#version: 0.2\ni n\n");
    gzclose(out);
    const auto digest = error_of([&] { ClipTokenizer::from_file(renamed); });
    EXPECT_TRUE(contains(digest, "sha256 924691ac") && contains(digest, "openai/CLIP")) << digest;

    const auto empty_dir = temp_dir("empty");
    const auto empty = error_of([&] { ClipTokenizer::from_file(empty_dir); });
    EXPECT_TRUE(contains(empty, "holds no CLIP vocabulary") && contains(empty, "vocab.json + merges.txt"))
        << empty;

    const auto hf = fs::path(STABLEPOSE_GOLDEN_DIR) / "clip_hf";
    fs::copy_file(hf / "vocab.json", dir / "vocab.json", fs::copy_options::overwrite_existing);
    std::ifstream merges_in(hf / "merges.txt");
    std::string merges((std::istreambuf_iterator<char>(merges_in)), {});
    std::ofstream(dir / "merges.txt") << merges.substr(merges.find('\n') + 1);  // header dropped
    const auto header = error_of([&] { ClipTokenizer::from_file(dir); });
    EXPECT_TRUE(contains(header, "version header") && contains(header, "#version: 0.2")) << header;
    std::ofstream(dir / "merges.txt") << merges.substr(0, merges.size() / 2);
    EXPECT_TRUE(
        contains(error_of([&] { ClipTokenizer::from_file(dir / "vocab.json"); }), "wrong number of merges"));
    std::ofstream(dir / "vocab.json") << "{\"a\": ";
    EXPECT_TRUE(contains(error_of([&] { ClipTokenizer::from_file(dir / "vocab.json"); }), "not valid JSON"));
    EXPECT_TRUE(contains(error_of([&] { ClipTokenizer::from_file(dir / "vocab.bin"); }), "not found"));
    fs::copy_file(hf / "vocab.json", dir / "vocab.bin");
    EXPECT_TRUE(
        contains(error_of([&] { ClipTokenizer::from_file(dir / "vocab.bin"); }), "cannot tell the format"));

    const auto utf8 = error_of([&] { tokenizer().encode("caf\xe9 au lait"); });
    EXPECT_TRUE(contains(utf8, "not valid UTF-8") && contains(utf8, "0xE9") && contains(utf8, "offset 3"))
        << utf8;
    EXPECT_TRUE(contains(error_of([&] { tokenizer().encode_padded("x", 1); }), "at least 2"));
    remove_tree(dir);
}

TEST(ClipTokenizer, PromptFileHasOnePromptPerLine) {
    const auto dir = temp_dir("file");
    std::ofstream(dir / "prompts.txt", std::ios::binary) << "a photo of a cat\r\n\nTwo people\n";
    EXPECT_EQ(read_prompt_lines(dir / "prompts.txt"),
              (std::vector<std::string>{"a photo of a cat", "", "Two people"}));
    std::ofstream(dir / "bad.txt", std::ios::binary) << "ok\n\xff\xfe bad\n";
    const auto error = error_of([&] { read_prompt_lines(dir / "bad.txt"); });
    EXPECT_TRUE(contains(error, "line 2") && contains(error, "UTF-8")) << error;
    EXPECT_TRUE(contains(error_of([&] { read_prompt_lines(dir / "none.txt"); }), "no such file"));
    EXPECT_TRUE(
        contains(error_of([&] { read_prompt_lines(dir); }), "a folder"));  // not "nothing to tokenize"
    EXPECT_EQ(ids_to_json({49406, 320, 49407}), "[49406, 320, 49407]");
    remove_tree(dir);
}

}  // namespace
}  // namespace stablepose
