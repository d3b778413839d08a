#!/usr/bin/env python3
"""Reference token ids for the C++ CLIP tokenizer (spec evaluation.md §10), from the Python tokenizers.

Two references, one per normalisation mode of stablepose::ClipTokenizer:
- "transformers": transformers' CLIPTokenizer as the pinned transformers (5.x) defines it, the class diffusers'
  StableDiffusionPipeline loads. It is backed by the `tokenizers` library and applies NFC, whitespace runs -> " "
  and lower-casing; it does NOT run ftfy. Built here from vocab.json + merges.txt written from the vendored
  OpenAI vocabulary (§10.2), since no model hub is reachable.
- "ftfy": the slow CLIPTokenizer of transformers 4.x with ftfy installed (the tokenizer SD 1.x pipelines used
  before transformers 5): ftfy.fix_text, whitespace collapse + strip, str.lower(), the `regex` pattern with
  IGNORECASE, and BPE. transformers 5 no longer ships it, so it is written out below from its 4.x source.
  Rows whose ftfy output depends on mojibake repair (not implemented in C++) are flagged, and carry the ids
  that ftfy gives with fix_encoding=False as well.

Usage: make_tokenizer_golden.py OUT_DIR
Writes OUT_DIR/clip_tokenizer.json (prompts, 77-id rows, ftfy texts, ftfy's HTML entity table, hashlib
digests), OUT_DIR/clip_hf/{vocab.json,merges.txt} and OUT_DIR/tokenize_cli_prompts.txt (for cli.tokenize).
Deterministic: fixed seed, sorted pools.
"""
import gzip
import hashlib
import json
import random
import sys
import unicodedata
import warnings
from pathlib import Path

import ftfy
import ftfy.chardata
import regex
import transformers

ROOT = Path(__file__).resolve().parents[2]
GZ = ROOT / "assets" / "clip" / "bpe_simple_vocab_16e6.txt.gz"
GZ_SHA256 = "924691ac288e54409236115652ad4aa250f48203de50a9e4722a6ecd48d6804a"
SOT, EOT = "<|startoftext|>", "<|endoftext|>"
FIXTURES = {  # §10.7
    "a photo of a cat": [49406, 320, 1125, 539, 320, 2368, 49407],
    "oil painting of girls dancing on the stage": [49406, 2870, 3086, 539, 1917, 6226, 525, 518, 2170, 49407],
    "Two people, dancing!! 2024": [49406, 1237, 1047, 267, 6226, 748, 273, 271, 273, 275, 49407],
    "longbody, lowres, bad anatomy": [49406, 4792, 1774, 267, 1049, 934, 267, 2103, 15376, 49407],
}


def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    cs = bs[:]
    n = 0
    for b in range(256):
        if b not in bs:
            bs.append(b)
            cs.append(256 + n)
            n += 1
    return dict(zip(bs, [chr(c) for c in cs]))


def write_hf_files(out_dir):
    """vocab.json + merges.txt from the OpenAI gz file, as CLIP's SimpleTokenizer builds its encoder (§10.2)."""
    lines = gzip.open(GZ).read().decode("utf-8").split("\n")
    merges = [tuple(m.split()) for m in lines[1 : 49152 - 256 - 2 + 1]]
    vocab = list(bytes_to_unicode().values())
    vocab += [v + "</w>" for v in vocab]
    vocab += ["".join(m) for m in merges] + [SOT, EOT]
    encoder = dict(zip(vocab, range(len(vocab))))
    assert len(encoder) == 49408 and len(merges) == 48894
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "vocab.json").write_text(json.dumps(encoder, ensure_ascii=False), encoding="utf-8")
    (out_dir / "merges.txt").write_text("#version: 0.2\n" + "".join(f"{a} {b}\n" for a, b in merges), encoding="utf-8")


class SlowClipTokenizer:
    """transformers 4.x `CLIPTokenizer` (PreTrainedTokenizer) with ftfy present, reduced to what encoding uses."""

    def __init__(self, folder, fix_text):
        self.encoder = json.loads((folder / "vocab.json").read_text(encoding="utf-8"))
        merges = (folder / "merges.txt").read_text(encoding="utf-8").strip().split("\n")[1 : 49152 - 256 - 2 + 1]
        self.ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
        self.byte_encoder = bytes_to_unicode()
        self.fix_text = fix_text
        self.cache = {SOT: SOT, EOT: EOT}
        self.pat = regex.compile(
            r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""",
            regex.IGNORECASE)

    def bpe(self, token):
        if token in self.cache:
            return self.cache[token]
        word = tuple(token[:-1]) + (token[-1] + "</w>",)
        while len(word) > 1:
            pairs = {(a, b) for a, b in zip(word, word[1:])}
            bigram = min(pairs, key=lambda p: self.ranks.get(p, float("inf")))
            if bigram not in self.ranks:
                break
            merged, i = [], 0
            while i < len(word):
                if i < len(word) - 1 and (word[i], word[i + 1]) == bigram:
                    merged.append(word[i] + word[i + 1])
                    i += 2
                else:
                    merged.append(word[i])
                    i += 1
            word = tuple(merged)
        self.cache[token] = " ".join(word)
        return self.cache[token]

    def _tokenize(self, text):
        text = regex.sub(r"\s+", " ", self.fix_text(text)).strip().lower()  # whitespace_clean, then lower()
        out = []
        for token in regex.findall(self.pat, text):
            token = "".join(self.byte_encoder[b] for b in token.encode("utf-8"))
            out.extend(self.bpe(token).split(" "))
        return out

    def encode_padded(self, text, length=77):
        ids = []
        for chunk in regex.split(r"(<\|startoftext\|>|<\|endoftext\|>)", text):  # added-token split, exact case
            if chunk in (SOT, EOT):
                ids.append(self.encoder[chunk])
            elif chunk:
                ids.extend(self.encoder[t] for t in self._tokenize(chunk))
        ids = [49406] + ids[: length - 2] + [49407]
        return ids + [49407] * (length - len(ids))


# ---------------------------------------------------------------------------------------------------------
# Prompts
# ---------------------------------------------------------------------------------------------------------

ASCII_WORDS = sorted("""photo cat dog portrait woman man girl boy dancing stage painting oil masterpiece quality detailed
realistic lowres anatomy hands fingers cropped worst jpeg artifacts blurry sky mountain river forest city night neon
cyberpunk steampunk fantasy castle dragon knight samurai robot astronaut beach sunset sunrise studio lighting bokeh
cinematic octane render unreal engine trending artstation greg rutkowski watercolor sketch charcoal anime manga
highres absurdres solo standing sitting running jumping yoga ballet hip-hop skateboard surfing football people
crowd couple family children elderly smiling profile full-body close-up wide-angle telephoto 35mm 85mm f/1.8
longbody extra limbs missing arms deformed mutated ugly duplicate""".split())
PHRASES = ["a photo of a cat", "oil painting of girls dancing on the stage", "Two people, dancing!! 2024",
           "longbody, lowres, bad anatomy", "best quality", "highly detailed", "8k uhd", "ultra-realistic",
           "(masterpiece:1.2)", "((best quality))", "[[worst quality]]", "{detailed face}", "<lora:style:0.8>",
           "photo by Annie Leibovitz", "in the style of Studio Ghibli", "trending on ArtStation"]
ACCENTED = ["café", "naïve", "résumé", "Ångström", "São Paulo", "Zürich", "jalapeño", "façade", "crème brûlée",
            "Dvořák", "Łódź", "smörgåsbord", "ÉCOLE", "ŒUVRE", "Ærøskøbing", "e\u0301", "cafe\u0301",
            "a\u0308rger", "n\u0303", "A\u030a", "Ω", "Å", "ǰ", "İstanbul", "ß", "ẞ", "STRAẞE", "ǅ", "ǈ",
            "ΟΔΟΣ", "ΣΑΣ.", "Σίσυφος", "ὈΔΥΣΣΕΎΣ", "ᾼ", "ᾳ", "a\u0345", "\u0345", "K", "Kelvin", "ſ", "it'ſ", "ꭰ", "Ꭰ"]
SCRIPTS = ["中文", "美丽的女孩在跳舞", "日本語のテキスト", "東京タワー", "ひらがな", "カタカナ", "한국어", "서울의 밤", "山水画",
           "猫", "Русский текст", "ДЕВУШКА", "Ελληνικά", "עברית", "العربية", "هذا نص", "हिन्दी", "नमस्ते", "ไทย",
           "ภาษาไทย", "ქართული", "Հայերեն", "ᚠᚢᚦ", "𝔉𝔯𝔞𝔨𝔱𝔲𝔯", "𝐁𝐨𝐥𝐝", "ⓐⓑⓒ", "Ⓐ", "🅰"]
EMOJI = ["😀", "😂", "🔥", "👍", "👍🏽", "👍🏿", "👩🏿‍🎨", "👨‍👩‍👧‍👦", "🏳️‍🌈", "🇫🇷", "🇯🇵", "1️⃣", "❤️", "✨",
         "🐱", "🧑‍🚀", "👁️‍🗨️", "☕", "🏃‍♀️", "🤷🏻‍♂️", "💃🏾", "🕺", "😀😀😀", "🏴󠁧󠁢󠁷󠁬󠁳󠁿", "©️", "™"]
NUMBERS = ["2024", "3.14", "1,000,000", "1920x1080", "١٢٣", "½", "²", "Ⅻ", "ⅷ", "①", "𝟙𝟚", "४२", "0.5", "-7",
           "+42", "1e10", "#1", "No.5", "50%", "$100", "€20", "¥500", "12:30", "24/7", "3rd", "IV"]
PUNCT = ["!!!", "???", "...", "…", "---", "—", "–", "~~", "***", "@@", "#hashtag", "a/b", "\\", "|", "^_^", ":)",
         ";-)", "<3", "¯\\_(ツ)_/¯", "(", ")", "[", "]", "{", "}", "<", ">", "«quoted»", "•", "·", "§", "¶", "†",
         "°", "±", "×", "÷", "'", "''", "'''", '"', "`", "´", "!?", ".,;:", "&", "&;", "& ", "?!?!"]
ENTITIES = ["&amp;", "&lt;", "&gt;", "&quot;", "&#39;", "&#x27;", "&nbsp;", "&eacute;", "&EACUTE;", "&hellip;",
            "&mdash;", "&copy;", "&reg;", "&trade;", "&euro;", "&amp;amp;", "&amp;lt;", "&#8217;", "&#x201C;",
            "&#128512;", "&#x1F600;", "&#0;", "&#1;", "&#13;", "&#128;", "&#150;", "&#59;", "&#xD800;",
            "&#1114112;", "&#99999999999999999999;", "&notanentity;", "&#xZZ;", "&Amp;", "&AMP;", "&AMP", "&amp",
            "&NTILDE;", "&SZLIG;", "&nTILDE;", "&ThinSpace;", "&NewLine;", "&Tab;", "&nbsp", "&#x41g;", "&#65;",
            "&NotEqualTilde;", "&fjlig;", "&aaaaaaaaaaaaaaaaaaaaaaaaa;", "&#0000000000000000000065;", "&lt;|endoftext|&gt;"]
QUOTES = ["‘single’", "“double”", "it’s", "don’t", "‚low‘", "„low“", "‛rev‛", "‟rev‟", "ʼapostrophe", "«guillemets»",
          "′prime″", "＂wide＂", "＇wide＇", "「corner」", "『white』"]
LIGATURES = ["ﬁne", "ﬂower", "ﬀ", "oﬃce", "waﬄe", "ﬅ", "ﬆar", "Ĳssel", "ĳs", "ŉ", "Ǳ", "ǲ", "ǳ", "Ǆ", "ǅ", "ǆ", "Ǉ",
             "ǈ", "ǉ", "Ǌ", "ǋ", "ǌ", "æther", "œuvre"]
FULLWIDTH = ["ＬＯＵＤ　ＮＯＩＳＥＳ", "ＡＢＣ１２３！？", "ｈｅｌｌｏ", "ｶﾀｶﾅ", "ｶﾞｷﾞ", "ﾊﾟﾝ", "￥", "￡", "￦", "｡", "､", "ﾡ",
             "（ｆｕｌｌ）", "［ｔａｇ］", "＠", "～"]
WHITESPACE = [" ", "  ", "\t", "\n", "\r\n", "\r", "\u00a0", "\u3000", "\u2002", "\u2003", "\u2009", "\u200a",
              "\u202f", "\u205f", "\u1680", "\u2028", "\u2029", "\u0085", "\x0b", "\x0c", " \t \n "]
CONTROLS = ["\x00", "\x01", "\x07", "\x08", "\x1b", "\x1b[31m", "\x1b[0m", "\x1b[1;32m", "\x7f", "\x80", "\x81",
            "\x85", "\x91", "\x92", "\x93", "\x94", "\x9d", "\x9f", "\u200b", "\u200c", "\u200d", "\u200e", "\u200f",
            "\u202a", "\u202e", "\u2066", "\u206a", "\ufff9", "\ufffc", "\ufffd", "\ufeff", "\u2060", "\x1c", "\x1f",
            "\xad", "\ufe0f", "\U000e0041"]
CONTRACTIONS = ["it's", "I'M", "we're", "they've", "you'll", "she'd", "IT'S", "don't", "o'clock", "rock'n'roll",
                "'tis", "WE'VE", "y'all", "cats'", "it'S"]
SPECIALS = [SOT, EOT, "<|ENDOFTEXT|>", "<|StartOfText|>", "<|endoftext", "endoftext|>", "<|ſtartoftext|>",
            "<|endoftext|><|endoftext|>", "<<|startoftext|>>"]
POOLS = [(ASCII_WORDS, 30), (PHRASES, 8), (ACCENTED, 6), (SCRIPTS, 6), (EMOJI, 6), (NUMBERS, 6), (PUNCT, 6),
         (ENTITIES, 5), (QUOTES, 4), (LIGATURES, 3), (FULLWIDTH, 3), (CONTROLS, 2), (CONTRACTIONS, 4), (SPECIALS, 1)]
SEPARATORS = [" "] * 12 + [", "] * 6 + [","] * 2 + ["", "  ", "\t", "\n", " | ", "; ", "\u00a0", "\u3000", "\r\n"]
# Planes/blocks whose Unicode 14 characters are drawn at random, to cover \p{L}/\p{N}/other and lower-casing.
BLOCKS = [(0x00A0, 0x024F), (0x0250, 0x036F), (0x0370, 0x052F), (0x0530, 0x06FF), (0x0900, 0x0DFF),
          (0x0E00, 0x0FFF), (0x10A0, 0x11FF), (0x13A0, 0x13FF), (0x1E00, 0x1FFF), (0x2000, 0x2BFF),
          (0x2C00, 0x2E7F), (0x3000, 0x30FF), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xA640, 0xABFF),
          (0xAC00, 0xD7AF), (0xF900, 0xFFEF), (0x10400, 0x104FF), (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF)]


def random_char(rng):
    while True:
        lo, hi = rng.choice(BLOCKS)
        c = chr(rng.randint(lo, hi))
        if unicodedata.category(c) not in ("Cn", "Cs", "Co"):  # assigned in Python's Unicode 14
            return c


def random_part(rng):
    pool = rng.choices([p for p, _ in POOLS], weights=[w for _, w in POOLS])[0]
    part = rng.choice(pool)
    roll = rng.random()
    if pool is ASCII_WORDS and roll < 0.15:
        part = part.upper()
    elif pool is ASCII_WORDS and roll < 0.3:
        part = part.title()
    return part


def random_prompt(rng, parts):
    text = rng.choice(["", "", "", " ", "  ", "\t", "\n", "\u3000"])
    for i in range(parts):
        if i:
            text += rng.choice(SEPARATORS)
        text += random_char(rng) * rng.randint(1, 3) if rng.random() < 0.08 else random_part(rng)
    return text + rng.choice(["", "", "", " ", "\n", "  ", "\t", "\u00a0", "."])


def prompts():
    fixed = list(FIXTURES) + ["", " ", "   ", "\t\n", "\u3000", "\u00a0x\u00a0", "  leading", "trailing  ",
                              "a" * 300, "ab" * 200, "!" * 100, "1" * 90, "😀" * 80]
    for pool in (ACCENTED, SCRIPTS, EMOJI, NUMBERS, PUNCT, ENTITIES, QUOTES, LIGATURES, FULLWIDTH, CONTROLS,
                 CONTRACTIONS, SPECIALS):
        fixed += [f"a {item} b" for item in pool]
    fixed += [f"x{w}y" for w in WHITESPACE] + ["&amp; <b>", "<i>\n&amp;", "&amp;\n<i>", "&lt;b&gt; &amp;\n<x>\n&amp;",
              "a < b &amp; c", "&amp;<|endoftext|>&amp;", "<|endoftext|>&amp; <i>", "5 &lt; 6 &amp;&amp; 7 &gt; 3",
              "sÃ³", "The Mona Lisa doesnÃ¢â‚¬â„¢t have eyebrows.", "Ã©lÃ©phant", "\x1b[36;44mblue\x1b[0m",
              "\x1b［31mred", "ŉ’", "\x91quoted\x92", "\x93double\x94", "\r\n\r\nHi.", "A\u2029B\u2028C",
              "it’s it‘s it'ſ it'S IT’S", "ﬃ ﬄ ﬅ", "ΟΔΟΣ ΟΔΟΣ. Σ ΣΑ", "İİ IıI", "a\u0345b ᾳ ᾼ",
              "x,<|ENDOFTEXT|>,y", "<|endoftext|>!", "!<|ENDOFTEXT|>!", "(<|StartOfText|>)'s",
              "☋\u0307\u0d3b", "a\u0d3b\u0307", "e\u0eba\u0301", "o\u0301\u0c3c"]  # Unicode 10+ marks: tokenizers' NFC
    rng = random.Random(20240607)
    generated = [random_prompt(rng, rng.randint(1, 24)) for _ in range(420)]
    generated += [random_prompt(rng, rng.randint(60, 160)) for _ in range(60)]  # far over 77 tokens
    return fixed + generated


# ---------------------------------------------------------------------------------------------------------


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    warnings.filterwarnings("ignore")
    out_dir = Path(sys.argv[1])
    hf_dir = out_dir / "clip_hf"
    gz_sha256 = hashlib.sha256(GZ.read_bytes()).hexdigest()
    if gz_sha256 != GZ_SHA256:
        sys.exit(f"{GZ}: sha256 {gz_sha256}, expected {GZ_SHA256}")
    write_hf_files(hf_dir)
    (out_dir / "tokenize_cli_prompts.txt").write_text("a photo of a cat\n", encoding="utf-8")  # cli.tokenize
    fast = transformers.CLIPTokenizer.from_pretrained(str(hf_dir))
    slow = SlowClipTokenizer(hf_dir, ftfy.fix_text)
    slow_no_mojibake = SlowClipTokenizer(hf_dir, lambda t: ftfy.fix_text(t, fix_encoding=False))

    rows, mojibake = [], 0
    for text in prompts():
        ids = fast(text, padding="max_length", max_length=77, truncation=True).input_ids
        row = {"text": text, "transformers": ids, "ftfy": slow.encode_padded(text),
               "ftfy_text": ftfy.fix_text(text, fix_encoding=False), "python_lower": text.lower()}
        if ftfy.fix_text(text) != row["ftfy_text"]:
            row["ftfy_without_mojibake_repair"] = slow_no_mojibake.encode_padded(text)
            mojibake += 1
        rows.append(row)
        if text in FIXTURES:
            expected = FIXTURES[text] + [49407] * (77 - len(FIXTURES[text]))
            assert ids == expected and row["ftfy"] == expected, f"§10.7 fixture differs: {text!r}"
        if regex.fullmatch(r"[A-Za-z0-9 ,.!?()\[\]:/+#%$-]*", text):  # both pipelines agree on plain ASCII
            assert ids == row["ftfy"], f"slow reference disagrees with transformers on {text!r}"

    differ = sum(r["transformers"] != r["ftfy"] for r in rows)
    # hashlib digests around SHA-256's 64-byte block and 56-byte padding boundaries, for the C++ sha256 test.
    messages = ["".join(chr(33 + (i * 7) % 90) for i in range(n)) for n in range(0, 200)]
    doc = {"transformers_version": transformers.__version__, "ftfy_version": ftfy.__version__,
           "gz_sha256": gz_sha256, "sha256": [[m, hashlib.sha256(m.encode()).hexdigest()] for m in messages],
           "html_entities": ftfy.chardata.HTML_ENTITIES, "prompts": rows}
    (out_dir / "clip_tokenizer.json").write_text(json.dumps(doc, ensure_ascii=True, indent=0), encoding="utf-8")
    print(f"{len(rows)} prompts written to {out_dir / 'clip_tokenizer.json'} (transformers {transformers.__version__},"
          f" ftfy {ftfy.__version__}); the two normalisations differ on {differ}; {mojibake} need mojibake repair")


if __name__ == "__main__":
    main()
