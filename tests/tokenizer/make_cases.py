#!/usr/bin/env python3
"""Writes tests/tokenizer/cases.json: the tokenizer test inputs.

Hand-written tricky cases (issue #3's list) plus seeded random strings mixing
scripts, whitespace and punctuation.  Deterministic: rerunning gives the same
file.  Expected ids come from tests/tokenizer/oracle.mjs (independent npm
implementations), not from strata.
"""
import json
import os
import random
import unicodedata

HERE = os.path.dirname(os.path.abspath(__file__))

cafe = "Café crème brûlée à la façon de Zoë, naïve résumé"
hand = [
    ("prose", "Once upon a time, there was a little girl named Lily. She loved to play outside in the park."),
    ("contractions", "I'm sure it's fine; we'll see, they've said you'd know, don't they? She's here."),
    ("contractions_upper", "I'M SURE IT'S FINE; WE'LL SEE, THEY'VE SAID YOU'D KNOW, DON'T THEY? SHE'S HERE."),
    ("contractions_mixed", "It'S wE'Ll They'Ve I'D 'tis 's 't 're"),
    ("spaces_runs", "a  b   c    d     e"),
    ("spaces_lead_trail", "   leading and trailing   "),
    ("tabs", "col1\tcol2\t\tcol3\t"),
    ("newlines", "line one\nline two\n\nline four\n"),
    ("newlines_trailing", "end\n\n\n"),
    ("crlf", "windows\r\nline\r\n"),
    ("mixed_ws", " \t \n \r\n  x \n\t "),
    ("only_spaces", "     "),
    ("only_newline", "\n"),
    ("single_space", " "),
    ("digits", "In 1999 there were 12345678901234567890 items, 3.14159, 1,000,000 and 007."),
    ("digits_mixed", "abc123def 4567 89x 0.5e-10 v2.0.1"),
    ("punct", "Wait... what?!?! (yes) [no] {maybe} <tag> \"quoted\" 'single' --- ~~~ ***"),
    ("punct_cluster", "!!!???...,,,;;;:::@@@###$$$%%%^^^&&&***((()))"),
    ("code_c", "int main(void) {\n    printf(\"%d\\n\", x->y[0] + 1);\n    return 0;\n}\n"),
    ("code_py", "def f(x):\n\tif x >= 10:\n\t\treturn [i**2 for i in range(x)]  # comment\n"),
    ("emoji", "I love 🍕 and 🎉!"),
    ("emoji_zwj", "family: 👨‍👩‍👧‍👦 and 👩🏽‍💻 coder, 🏳️‍🌈 flag"),
    ("emoji_skin", "👍🏻👍🏼👍🏽👍🏾👍🏿 waves 👋🏿"),
    ("accents_nfc", unicodedata.normalize("NFC", cafe)),
    ("accents_nfd", unicodedata.normalize("NFD", cafe)),
    ("cyrillic", "Привет, мир! Как дела? Съешь же ещё этих мягких французских булок."),
    ("arabic", "مرحبا بالعالم! كيف حالك اليوم؟"),
    ("hindi", "नमस्ते दुनिया, आप कैसे हैं?"),
    ("cjk", "你好，世界！今日は良い天気ですね。안녕하세요 세계"),
    ("greek", "Γειά σου Κόσμε, αβγδε"),
    ("empty", ""),
    ("special_eot", "Hello<|endoftext|>world <|endoftext|> again"),
    ("special_s", "<s>Hello</s> there <unk> end"),
    ("nbsp", "non\u00a0breaking\u00a0space and\u3000ideographic"),
    ("ws_unicode", "a\u0085b\u2028c\u2029d\u200ae\u202ff\u205fg"),
    ("feff", "x\ufeffy \ufeff z"),
    ("mongolian_sep", "a\u180eb"),
    ("dummy_prefix_space", " leading space"),
    ("sentencepiece_marker", "a\u2581b \u2581c"),
    ("url", "https://example.com/path?query=1&b=2#frag"),
    ("json", '{"key": [1, 2, {"nested": null}], "s": "x\\ty"}'),
    ("repeats", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa bbbbbbbbbbbbbbbbbbbbbb"),
    ("control_chars", "a\x00b\x01c\x7fd\x1be"),
    ("long_word", "Pneumonoultramicroscopicsilicovolcanoconiosis antidisestablishmentarianism"),
]

rng = random.Random(20261128)
words = ("the a of and to in is you that it he was for on are as with his they I at be this have from "
         "or one had by word but not what all were we when your can said there use an each which she do "
         "how their if will up other about out many then them these so some her would make like him into "
         "time has look two more write go see number no way could people my than first water been call "
         "who oil its now find long down day did get come made may part").split()
alphabet = (list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789") +
            list(" \t\n  .,;:!?'\"()[]{}-_/\\@#$%^&*+=<>|~`") +
            list("éèêëàâäôöûüçñßøåæœ") + list("абвгдежзийклмнопрстуфхцчшщъыьэюя") +
            list("你好世界中文字") + list("αβγδεζηθ") + ["😀", "🎉", "👍🏽", "\u200d", "\u0301", "\u00a0"])

# the 5,000-character string: mixed scripts and whitespace, deterministic
parts = []
while sum(len(p) for p in parts) < 5000:
    r = rng.random()
    parts.append(rng.choice(words) + " " if r < 0.6 else rng.choice(alphabet))
long5000 = "".join(parts)[:5000]
hand.append(("long_5000", long5000))

rand = []
for i in range(300):
    n = rng.randint(1, 60)
    if i % 3 == 0:
        s = " ".join(rng.choice(words) for _ in range(rng.randint(1, 12)))
        if rng.random() < 0.5:
            s = s.capitalize() + rng.choice([".", "!", "?", "", "'s", "'LL", "\n"])
    elif i % 3 == 1:
        s = "".join(rng.choice(alphabet) for _ in range(n))
    else:
        s = "".join(rng.choice(words)[: rng.randint(1, 5)] + rng.choice(["", "", " ", "  ", "\n", "'", "."])
                    for _ in range(rng.randint(1, 10)))
    rand.append((f"random_{i:03d}", s))

cases = [{"name": n, "text": t} for n, t in hand + rand]
with open(os.path.join(HERE, "cases.json"), "w", encoding="utf-8") as f:
    json.dump({"doc": "tokenizer test inputs; generated by make_cases.py", "cases": cases}, f,
              ensure_ascii=True, indent=0)
print(len(cases), "cases")

# Unicode normalization expectations (Python's unicodedata) for the NFC/NFD/NFKC/NFKD
# normalizers: every case text plus strings that stress the algorithm.
import unicodedata as _ud
extra = [
    "e\u0301 \u00e9 A\u030a \u212b \u2126 \u1e9b\u0323",            # composed/decomposed, singletons
    "a\u0323\u0302 a\u0302\u0323 o\u031b\u0323 \u1ea0\u0306",       # mark reordering and blocking
    "\u1100\u1161\u11a8 \uac00\u11a8 \ud55c\uad6d\uc5b4 \u1112\u1161\u11ab",  # Hangul jamo and syllables
    "\ufb01 \u2460 \uff21\uff22\uff23 \u2122 \u00bd \u2075 \u3300 \ufdfa",   # compatibility characters
    "\u0958 \u0915\u093c \u2adc \u0344 \u0f73",                      # composition exclusions
    "\u0301abc \u0300\u0301 \u05b8\u05b7",                           # leading marks, equal classes
    "Vi\u1ec7t Nam \u0111\u1eb9p l\u1eafm",
    "\u00c5\u0301\u0328 q\u0307\u0323 \u0e40\u0e01\u0e48\u0e32",
]
texts = [c["text"] for c in cases] + extra
norm = {"doc": "Python unicodedata %s normalizations of cases.json texts + extra; by make_cases.py"
        % _ud.unidata_version, "extra": extra,
        "nfc": [_ud.normalize("NFC", t) for t in texts], "nfd": [_ud.normalize("NFD", t) for t in texts],
        "nfkc": [_ud.normalize("NFKC", t) for t in texts], "nfkd": [_ud.normalize("NFKD", t) for t in texts]}
with open(os.path.join(HERE, "normalized.json"), "w", encoding="utf-8") as f:
    json.dump(norm, f, ensure_ascii=True)
