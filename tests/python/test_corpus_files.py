"""`strata corpus`: every generator's file validated with plain Python.

The checks re-derive the ground truth from the ids alone (Python integers for
sums, pow() for modular inverses, quote counting for depth, a word-list check
of subject-verb agreement), so they share no code with lib/corpus/.  The
tokenizer a generator writes is read back with `strata tokenize`, and a
`strata capture` of a generated corpus (when ../shared is present) stores the
labels row by row (h5py).  Needs STRATA_CLI (set by ctest).
"""
import json
import math
import os
import subprocess

import pytest

CLI = os.environ.get("STRATA_CLI", "")
HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")


def corpus(*args, ok=True):
    r = subprocess.run([CLI, "corpus", *args], capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


def lines(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(s) for s in f if s.strip()]


def per_token_ok(doc, names):
    n = len(doc["ids"])
    for k in names:
        assert len(doc[k]) == n, k
        assert all(v is None or isinstance(v, (int, float)) for v in doc[k])


def test_repeat(tmp_path):
    out = tmp_path / "r.jsonl"
    corpus("repeat", "--docs", "400", "--vocab", "30", "--seq-len", "48", "--min-span", "2",
           "--max-span", "20", "--seed", "4", "--out", str(out))
    docs = lines(out)
    assert len(docs) == 400
    dists = set()
    for d in docs:
        ids = d["ids"]
        per_token_ok(d, ["in_source", "in_copy", "copy_pos"])
        assert len(ids) == 48 and ids[0] == 0 and all(1 <= t < 30 for t in ids[1:])
        src = [t for t, v in enumerate(d["in_source"]) if v == 1]
        cp = [t for t, v in enumerate(d["in_copy"]) if v == 1]
        L = d["span"]
        assert len(src) == len(cp) == L and 2 <= L <= 20
        a, b = src[0], cp[0]
        assert src == list(range(a, a + L)) and cp == list(range(b, b + L))
        assert b - a == d["distance"] >= L
        assert ids[a:a + L] == ids[b:b + L]
        assert d["copy_pos"][b:b + L] == list(range(1, L + 1))
        dists.add(b - a)
    assert len(dists) > 20  # the offset varies


@pytest.mark.parametrize("op,sym", [("add", "+"), ("sub", "-"), ("mul", "*"), ("div", "/")])
def test_modular(tmp_path, op, sym):
    p = 17
    tr, te, tk = tmp_path / "tr.jsonl", tmp_path / "te.jsonl", tmp_path / "tk.jsonl"
    corpus("modular", "--p", str(p), "--op", op, "--train-frac", "0.25", "--seed", "2",
           "--out", str(tr), "--test-out", str(te), "--task-out", str(tk),
           "--tokenizer-out", str(tmp_path / "tok"))
    a, b, k = lines(tr), lines(te), lines(tk)
    pairs = set()
    for d in a + b:
        bos, x, o, y, eq, c = d["ids"]
        assert (bos, o, eq) == (p + 2, p, p + 1)
        want = {"add": (x + y) % p, "sub": (x - y) % p, "mul": x * y % p,
                "div": x * pow(y, -1, p) % p if y else None}[op]
        assert c == want
        assert d["answer"] == [0, 0, 0, 0, 0, 1]
        assert d["words"] == f"<bos> {x} {sym} {y} = {c}"
        pairs.add((x, y))
    n = p * (p - 1) if op == "div" else p * p
    assert len(pairs) == len(a) + len(b) == n
    assert len(a) == round(0.25 * n)
    assert [t["prompt_ids"] + t["answer_ids"] for t in k] == [d["ids"] for d in b]


@pytest.mark.parametrize("extra", [[], ["--pad"], ["--reverse"], ["--pad", "--reverse"]])
def test_addition(tmp_path, extra):
    out, task = tmp_path / "a.jsonl", tmp_path / "t.jsonl"
    corpus("addition", "--docs", "300", "--digits", "5", "--n-test", "50", "--seed", "1",
           "--out", str(out), "--task-out", str(task), *extra)
    pad, rev = "--pad" in extra, "--reverse" in extra
    digit = "0123456789+=BE"

    def parse(ids):
        s = "".join(digit[i] for i in ids)
        assert s[0] == "B" and s[-1] == "E"
        x, rest = s[1:].split("+")
        y, ans = rest.split("=")
        ans = ans[:-1]
        return x, y, ans

    test_pairs = set()
    for t in lines(task):
        x, y, ans = parse(t["prompt_ids"] + t["answer_ids"])
        s = int(ans[::-1] if rev else ans)
        assert s == int(x) + int(y)
        test_pairs.add((int(x), int(y)))
    assert len(test_pairs) == 50
    for d in lines(out):
        per_token_ok(d, ["answer", "place", "carry"])
        x, y, ans = parse(d["ids"])
        if pad:
            assert len(x) == len(y) == 5 and len(ans) == 6
        else:
            assert x == str(int(x)) and y == str(int(y))
        s = int(x) + int(y)
        msd = ans[::-1] if rev else ans
        assert int(msd) == s and (pad or msd == str(s))
        assert (int(x), int(y)) not in test_pairs
        first = d["ids"].index(11) + 1
        for q in range(len(ans)):
            place = q if rev else len(ans) - 1 - q
            t = first + q
            assert d["answer"][t] == 1 and d["place"][t] == place
            m = 10 ** place
            assert d["carry"][t] == int(int(x) % m + int(y) % m >= m)
        assert d["answer"][:first] == [0] * first and d["carry"][-1] is None


SG = {"dog", "cat", "bird", "king", "girl", "boy", "sees", "likes", "chases", "helps", "says"}
PL = {"dogs", "cats", "birds", "kings", "girls", "boys", "see", "like", "chase", "help", "say"}
VERBS = {"sees", "likes", "chases", "helps", "says", "see", "like", "chase", "help", "say"}


def test_grammar(tmp_path):
    out, tok = tmp_path / "g.jsonl", tmp_path / "tok"
    corpus("grammar", "--docs", "200", "--entities", "2", "--max-depth", "2", "--p-quote", "0.5",
           "--seed", "3", "--out", str(out), "--tokenizer-out", str(tok))
    for d in lines(out):
        per_token_ok(d, ["subj_number", "quote_depth", "attr"])
        w = d["words"].split(" ")
        assert len(w) == len(d["ids"])
        # quote depth by counting: an opening mark counts itself, a closing one too
        depth, opened = 0, []
        for t, x in enumerate(w):
            if x == '"':
                closing = bool(opened) and w[t - 1] != "says" and w[t - 1] != "say"
                if closing:
                    assert d["quote_depth"][t] == depth
                    depth -= 1
                    opened.pop()
                else:
                    depth += 1
                    opened.append(t)
                    assert d["quote_depth"][t] == depth
            else:
                assert d["quote_depth"][t] == depth
        assert depth == 0
        # subj_number: constant over each labelled run, which ends right before a
        # verb of that number; a run starts at a noun of that number
        lab = d["subj_number"]
        t = 0
        while t < len(w):
            if lab[t] is None:
                t += 1
                continue
            v, s = lab[t], t
            while t < len(w) and lab[t] == v:
                t += 1
            assert w[s] in (PL if v == 1 else SG), (w[s], v)
            assert w[t] in VERBS and w[t] in (PL if v == 1 else SG), (d["words"], t)
        # attr: the colour named in the entity's introduction
        intro = {}
        for t in range(1, len(w) - 4):
            if w[t + 1] == "has" and w[t + 2] == "a":
                intro[w[t]] = w[t + 3]
        colors = ["red", "blue", "green", "yellow", "pink", "brown"]
        for t in range(len(w)):
            if w[t] in intro and w[t + 1] == "'s":
                assert w[t + 4] == intro[w[t]]
                assert d["attr"][t:t + 4] == [colors.index(intro[w[t]])] * 4
    # the tokenizer reads the words back as the ids
    d = lines(out)[0]
    r = subprocess.run([CLI, "tokenize", str(tok), "--json", "--", d["words"][len("<bos> "):]],
                       capture_output=True, text=True, check=True)
    assert json.loads(r.stdout)["ids"] == d["ids"]


def test_bad_options(tmp_path):
    out = tmp_path / "x.jsonl"
    for args, needle in [
        (["repeat", "--max-span", "40", "--out", str(out)], "--max-span"),
        (["repeat", "--docs", "0", "--out", str(out)], "--docs"),
        (["repeat", "--digits", "3", "--out", str(out)], "not an option of repeat"),
        (["modular", "--op", "pow", "--out", str(out)], "--op"),
        (["modular", "--p", "1", "--out", str(out)], "--p"),
        (["grammar", "--p-quote", "nan", "--out", str(out)], "--p-quote"),
        (["grammar", "--entities", "7", "--out", str(out)], "--entities"),
        (["addition", "--digits", "19", "--out", str(out)], "--digits"),
        (["addition", "--n-test", "5", "--out", str(out)], "--task-out"),
        (["nosuch", "--out", str(out)], "unknown generator"),
        (["grammar"], "--out"),
    ]:
        r = corpus(*args, ok=False)
        assert r.returncode == 2 and needle in r.stderr, (args, r.stderr)
        assert not out.exists()
    out.write_text("keep\n")
    r = corpus("grammar", "--docs", "2", "--out", str(out), ok=False)
    assert r.returncode == 1 and "--overwrite" in r.stderr
    assert out.read_text() == "keep\n"
    corpus("grammar", "--docs", "2", "--out", str(out), "--overwrite")
    assert len(lines(out)) == 2


def test_capture_reads_labels(tmp_path):
    h5py = pytest.importorskip("h5py")
    model = os.path.join(SHARED, "models", "stories260K", "hf")
    if not os.path.exists(model):
        pytest.skip(f"{model} not present")
    out = tmp_path / "a.jsonl"
    corpus("addition", "--docs", "20", "--digits", "3", "--out", str(out))
    h5 = tmp_path / "a.h5"
    subprocess.run([CLI, "capture", model, "--hooks", "blocks.0.hook_resid_post", "--jsonl", str(out),
                    "--out", str(h5), "--quiet"], check=True, capture_output=True)
    docs = lines(out)
    with h5py.File(h5, "r") as f:
        tokens = f["tokens"][:].tolist()
        assert tokens == [i for d in docs for i in d["ids"]]
        for k in ("answer", "place", "carry"):
            got = f["labels"][k][:].tolist()
            want = [math.nan if v is None else v for d in docs for v in d[k]]
            assert len(got) == len(want)
            assert all((math.isnan(a) and math.isnan(b)) or a == b for a, b in zip(got, want)), k


def test_trained_checkpoint_has_bos(tmp_path):
    """A run with a corpus tokenizer writes its BOS id into config.json, so
    `strata attn --induction` starts its documents with the corpus's BOS (0)."""
    out, tok, run = tmp_path / "r.jsonl", tmp_path / "tok", tmp_path / "run"
    corpus("repeat", "--docs", "8", "--vocab", "16", "--seq-len", "12", "--min-span", "2",
           "--max-span", "4", "--out", str(out), "--tokenizer-out", str(tok))
    subprocess.run([CLI, "train", "--out", str(run), "--n-layer", "1", "--n-head", "2", "--d-model", "8",
                    "--attn-only", "--n-ctx", "12", "--vocab", "16", "--jsonl", str(out),
                    "--tokenizer", str(tok), "--steps", "2", "--batch", "4", "--lr", "1e-3",
                    "--threads", "1"], check=True, capture_output=True)
    cfg = json.load(open(run / "final" / "config.json"))
    assert cfg["bos_token_id"] == 0 and "eos_token_id" not in cfg
    r = subprocess.run([CLI, "attn", str(run / "final"), "--induction", "4", "--n-docs", "2", "--json"],
                       capture_output=True, text=True, check=True)
    assert "no BOS" not in r.stderr
    assert len(json.loads(r.stdout)["heads"]) == 2
