#!/usr/bin/env python3
"""Writes the benchmark texts into OUTDIR (default build/bench-tok):

  english.txt  ~4 MB of English prose: the licence texts in /usr/share/common-licenses
               and the docstrings/comments of the Python standard library, in a fixed order
  mixed.txt    ~4 MB mixing scripts: English, Cyrillic, Greek, Arabic, Hindi, CJK,
               emoji with ZWJ/skin tones, digits and code, seeded random
  code.txt     ~4 MB of Python source (the standard library)

Deterministic for a given machine image.  Nothing here is committed.
"""
import glob
import os
import random
import re
import sys

out = sys.argv[1] if len(sys.argv) > 1 else "build/bench-tok"
os.makedirs(out, exist_ok=True)
MB = 4 * 1024 * 1024

def take(chunks, limit):
    buf, n = [], 0
    for c in chunks:
        buf.append(c)
        n += len(c.encode())
        if n >= limit:
            break
    return "".join(buf).encode()[:limit].decode("utf-8", "ignore")

srcs = sorted(glob.glob("/usr/lib/python3*/**/*.py", recursive=True))

def english():
    for p in sorted(glob.glob("/usr/share/common-licenses/*")):
        if os.path.isfile(p):
            yield open(p, encoding="utf-8", errors="ignore").read()
    for p in srcs:
        s = open(p, encoding="utf-8", errors="ignore").read()
        for m in re.finditer(r'"""(.*?)"""', s, re.S):
            yield m.group(1).strip() + "\n\n"

def code():
    for p in srcs:
        yield open(p, encoding="utf-8", errors="ignore").read()

def mixed():
    rng = random.Random(1234)
    samples = [
        "The quick brown fox jumps over the lazy dog. ",
        "Съешь же ещё этих мягких французских булок, да выпей чаю. ",
        "Γαζέες καὶ μυρτιὲς δὲν θὰ βρῶ πιὰ στὸ χρυσαφὶ ξέφωτο. ",
        "نص حكيم له سر قاطع وذو شأن عظيم مكتوب على ثوب أخضر. ",
        "ऋषियों को सताने वाले दुष्ट राक्षसों के राजा रावण का सर्वनाश करने वाले। ",
        "天地玄黄，宇宙洪荒。日月盈昃，辰宿列张。",
        "いろはにほへと ちりぬるを わかよたれそ つねならむ。",
        "다람쥐 헌 쳇바퀴에 타고파. ",
        "👨‍👩‍👧‍👦 👍🏽 🏳️‍🌈 🎉🎉 ",
        "x = [i**2 for i in range(10)]  # squares\n",
        "In 2024, 3.14159 × 10^6 = 3,141,590.\n",
        "Ça coûte 12,50 € — naïve café. ",
    ]
    while True:
        yield rng.choice(samples)

for name, gen in (("english", english()), ("mixed", mixed()), ("code", code())):
    text = take(gen, MB)
    with open(os.path.join(out, name + ".txt"), "w", encoding="utf-8") as f:
        f.write(text)
    print(name, len(text.encode()), "bytes")
