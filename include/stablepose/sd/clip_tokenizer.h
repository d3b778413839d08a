// CLIP BPE tokenizer of the SD 1.x text encoder (spec evaluation.md §10), reproducing transformers'
// CLIPTokenizer: ids per §10.2, pre-tokenisation per §10.4 (ICU regular expressions), BPE per §10.5, and the
// SD 1.x layout [49406] + first 75 content ids + [49407], padded with 49407 to 77.
//
// Text normalisation follows TextNormalization (text_normalizer.h). The default, `transformers`, is the
// tokenizer diffusers' StableDiffusionPipeline loads with the pinned transformers 5.x: it does not run ftfy.
// `ftfy` is the slow transformers 4.x tokenizer with ftfy installed, minus ftfy's mojibake repair (documented
// divergence: text such as "sÃ³" stays as it is). docs/tokenize.md lists where the two differ.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <torch/types.h>

#include "stablepose/sd/text_normalizer.h"

namespace stablepose {

struct ClipTokenizerOptions {
    // ftfy: what the official code ran (transformers 4.19 slow CLIPTokenizer, ftfy installed via open-clip)
    TextNormalization normalization = TextNormalization::ftfy;
};

class ClipTokenizer {
public:
    static constexpr int64_t kStartOfText = 49406;
    static constexpr int64_t kEndOfText = 49407;  // also the SD 1.x padding id
    static constexpr int64_t kVocabSize = 49408;
    static constexpr int kMerges = 48894;
    static constexpr int kContextLength = 77;
    // OpenAI's bpe_simple_vocab_16e6.txt.gz (1,356,917 bytes); checked whenever a file of that name loads.
    static constexpr std::string_view kOpenAiVocabularySha256 =
        "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a";

    // Picks the format from the path: "*.gz" -> OpenAI vocabulary; "*.json" / "*.txt" -> the HF pair
    // (vocab.json / merges.txt, the other file taken from the same folder); a folder -> its vocab.json and
    // merges.txt.
    static ClipTokenizer from_file(const std::filesystem::path& path, ClipTokenizerOptions options = {});
    // The gzip merge list; its sha256 is checked when the file is named bpe_simple_vocab_16e6.txt.gz, and its
    // structure (header line, 48,894 "left right" merges) always.
    static ClipTokenizer from_openai_vocabulary(const std::filesystem::path& gz,
                                                ClipTokenizerOptions options = {});
    // HF files: vocab.json {token: id} and merges.txt ("#version: 0.2" header, then 48,894 merges).
    static ClipTokenizer from_hf_files(const std::filesystem::path& vocab_json,
                                       const std::filesystem::path& merges_txt,
                                       ClipTokenizerOptions options = {});
    // The vocabulary the project ships (assets/clip, found through clip_vocabulary_path()).
    static ClipTokenizer vendored(ClipTokenizerOptions options = {});

    // Content ids of `text` (UTF-8), without start/end tokens and untruncated. A literal <|startoftext|> or
    // <|endoftext|> becomes its special id. Throws Error for text that is not UTF-8.
    std::vector<int64_t> encode(std::string_view text) const;
    // [49406] + first length-2 content ids + [49407], padded with 49407 to `length` (>= 2).
    std::vector<int64_t> encode_padded(std::string_view text, int length = kContextLength) const;
    // texts: B prompts; returns [B, length] int64 ids, each row as encode_padded.
    torch::Tensor encode_batch(const std::vector<std::string>& texts, int length = kContextLength) const;

    TextNormalization normalization() const { return options_.normalization; }

    struct Tables;  // vocabulary, merge ranks and the per-word cache (clip_tokenizer.cpp)

private:
    ClipTokenizer(std::shared_ptr<Tables> tables, ClipTokenizerOptions options);
    std::vector<int64_t> encode_piece(std::string_view piece) const;

    std::shared_ptr<Tables> tables_;  // shared by copies; the word cache inside is guarded by a mutex
    ClipTokenizerOptions options_;
};

// One prompt per line of a UTF-8 text file ("\n" or "\r\n" line ends; a final line end adds no prompt).
// Throws Error for a missing file or a line that is not UTF-8, naming the line.
std::vector<std::string> read_prompt_lines(const std::filesystem::path& file);

// A row of ids as a JSON array: "[49406, 320, 49407]".
std::string ids_to_json(const std::vector<int64_t>& ids);

}  // namespace stablepose
