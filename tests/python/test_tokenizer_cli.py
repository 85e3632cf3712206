"""`strata tokenize` CLI: JSON output, character offsets, BOS switch, errors.

Needs STRATA_CLI (set by ctest) and ../shared (STRATA_SHARED_DIR); skips otherwise.
Expected ids are the committed oracle fixtures in tests/tokenizer/.
"""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
FIX = os.path.join(HERE, "..", "tokenizer")
CLI = os.environ.get("STRATA_CLI", "")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")


def shared(rel):
    p = os.path.join(SHARED, rel)
    if not os.path.exists(p):
        pytest.skip(f"{p} not present")
    return p


def tokenize(src, text, *opts):
    r = subprocess.run([CLI, "tokenize", src, "--json", *opts, "--", text] if text is not None
                       else [CLI, "tokenize", src, "--json", *opts], capture_output=True, check=True)
    return json.loads(r.stdout.decode("utf-8"))


def cases():
    with open(os.path.join(FIX, "cases.json"), encoding="utf-8") as f:
        c = json.load(f)["cases"]
    with open(os.path.join(FIX, "expected.json"), encoding="utf-8") as f:
        e = json.load(f)
    return c, e


@pytest.mark.parametrize("name", ["prose", "emoji_zwj", "cjk", "accents_nfd", "contractions_upper", "code_py"])
def test_gpt2_ids_and_char_offsets(name):
    src = shared("tokenizers/gpt2")
    c, e = cases()
    i = [k for k, x in enumerate(c) if x["name"] == name][0]
    text = c[i]["text"]
    out = tokenize(src, text)
    assert out["ids"] == e["gpt2_tiktoken"][i]
    assert out["text"] == text
    # character offsets index the Python string; together they cover it
    covered = "".join(text[s:e_] for s, e_ in out["offsets"])
    assert len(out["offsets"]) == len(out["ids"])
    assert all(0 <= s <= e_ <= len(text) for s, e_ in out["offsets"])
    if name in ("prose", "contractions_upper", "code_py"):   # ASCII: exact tiling
        assert covered == text
    # byte offsets tile the UTF-8 bytes exactly
    b = text.encode("utf-8")
    assert b"".join(b[s:e_] for s, e_ in out["byte_offsets"]) == b


def test_stories_bos_and_labels():
    src = shared("models/stories260K/hf")
    text = 'She said "hi there" and left.'
    out = tokenize(src, text)
    assert out["ids"][0] == 1 and out["offsets"][0] == [0, 0]
    assert tokenize(src, text, "--no-bos")["ids"] == out["ids"][1:]
    # label tokens inside the quotation by character offsets
    q0, q1 = text.index('"'), text.rindex('"')
    inside = [t for t, (s, e) in zip(out["tokens"], out["offsets"]) if s > q0 and e <= q1]
    assert "".join(inside).replace("\u2581", " ").strip() == "hi there"


def test_file_and_errors(tmp_path):
    src = shared("models/stories260K/hf")
    p = tmp_path / "t.txt"
    p.write_bytes("Once upon a time".encode())
    assert tokenize(src, None, "--file", str(p))["ids"] == [1, 403, 407, 261, 378]
    r = subprocess.run([CLI, "tokenize", str(tmp_path / "nope"), "x"], capture_output=True)
    assert r.returncode == 1 and b"nope" in r.stderr
    r = subprocess.run([CLI, "tokenize"], capture_output=True)
    assert r.returncode == 2


def test_invalid_utf8_file(tmp_path):
    """Invalid bytes read as U+FFFD (errors="replace"); char offsets index that text."""
    src = shared("tokenizers/mistral7b")
    raw = b"a\xffb \xe2\x82 caf\xc3\xa9 \xed\xa0\x80!"
    p = tmp_path / "bad.txt"
    p.write_bytes(raw)
    out = tokenize(src, None, "--file", str(p), "--no-bos")
    text = raw.decode("utf-8", "replace")
    assert out["text"] == text
    good = tokenize(src, text, "--no-bos")
    assert out["ids"] == good["ids"]
    assert out["offsets"] == good["offsets"]
    assert all(0 <= s <= e <= len(raw) for s, e in out["byte_offsets"])
