// Prompt text normalisation of the CLIP tokenizer (spec evaluation.md §10.3): transformers' CLIPTokenizer
// pipeline, or ftfy 6's fix_text (ftfy/__init__.py, ftfy/fixes.py) as the slow transformers 4.x tokenizer ran
// it. Unicode data (categories, NFC/NFKC, case mapping) comes from ICU.
//
// Divergence, documented in docs/tokenize.md: ftfy's mojibake repair (fix_encoding: re-decoding text that was
// decoded with the wrong codec, e.g. "sÃ³" -> "só") is not implemented; such text is kept as it is. Every
// other step ftfy.fix_text applies by default is. fix_surrogates has nothing to do here: valid UTF-8 holds no
// surrogates, and invalid UTF-8 is rejected.
#pragma once

#include <map>
#include <string>
#include <string_view>

namespace stablepose {

// Which Python tokenizer's text handling the CLIP tokenizer reproduces.
enum class TextNormalization {
    // transformers 5.x CLIPTokenizer (backed by the `tokenizers` library), the class diffusers'
    // StableDiffusionPipeline loads with the pinned transformers: NFC with Unicode 9.0 data (as `tokenizers`
    // ships it), every White_Space run -> " ", then each character lower-cased on its own (no final-sigma
    // rule). No ftfy, no HTML unescaping, no strip.
    transformers,
    // transformers 4.x slow CLIPTokenizer with ftfy installed (SD 1.x pipelines before transformers 5):
    // ftfy.fix_text, whitespace runs -> " ", strip, Python str.lower().
    ftfy,
};

std::string_view to_string(TextNormalization mode);
// "transformers" or "ftfy"; throws Error naming the choices otherwise.
TextNormalization parse_text_normalization(std::string_view name);

// ftfy.fix_text(text) with its default configuration except fix_encoding (mojibake repair): HTML entities
// unescaped unless the line (or an earlier one) holds '<', C1 controls read as Windows-1252, Latin ligatures
// split, fullwidth/halfwidth forms to normal width, curly quotes straightened, line breaks to "\n", terminal
// escapes and control characters removed, NFC; repeated per line until nothing changes.
std::string ftfy_fix_text(std::string_view utf8);

// Python str.lower(): full Unicode lower-case mapping, final sigma included (ICU root locale).
std::string python_lower(std::string_view utf8);

// The text as the chosen tokenizer hands it to pre-tokenisation (one piece between special tokens).
std::string normalize_clip_text(std::string_view utf8, TextNormalization mode);

// ftfy's HTML entity table, keyed by the full entity ("&eacute;" -> "é", "&EACUTE;" -> "É").
const std::map<std::string, std::string, std::less<>>& html_entities();

// Throws Error naming `what` and the byte offset of the first invalid sequence when `text` is not UTF-8.
void require_utf8(std::string_view text, std::string_view what);

}  // namespace stablepose
