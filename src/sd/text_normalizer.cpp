// ftfy 6.3 fix_text (ftfy/__init__.py: fix_text, fix_and_explain; ftfy/fixes.py) without fix_encoding, and
// the normaliser of transformers' CLIPTokenizer (NFC, Replace(\s+, " "), Lowercase).
#include "stablepose/sd/text_normalizer.h"

#include <array>
#include <climits>
#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>

#include <unicode/locid.h>
#include <unicode/normalizer2.h>
#include <unicode/uchar.h>
#include <unicode/uniset.h>
#include <unicode/unistr.h>
#include <unicode/utf8.h>

#include "stablepose/error.h"

namespace stablepose {
namespace detail {
extern const std::string_view kHtmlEntityTable;  // html_entities.cpp
}

namespace {

using Text = std::u32string;

Text decode(std::string_view utf8) {
    Text out;
    out.reserve(utf8.size());
    const auto* s = reinterpret_cast<const uint8_t*>(utf8.data());
    const auto n = static_cast<int32_t>(utf8.size());
    for (int32_t i = 0; i < n;) {
        UChar32 c;
        U8_NEXT(s, i, n, c);
        out.push_back(static_cast<char32_t>(c));  // callers validated the text
    }
    return out;
}

std::string encode(const Text& text) {
    std::string out;
    out.reserve(text.size());
    for (const char32_t c : text) {
        uint8_t buf[4];
        int32_t len = 0;
        U8_APPEND_UNSAFE(buf, len, c);
        out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(len));
    }
    return out;
}

icu::UnicodeString to_icu(const Text& text) {
    return icu::UnicodeString::fromUTF32(reinterpret_cast<const UChar32*>(text.data()),
                                         static_cast<int32_t>(text.size()));
}

Text from_icu(const icu::UnicodeString& s) {
    Text out;
    for (int32_t i = 0; i < s.length(); i = s.moveIndex32(i, 1))
        out.push_back(static_cast<char32_t>(s.char32At(i)));
    return out;
}

enum class Form { nfc, nfkc, nfc_unicode9 };

// nfc_unicode9: NFC with Unicode 9.0 data, as the `tokenizers` library ships it (through the
// unicode-normalization-alignments crate): characters assigned later count as unassigned, e.g. U+0D3B
// (Unicode 10, combining class 9) is not reordered before U+0307. ICU's FilteredNormalizer2 restricted to
// [:age=9.0:] gives exactly that, since combining classes and decompositions never change once assigned.
const icu::Normalizer2& normalizer(Form form) {
    static const struct Normalizers {
        const icu::Normalizer2* nfc = nullptr;
        const icu::Normalizer2* nfkc = nullptr;
        icu::UnicodeSet unicode9;
        std::unique_ptr<icu::FilteredNormalizer2> nfc_unicode9;
        Normalizers() {
            UErrorCode status = U_ZERO_ERROR;
            nfc = icu::Normalizer2::getNFCInstance(status);
            nfkc = icu::Normalizer2::getNFKCInstance(status);
            unicode9.applyPattern(icu::UnicodeString(u"[:age=9.0:]"), status);
            if (U_FAILURE(status))
                throw std::runtime_error(std::string("ICU normaliser: ") + u_errorName(status));
            unicode9.freeze();
            nfc_unicode9 = std::make_unique<icu::FilteredNormalizer2>(*nfc, unicode9);
        }
    } normalizers;
    return form == Form::nfc    ? *normalizers.nfc
           : form == Form::nfkc ? *normalizers.nfkc
                                : *normalizers.nfc_unicode9;
}

Text normalize(const Text& text, Form form) {
    UErrorCode status = U_ZERO_ERROR;
    const icu::UnicodeString out = normalizer(form).normalize(to_icu(text), status);
    if (U_FAILURE(status))
        throw std::runtime_error(std::string("ICU normalisation failed: ") + u_errorName(status));
    return from_icu(out);
}

// Windows-1252 reading of U+0080..U+009F (the bytes it leaves undefined stay as they are), as both ftfy's
// fix_c1_controls ("sloppy-windows-1252") and html.unescape's table of invalid character references map them.
constexpr std::array<char32_t, 32> kWindows1252 = {
    0x20AC, 0x81,   0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x8D,   0x017D, 0x8F,   0x90,   0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x9D,   0x017E, 0x0178};

bool is_ascii_alnum(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z'); }
bool is_hex(char32_t c) { return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'f'); }

// html.unescape of one numeric reference "&#...;" (Python's html._replace_charref), or nullopt where it would
// not consume the whole reference.
std::optional<Text> numeric_reference(const Text& entity) {
    const Text body = entity.substr(2, entity.size() - 3);
    const bool hex = body[0] == 'x' || body[0] == 'X';
    const size_t start = hex ? 1 : 0;
    if (body.size() == start) return std::nullopt;
    char32_t value = 0;
    bool too_big = false;
    for (size_t i = start; i < body.size(); ++i) {
        if (hex ? !is_hex(body[i]) : !(body[i] >= '0' && body[i] <= '9')) return std::nullopt;
        const char32_t digit = body[i] <= '9' ? body[i] - '0' : (body[i] | 0x20) - 'a' + 10;
        if (!too_big) value = value * (hex ? 16 : 10) + digit;
        too_big = too_big || value > 0x10FFFF;
    }
    if (too_big) return Text(1, 0xFFFD);
    if (value == 0) return Text(1, 0xFFFD);
    if (value == 0x0D) return Text(1, 0x0D);
    if (value >= 0x80 && value <= 0x9F) return Text(1, kWindows1252[value - 0x80]);
    if (value >= 0xD800 && value <= 0xDFFF) return Text(1, 0xFFFD);
    const bool invalid = (value >= 0x1 && value <= 0x8) || value == 0xB || (value >= 0xE && value <= 0x1F) ||
                         value == 0x7F || (value >= 0xFDD0 && value <= 0xFDEF) || (value & 0xFFFE) == 0xFFFE;
    return invalid ? Text() : Text(1, value);
}

// ftfy.fixes.unescape_html: every match of &#?[0-9A-Za-z]{1,24}; that ftfy's table or html.unescape decodes.
Text unescape_html(const Text& text) {
    Text out;
    for (size_t i = 0; i < text.size(); ++i) {
        size_t end = std::u32string::npos;
        if (text[i] == '&') {
            const size_t first = i + 1 + (i + 1 < text.size() && text[i + 1] == '#');
            size_t j = first;
            while (j < text.size() && is_ascii_alnum(text[j])) ++j;
            if (j > first && j - first <= 24 && j < text.size() && text[j] == ';') end = j;
        }
        if (end == std::u32string::npos) {
            out.push_back(text[i]);
            continue;
        }
        const Text entity = text.substr(i, end - i + 1);
        const auto& table = html_entities();
        if (const auto it = table.find(encode(entity)); it != table.end()) {
            out += decode(it->second);
        } else if (entity[1] == '#') {
            const auto value = numeric_reference(entity);
            out += value && value->find(U';') == Text::npos ? *value : entity;
        } else {
            out += entity;
        }
        i = end;
    }
    return out;
}

// ftfy.chardata.LIGATURES: the letters a Latin ligature or digraph stands for; empty for other characters.
std::u32string_view ligature(char32_t c) {
    static const std::map<char32_t, std::u32string_view> table = {
        {U'Ĳ', U"IJ"},  {U'ĳ', U"ij"},  {U'ŉ', U"ʼn"}, {U'Ǳ', U"DZ"}, {U'ǲ', U"Dz"}, {U'ǳ', U"dz"},
        {U'Ǆ', U"DŽ"},  {U'ǅ', U"Dž"},  {U'ǆ', U"dž"}, {U'Ǉ', U"LJ"}, {U'ǈ', U"Lj"}, {U'ǉ', U"lj"},
        {U'Ǌ', U"NJ"},  {U'ǋ', U"Nj"},  {U'ǌ', U"nj"}, {U'ﬀ', U"ff"}, {U'ﬁ', U"fi"}, {U'ﬂ', U"fl"},
        {U'ﬃ', U"ffi"}, {U'ﬄ', U"ffl"}, {U'ﬅ', U"ſt"}, {U'ﬆ', U"st"}};
    const auto it = table.find(c);
    return it == table.end() ? std::u32string_view() : it->second;
}

const Text& width_form(char32_t c) {  // ftfy.chardata.WIDTH_MAP: U+3000 and the NFKC forms of U+FF01..U+FFEF
    static const std::array<Text, 0xFFF0 - 0xFF01> table = [] {
        std::array<Text, 0xFFF0 - 0xFF01> t;
        for (char32_t k = 0xFF01; k < 0xFFF0; ++k) {
            const Text alternate = normalize(Text(1, k), Form::nfkc);
            if (alternate != Text(1, k)) t[k - 0xFF01] = alternate;
        }
        return t;
    }();
    static const Text space = U" ", none;
    if (c == 0x3000) return space;
    return c >= 0xFF01 && c < 0xFFF0 ? table[c - 0xFF01] : none;
}

// The per-character fixers in fix_and_explain's order: fix_c1_controls, fix_latin_ligatures,
// fix_character_width, uncurl_quotes, fix_line_breaks.
Text fix_characters(const Text& text) {
    Text step;
    for (char32_t c : text) {
        if (c >= 0x80 && c <= 0x9F) c = kWindows1252[c - 0x80];
        const auto letters = ligature(c);
        if (letters.empty())
            step.push_back(c);
        else
            step += letters;
    }
    Text out;
    for (char32_t c : step) {
        const Text& wide = width_form(c);
        for (char32_t w : wide.empty() ? Text(1, c) : wide) {
            if (w == 0x02BC || (w >= 0x2018 && w <= 0x201B)) w = '\'';
            if (w >= 0x201C && w <= 0x201F) w = '"';
            out.push_back(w);
        }
    }
    Text lines;
    for (size_t i = 0; i < out.size(); ++i) {
        const char32_t c = out[i];
        if (c == '\r' && i + 1 < out.size() && out[i + 1] == '\n') continue;  // "\r\n" -> "\n"
        lines.push_back(c == '\r' || c == 0x2028 || c == 0x2029 || c == 0x85 ? U'\n' : c);
    }
    return lines;
}

// remove_terminal_escapes (\x1b\[(\d|;)*[a-zA-Z], \d any decimal digit) then remove_control_chars.
Text remove_escapes_and_controls(const Text& text) {
    Text out;
    for (size_t i = 0; i < text.size(); ++i) {
        if (text[i] == 0x1B && i + 1 < text.size() && text[i + 1] == '[') {
            size_t j = i + 2;
            while (j < text.size() &&
                   (text[j] == ';' || u_charType(static_cast<UChar32>(text[j])) == U_DECIMAL_DIGIT_NUMBER))
                ++j;
            if (j < text.size() && ((text[j] | 0x20) >= 'a' && (text[j] | 0x20) <= 'z')) {
                i = j;
                continue;
            }
        }
        const char32_t c = text[i];
        const bool control = c <= 0x08 || c == 0x0B || (c >= 0x0E && c <= 0x1F) || c == 0x7F ||
                             (c >= 0x206A && c <= 0x206F) || c == 0xFEFF || (c >= 0xFFF9 && c <= 0xFFFC);
        if (!control) out.push_back(c);
    }
    return out;
}

// fix_and_explain on one segment: all fixes, repeated until the text stops changing.
Text fix_segment(Text text, bool unescape) {
    while (true) {
        const Text before = text;
        if (unescape) text = unescape_html(text);
        text = normalize(remove_escapes_and_controls(fix_characters(text)), Form::nfc);
        if (text == before) return text;
    }
}

bool is_python_space(char32_t c) {  // str.isspace(): White_Space plus U+001C..U+001F
    return u_isUWhiteSpace(static_cast<UChar32>(c)) || (c >= 0x1C && c <= 0x1F);
}

// Every run of `is_space` characters becomes one " " (Python's re.sub(r"\s+", " ", text)).
template <typename IsSpace>
Text collapse_whitespace(const Text& text, IsSpace is_space) {
    Text out;
    for (const char32_t c : text) {
        if (!is_space(c))
            out.push_back(c);
        else if (out.empty() || out.back() != U' ')
            out.push_back(U' ');  // a ' ' in `out` ends a run
    }
    return out;
}

}  // namespace

std::string_view to_string(TextNormalization mode) {
    return mode == TextNormalization::ftfy ? "ftfy" : "transformers";
}

TextNormalization parse_text_normalization(std::string_view name) {
    if (name == "transformers") return TextNormalization::transformers;
    if (name == "ftfy") return TextNormalization::ftfy;
    fail("unknown text normalisation '" + std::string(name) + "'", "transformers or ftfy", std::string(name),
         "transformers: as diffusers' StableDiffusionPipeline with transformers 5; ftfy: the slow "
         "transformers 4 CLIPTokenizer with ftfy installed");
}

void require_utf8(std::string_view text, std::string_view what) {
    const auto* s = reinterpret_cast<const uint8_t*>(text.data());
    const auto n = static_cast<int32_t>(text.size());
    if (text.size() > static_cast<size_t>(INT32_MAX))
        fail(std::string(what) + " is too long", "at most 2 GiB", std::to_string(text.size()) + " bytes");
    for (int32_t i = 0; i < n;) {
        const int32_t start = i;
        UChar32 c;
        U8_NEXT(s, i, n, c);
        if (c < 0) {
            char byte[8];
            std::snprintf(byte, sizeof byte, "0x%02X", s[start]);
            fail(std::string(what) + " is not valid UTF-8", "UTF-8 text",
                 "an invalid sequence starting with byte " + std::string(byte) + " at byte offset " +
                     std::to_string(start),
                 "re-encode the text as UTF-8 (e.g. iconv -f latin1 -t utf-8)");
        }
    }
}

const std::map<std::string, std::string, std::less<>>& html_entities() {
    static const auto table = [] {
        std::map<std::string, std::string, std::less<>> t;
        std::string_view data = detail::kHtmlEntityTable;
        while (!data.empty()) {
            const size_t space = data.find(' '), equals = data.find('=');
            const std::string_view entry = data.substr(0, space), name = entry.substr(0, equals);
            std::string_view codes = entry.substr(equals + 1);
            Text value;
            while (!codes.empty()) {
                const size_t dot = codes.find('.');
                value.push_back(
                    static_cast<char32_t>(std::stoul(std::string(codes.substr(0, dot)), nullptr, 16)));
                codes = dot == std::string_view::npos ? std::string_view() : codes.substr(dot + 1);
            }
            t.emplace("&" + std::string(name) + ";", encode(value));
            data = space == std::string_view::npos ? std::string_view() : data.substr(space + 1);
        }
        return t;
    }();
    return table;
}

std::string ftfy_fix_text(std::string_view utf8) {
    require_utf8(utf8, "text");
    const Text text = decode(utf8);
    // fix_text: segments end after each "\n" (or at 1,000,000 code points). In "auto" mode HTML unescaping
    // stops for good at the first segment holding '<'.
    constexpr size_t kMaxSegment = 1'000'000;
    bool unescape = true;
    Text out;
    for (size_t pos = 0; pos < text.size();) {
        size_t end = text.find(U'\n', pos);
        end = end == Text::npos ? text.size() : end + 1;
        end = std::min(end, pos + kMaxSegment);
        const Text segment = text.substr(pos, end - pos);
        if (segment.find(U'<') != Text::npos) unescape = false;
        out += fix_segment(segment, unescape);
        pos = end;
    }
    return encode(out);
}

std::string python_lower(std::string_view utf8) {
    require_utf8(utf8, "text");
    icu::UnicodeString s =
        icu::UnicodeString::fromUTF8(icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
    std::string out;
    s.toLower(icu::Locale::getRoot()).toUTF8String(out);
    return out;
}

std::string normalize_clip_text(std::string_view utf8, TextNormalization mode) {
    if (mode == TextNormalization::ftfy) {
        Text text = collapse_whitespace(decode(ftfy_fix_text(utf8)), is_python_space);
        const size_t first = text.find_first_not_of(U' '), last = text.find_last_not_of(U' ');
        text = first == Text::npos ? Text() : text.substr(first, last - first + 1);  // str.strip()
        return python_lower(encode(text));
    }
    require_utf8(utf8, "text");
    const Text text = collapse_whitespace(normalize(decode(utf8), Form::nfc_unicode9), [](char32_t c) {
        return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
    });
    // tokenizers' Lowercase maps each character on its own (Rust char::to_lowercase): no final-sigma context.
    Text lower;
    for (const char32_t c : text) {
        if (c < 0x80) {
            lower.push_back(c >= 'A' && c <= 'Z' ? c + 32 : c);
            continue;
        }
        icu::UnicodeString one(static_cast<UChar32>(c));
        lower += from_icu(one.toLower(icu::Locale::getRoot()));
    }
    return encode(lower);
}

}  // namespace stablepose
