// CLIP BPE tokenizer (spec evaluation.md §10): transformers' CLIPTokenizer, slow (4.x tokenization_clip.py)
// and tokenizers-backed (5.x), which share the vocabulary, the BPE and the sequence layout.
#include "stablepose/sd/clip_tokenizer.h"

#include <array>
#include <climits>
#include <fstream>
#include <mutex>
#include <sstream>
#include <unordered_map>

#include <torch/torch.h>
#include <unicode/regex.h>
#include <unicode/unistr.h>
#include <zlib.h>
#include <nlohmann/json.hpp>

#include "stablepose/error.h"
#include "stablepose/io/assets.h"
#include "stablepose/io/sha256.h"

namespace stablepose {

namespace fs = std::filesystem;

struct ClipTokenizer::Tables {
    std::array<int32_t, 256> byte_id{};      // id of the byte's bytes_to_unicode character
    std::array<int32_t, 256> byte_end_id{};  // ... with "</w>" appended (the last symbol of a word)
    // (left id << 32 | right id) -> (merge rank, id of the merged symbol)
    std::unordered_map<uint64_t, std::pair<int32_t, int32_t>> merges;
    std::mutex cache_mutex;
    std::unordered_map<std::string, std::vector<int64_t>> cache;  // BPE ids per pre-tokenised piece
};

namespace {

constexpr std::string_view kStartText = "<|startoftext|>", kEndText = "<|endoftext|>";
constexpr size_t kCacheLimit = 100'000;  // pieces; the cache is emptied when full

bool is_printable_byte(int b) { return (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || b >= 0xAE; }

// GPT-2/CLIP bytes_to_unicode: printable bytes map to themselves, the other 68 to U+0100.. in byte order.
std::array<std::string, 256> byte_characters() {
    std::array<std::string, 256> chars;
    int next = 0;
    for (int b = 0; b < 256; ++b) icu::UnicodeString(is_printable_byte(b) ? b : 256 + next++).toUTF8String(chars[b]);
    return chars;
}

// bytes_to_unicode's list order: the 188 printable bytes first, then the others (ids 0..255, §10.2).
std::vector<int> byte_order() {
    std::vector<int> printable, other;
    for (int b = 0; b < 256; ++b) (is_printable_byte(b) ? printable : other).push_back(b);
    printable.insert(printable.end(), other.begin(), other.end());
    return printable;
}

constexpr const char* kVocabularyHint =
    "pass bpe_simple_vocab_16e6.txt.gz or a folder holding vocab.json and merges.txt, or leave --vocab out "
    "to use the vendored vocabulary";

std::string read_bytes(const fs::path& path, const std::string& what, const char* hint = kVocabularyHint) {
    std::ifstream in(path, std::ios::binary);
    if (!in || fs::is_directory(path))  // a folder opens as an empty stream on Linux
        fail("cannot open the " + what + " '" + path.string() + "'", "an existing, readable file",
             fs::is_directory(path) ? "a folder"
             : fs::exists(path)     ? "unreadable"
                                    : "no such file",
             hint);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string gunzip(const std::string& data, const fs::path& path) {
    const std::string where = "CLIP vocabulary '" + path.string() + "'";
    const char* hint =
        "the file is damaged or not gzip; restore bpe_simple_vocab_16e6.txt.gz from openai/CLIP "
        "(clip/) or the project's assets/clip";
    if (data.size() < 18 || static_cast<uint8_t>(data[0]) != 0x1F || static_cast<uint8_t>(data[1]) != 0x8B)
        fail(where + " is not a gzip file", "the gzip magic bytes 1f 8b and at least 18 bytes",
             std::to_string(data.size()) + " bytes without the gzip header", hint);
    z_stream zs{};
    if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) fail("zlib could not start inflating " + where);
    zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs.avail_in = static_cast<uInt>(data.size());
    std::string out;
    std::array<char, 1 << 16> chunk;
    int status = Z_OK;
    while (status == Z_OK) {
        zs.next_out = reinterpret_cast<Bytef*>(chunk.data());
        zs.avail_out = static_cast<uInt>(chunk.size());
        status = inflate(&zs, Z_NO_FLUSH);
        out.append(chunk.data(), chunk.size() - zs.avail_out);
        if (status == Z_BUF_ERROR && zs.avail_in == 0) break;  // input ended before the stream did
    }
    const std::string message = zs.msg ? zs.msg : "";
    const uInt left = zs.avail_in;
    inflateEnd(&zs);
    if (status != Z_STREAM_END)
        fail(where + " is corrupt", "a complete gzip stream",
             status == Z_BUF_ERROR ? "a truncated stream" : "zlib error: " + message, hint);
    if (left != 0)
        fail(where + " has data after its gzip stream", "a single gzip member",
             std::to_string(left) + " extra bytes", hint);
    return out;
}

std::vector<std::string_view> split_lines(std::string_view text) {
    std::vector<std::string_view> lines;
    for (size_t pos = 0; pos <= text.size();) {
        const size_t end = std::min(text.find('\n', pos), text.size());
        lines.push_back(text.substr(pos, end - pos));
        pos = end + 1;
    }
    return lines;
}

using Merge = std::pair<std::string, std::string>;

// lines[1 .. 48,894] as "left right" pairs (CLIP's slice [1 : 49152 - 256 - 2 + 1]). The OpenAI file holds
// more lines than are used; a merges.txt (`exact`) holds exactly these, plus an optional final line end.
std::vector<Merge> parse_merges(std::vector<std::string_view> lines, bool exact, const std::string& where) {
    if (exact && lines.size() > 1 && lines.back().empty()) lines.pop_back();
    const size_t found = lines.size() - 1;
    if (exact ? found != ClipTokenizer::kMerges : found < ClipTokenizer::kMerges)
        fail(
            where + " has the wrong number of merges",
            (exact ? "" : "at least ") + std::to_string(ClipTokenizer::kMerges) +
                " merge lines after the header",
            std::to_string(found),
            "use the CLIP ViT-L/14 vocabulary of SD 1.x; other BPE vocabularies do not fit its text encoder");
    std::vector<Merge> merges;
    merges.reserve(ClipTokenizer::kMerges);
    for (int k = 1; k <= ClipTokenizer::kMerges; ++k) {
        const std::string_view line = lines[k];
        const size_t space = line.find(' ');
        if (space == 0 || space == std::string_view::npos ||
            line.find(' ', space + 1) != std::string_view::npos || space + 1 == line.size())
            fail(where + ": line " + std::to_string(k + 1) + " is not a merge", "\"left right\"",
                 "\"" + std::string(line.substr(0, 80)) + "\"", "the file is damaged; restore it");
        merges.emplace_back(std::string(line.substr(0, space)), std::string(line.substr(space + 1)));
    }
    return merges;
}

std::shared_ptr<ClipTokenizer::Tables> build_tables(const std::unordered_map<std::string, int64_t>& ids,
                                                    const std::vector<Merge>& merges,
                                                    const std::string& where) {
    const auto id_of = [&](const std::string& token, const std::string& context) {
        const auto it = ids.find(token);
        if (it == ids.end())
            fail(where + ": token \"" + token + "\" (" + context + ") has no id",
                 "every byte symbol and merge in the vocabulary", "it is missing",
                 "vocab.json and merges.txt must come from the same tokenizer");
        if (it->second < 0 || it->second >= ClipTokenizer::kVocabSize)
            fail(where + ": token \"" + token + "\" has an id outside the text encoder's table",
                 "0 <= id < " + std::to_string(ClipTokenizer::kVocabSize), std::to_string(it->second),
                 "use the CLIP ViT-L/14 vocabulary of SD 1.x");
        return static_cast<int32_t>(it->second);
    };
    if (id_of(std::string(kStartText), "special") != ClipTokenizer::kStartOfText ||
        id_of(std::string(kEndText), "special") != ClipTokenizer::kEndOfText)
        fail(where + ": the special tokens have unexpected ids",
             "<|startoftext|> = 49406, <|endoftext|> = 49407",
             std::to_string(ids.at(std::string(kStartText))) + ", " +
                 std::to_string(ids.at(std::string(kEndText))),
             "use the CLIP ViT-L/14 vocabulary of SD 1.x");
    auto tables = std::make_shared<ClipTokenizer::Tables>();
    const auto chars = byte_characters();
    for (int b = 0; b < 256; ++b) {
        tables->byte_id[b] = id_of(chars[b], "byte symbol");
        tables->byte_end_id[b] = id_of(chars[b] + "</w>", "byte symbol");
    }
    for (size_t k = 0; k < merges.size(); ++k) {
        const auto& [left, right] = merges[k];
        const std::string context = "merge " + std::to_string(k + 1);
        const uint64_t key = uint64_t(uint32_t(id_of(left, context))) << 32 | uint32_t(id_of(right, context));
        tables->merges.insert_or_assign(
            key, std::make_pair(static_cast<int32_t>(k), id_of(left + right, context)));
    }
    return tables;
}

const icu::RegexPattern& pretokenizer(TextNormalization mode) {
    const auto compile = [](const char* pattern) {
        UErrorCode status = U_ZERO_ERROR;
        UParseError error;
        std::unique_ptr<icu::RegexPattern> p(
            icu::RegexPattern::compile(icu::UnicodeString::fromUTF8(pattern), 0, error, status));
        if (U_FAILURE(status)) throw std::runtime_error(std::string("ICU regex: ") + u_errorName(status));
        return p;
    };
    // transformers: tokenizers' Split on the CLIP pattern (case-sensitive, on lower-cased text).
    static const auto transformers = compile(R"(<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|)"
                                             R"(\p{L}+|\p{N}|[^\p{White_Space}\p{L}\p{N}]+)");
    // ftfy: the `regex` module with IGNORECASE on lower-cased text. Case folding then only adds U+017F (long
    // s) to 's', and makes U+0345 (which folds to a letter) match neither letters nor the third class: it is
    // skipped like whitespace.
    static const auto ftfy =
        compile(R"(<\|[s\x{17F}]tartoftext\|>|<\|endoftext\|>|'[s\x{17F}]|'t|'re|'ve|'m|'ll|'d|\p{L}+|\p{N}|)"
                R"([^\p{White_Space}\p{L}\p{N}\x{345}]+)");
    return mode == TextNormalization::ftfy ? *ftfy : *transformers;
}

}  // namespace

ClipTokenizer::ClipTokenizer(std::shared_ptr<Tables> tables, ClipTokenizerOptions options)
    : tables_(std::move(tables)), options_(options) {}

ClipTokenizer ClipTokenizer::from_openai_vocabulary(const fs::path& gz, ClipTokenizerOptions options) {
    const std::string data = read_bytes(gz, "CLIP vocabulary");
    const std::string where = "CLIP vocabulary '" + gz.string() + "'";
    if (gz.filename() == "bpe_simple_vocab_16e6.txt.gz") {
        const std::string digest = sha256_hex(data);
        if (digest != kOpenAiVocabularySha256)
            fail(where + " is not OpenAI's bpe_simple_vocab_16e6.txt.gz",
                 "sha256 " + std::string(kOpenAiVocabularySha256), "sha256 " + digest,
                 "restore the file from openai/CLIP (clip/) or git checkout assets/clip");
    }
    const std::string text = gunzip(data, gz);
    const auto lines = split_lines(text);
    if (lines[0].find("#version:") == std::string_view::npos)
        fail(where + " does not start with a version line", "\"bpe_simple_vocab_16e6.txt#version: 0.2",
             "\"" + std::string(lines[0].substr(0, 80)) + "\"", "the file is not a CLIP merge list");
    const auto merges = parse_merges(lines, /*exact=*/false, where);
    // ids (§10.2): byte characters in bytes_to_unicode order, the same with "</w>", merges, specials.
    std::vector<std::string> tokens;
    const auto chars = byte_characters();
    for (const int b : byte_order()) tokens.push_back(chars[b]);
    for (int i = 0; i < 256; ++i) tokens.push_back(tokens[i] + "</w>");
    for (const auto& [left, right] : merges) tokens.push_back(left + right);
    tokens.emplace_back(kStartText);
    tokens.emplace_back(kEndText);
    std::unordered_map<std::string, int64_t> ids;
    for (size_t i = 0; i < tokens.size(); ++i) ids.insert_or_assign(tokens[i], static_cast<int64_t>(i));
    return ClipTokenizer(build_tables(ids, merges, where), options);
}

ClipTokenizer ClipTokenizer::from_hf_files(const fs::path& vocab_json, const fs::path& merges_txt,
                                           ClipTokenizerOptions options) {
    const std::string vocab_where = "vocab.json '" + vocab_json.string() + "'";
    nlohmann::json vocab;
    try {
        vocab = nlohmann::json::parse(read_bytes(vocab_json, "CLIP vocab.json"));
    } catch (const nlohmann::json::exception& e) {
        fail(vocab_where + " is not valid JSON", "a JSON object {token: id}", e.what(), "restore the file");
    }
    if (!vocab.is_object()) fail(vocab_where + " is not a JSON object", "{token: id}", vocab.type_name());
    std::unordered_map<std::string, int64_t> ids;
    for (const auto& [token, id] : vocab.items()) {
        if (!id.is_number_integer())
            fail(vocab_where + ": the id of \"" + token + "\" is not an integer", "an integer id", id.dump());
        ids.emplace(token, id.get<int64_t>());
    }
    const std::string merges_where = "merges file '" + merges_txt.string() + "'";
    const std::string text = read_bytes(merges_txt, "CLIP merges.txt");
    const auto lines = split_lines(text);
    if (lines[0] != "#version: 0.2")
        fail(merges_where + " does not start with the version header", "\"#version: 0.2\"",
             "\"" + std::string(lines[0].substr(0, 80)) + "\"",
             "use the merges.txt saved with the tokenizer; transformers' slow tokenizer skips the first "
             "line, so a file without the header would lose a merge");
    return ClipTokenizer(build_tables(ids, parse_merges(lines, /*exact=*/true, merges_where), merges_where),
                         options);
}

ClipTokenizer ClipTokenizer::from_file(const fs::path& path, ClipTokenizerOptions options) {
    if (!fs::exists(path))
        fail("CLIP vocabulary '" + path.string() + "' not found",
             "bpe_simple_vocab_16e6.txt.gz, vocab.json/merges.txt, or a folder holding both",
             "no such file or folder", "leave out --vocab to use the vendored vocabulary (assets/clip)");
    if (fs::is_directory(path)) {
        // A diffusers/transformers tokenizer folder holds vocab.json + merges.txt; one written by
        // scripts/export_sd.py may hold only OpenAI's merge list.
        const auto openai = path / "bpe_simple_vocab_16e6.txt.gz";
        if (!fs::exists(path / "vocab.json") && !fs::exists(path / "merges.txt") && fs::exists(openai))
            return from_openai_vocabulary(openai, options);
        if (!fs::exists(path / "vocab.json") && !fs::exists(path / "merges.txt"))
            fail("the folder '" + path.string() + "' holds no CLIP vocabulary",
                 "vocab.json + merges.txt, or bpe_simple_vocab_16e6.txt.gz", "none of them",
                 "pass the tokenizer/ folder of a diffusers model or of scripts/export_sd.py, or leave out "
                 "--vocab to use the vendored vocabulary");
        return from_hf_files(path / "vocab.json", path / "merges.txt", options);
    }
    const auto extension = path.extension();
    if (extension == ".gz") return from_openai_vocabulary(path, options);
    if (extension == ".json") return from_hf_files(path, path.parent_path() / "merges.txt", options);
    if (extension == ".txt") return from_hf_files(path.parent_path() / "vocab.json", path, options);
    fail("cannot tell the format of the CLIP vocabulary '" + path.string() + "'",
         "a .gz merge list, vocab.json, merges.txt or a folder", "extension '" + extension.string() + "'",
         "rename the file or pass its folder");
}

ClipTokenizer ClipTokenizer::vendored(ClipTokenizerOptions options) {
    return from_openai_vocabulary(clip_vocabulary_path(), options);
}

std::vector<int64_t> ClipTokenizer::encode_piece(std::string_view piece) const {
    if (piece.empty()) return {};
    {
        std::lock_guard lock(tables_->cache_mutex);
        if (const auto it = tables_->cache.find(std::string(piece)); it != tables_->cache.end())
            return it->second;
    }
    // §10.5: symbols start as the piece's bytes, "</w>" on the last; merge the lowest-ranked adjacent pair,
    // every occurrence left to right, until no pair is ranked.
    std::vector<int32_t> word;
    for (const char c : piece) word.push_back(tables_->byte_id[static_cast<uint8_t>(c)]);
    word.back() = tables_->byte_end_id[static_cast<uint8_t>(piece.back())];
    std::vector<int32_t> next;
    while (word.size() > 1) {
        int32_t best_rank = INT32_MAX, merged = 0;
        uint64_t best_key = 0;
        for (size_t i = 0; i + 1 < word.size(); ++i) {
            const uint64_t key = uint64_t(uint32_t(word[i])) << 32 | uint32_t(word[i + 1]);
            const auto it = tables_->merges.find(key);
            if (it != tables_->merges.end() && it->second.first < best_rank)
                best_rank = it->second.first, merged = it->second.second, best_key = key;
        }
        if (best_rank == INT32_MAX) break;
        next.clear();
        for (size_t i = 0; i < word.size(); ++i) {
            if (i + 1 < word.size() &&
                (uint64_t(uint32_t(word[i])) << 32 | uint32_t(word[i + 1])) == best_key) {
                next.push_back(merged);
                ++i;
            } else {
                next.push_back(word[i]);
            }
        }
        word.swap(next);
    }
    std::vector<int64_t> ids(word.begin(), word.end());
    std::lock_guard lock(tables_->cache_mutex);
    if (tables_->cache.size() >= kCacheLimit) tables_->cache.clear();
    tables_->cache.emplace(std::string(piece), ids);
    return ids;
}

std::vector<int64_t> ClipTokenizer::encode(std::string_view text) const {
    require_utf8(text, "prompt");
    std::vector<int64_t> ids;
    const auto encode_segment = [&](std::string_view segment) {
        if (segment.empty()) return;
        const icu::UnicodeString normalized =
            icu::UnicodeString::fromUTF8(normalize_clip_text(segment, options_.normalization));
        UErrorCode status = U_ZERO_ERROR;
        std::unique_ptr<icu::RegexMatcher> matcher(
            pretokenizer(options_.normalization).matcher(normalized, status));
        std::string piece;
        while (U_SUCCESS(status) && matcher->find(status)) {
            piece.clear();
            matcher->group(status).toUTF8String(piece);
            const bool special = piece == kStartText || piece == kEndText;  // e.g. from "<|StartOfText|>"
            if (special && options_.normalization == TextNormalization::ftfy) {
                ids.push_back(piece == kStartText ? kStartOfText
                                                  : kEndOfText);  // the slow tokenizer's BPE cache
            } else if (special) {
                // tokenizers' ByteLevel pre-tokenizer splits each piece again with the GPT-2 pattern, which
                // changes only these: "<|", the word, "|>".
                for (const auto& part :
                     {piece.substr(0, 2), piece.substr(2, piece.size() - 4), piece.substr(piece.size() - 2)})
                    for (const int64_t id : encode_piece(part)) ids.push_back(id);
            } else {
                for (const int64_t id : encode_piece(piece)) ids.push_back(id);
            }
        }
        if (U_FAILURE(status))
            throw std::runtime_error(std::string("ICU regex matching: ") + u_errorName(status));
    };
    // The special tokens are split off first, exactly as written, as both transformers tokenizers do.
    for (size_t pos = 0;;) {
        const size_t start = text.find(kStartText, pos), end = text.find(kEndText, pos);
        const size_t next = std::min(start, end);
        encode_segment(
            text.substr(pos, next == std::string_view::npos ? std::string_view::npos : next - pos));
        if (next == std::string_view::npos) break;
        ids.push_back(next == start ? kStartOfText : kEndOfText);
        pos = next + (next == start ? kStartText.size() : kEndText.size());
    }
    return ids;
}

std::vector<int64_t> ClipTokenizer::encode_padded(std::string_view text, int length) const {
    if (length < 2)
        fail("token sequence length too small", "at least 2 (start and end token)", std::to_string(length),
             "SD 1.x uses 77");
    const auto content = encode(text);
    std::vector<int64_t> row{kStartOfText};
    row.insert(row.end(), content.begin(), content.begin() + std::min<size_t>(content.size(), length - 2));
    row.resize(length, kEndOfText);  // the end token, then padding with the same id
    return row;
}

torch::Tensor ClipTokenizer::encode_batch(const std::vector<std::string>& texts, int length) const {
    auto out = torch::empty({static_cast<int64_t>(texts.size()), length}, torch::kInt64);
    auto rows = out.accessor<int64_t, 2>();
    for (size_t b = 0; b < texts.size(); ++b) {
        const auto row = encode_padded(texts[b], length);
        for (int i = 0; i < length; ++i) rows[b][i] = row[i];
    }
    return out;
}

std::vector<std::string> read_prompt_lines(const fs::path& file) {
    const std::string text = read_bytes(file, "prompt file", "check the path given to --file");
    std::vector<std::string> prompts;
    auto lines = split_lines(text);
    if (!lines.empty() && lines.back().empty()) lines.pop_back();  // the final line end
    for (size_t i = 0; i < lines.size(); ++i) {
        std::string_view line = lines[i];
        if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
        require_utf8(line, "line " + std::to_string(i + 1) + " of '" + file.string() + "'");
        prompts.emplace_back(line);
    }
    return prompts;
}

std::string ids_to_json(const std::vector<int64_t>& ids) {
    std::string out = "[";
    for (size_t i = 0; i < ids.size(); ++i) out += (i ? ", " : "") + std::to_string(ids[i]);
    return out + "]";
}

}  // namespace stablepose
