"""Numeric command-line options go through one checked parser (cli/common.c).

Before it, `atoi`/`strtod` turned `--max-tokens 4294967298` into 2, `--batch 1e12`
into 1, `--batch 3abc` into 3, `generate -n 4294967299` into 3 and accepted
`--threads -3`; each of those ran and exited 0.  Now every malformed or
out-of-range number is a usage error: exit 2, a message naming the command, the
option and the value, and nothing written.

Needs STRATA_CLI (set by ctest) and ../shared; skips otherwise.
"""
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("STRATA_CLI", "")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")


def need_model():
    if not os.path.isdir(MODEL):
        pytest.skip(f"{MODEL} not present")


def run(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture
def text_file(tmp_path):
    p = tmp_path / "in.txt"
    p.write_text("Once upon a time there was a cat.\nThe cat sat on the mat.\n")
    return str(p)


# (option, bad value, expected phrase in the message)
CAPTURE_BAD = [
    ("--max-tokens", "4294967298", "is not an integer in [1, 2147483647]"),
    ("--max-tokens", "99999999999999999999999", "overflows"),
    ("--max-tokens", "0", "is not an integer in [1,"),
    ("--batch", "1e12", "trailing characters 'e12'"),
    ("--batch", "3abc", "trailing characters 'abc'"),
    ("--batch", "-1", "is not an integer in [1, 65536]"),
    ("--batch", "0", "is not an integer in [1, 65536]"),
    ("--batch", "", "is not an integer"),
    ("--batch", " 3", "is not an integer"),
    ("--batch", "0x10", "trailing characters 'x10'"),
    ("--threads", "-3", "is not an integer in [0, 1024]"),
    ("--threads", "4096", "is not an integer in [0, 1024]"),
    ("--threads", "2.5", "trailing characters '.5'"),
]


@pytest.mark.parametrize("opt,val,why", CAPTURE_BAD)
def test_capture_rejects_bad_numbers(tmp_path, text_file, opt, val, why):
    need_model()
    out = tmp_path / "acts.h5"
    r = run("capture", MODEL, "--hooks", "blocks.0.hook_resid_post", "--text-file", text_file,
            "--out", str(out), "--quiet", opt, val)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert f"strata capture: {opt}: '{val}'" in r.stderr
    assert why in r.stderr
    assert not out.exists() and not os.path.exists(str(out) + ".creating")


@pytest.mark.parametrize("args,needle", [
    (["generate", "-n", "4294967299"], "strata generate: -n: '4294967299' is not an integer in [1, 1048576]"),
    (["generate", "-n", "0"], "strata generate: -n: '0' is not an integer"),
    (["generate", "-n", "3tokens"], "trailing characters 'tokens'"),
    (["generate", "--threads", "-3"], "strata generate: --threads: '-3' is not an integer in [0, 1024]"),
    (["run", "--top", "1e3"], "strata run: --top: '1e3' has trailing characters 'e3'"),
    (["run", "--threads", "-1"], "strata run: --threads: '-1' is not an integer"),
    (["lens", "--top", "-5"], "strata lens: --top: '-5' is not an integer"),
    (["lens", "--threads", "abc"], "strata lens: --threads: 'abc' is not an integer"),
    (["attn", "--batch", "-1"], "strata attn: --batch: '-1' is not an integer in [1, 65536]"),
    (["attn", "--max-tokens", "4294967298"], "strata attn: --max-tokens: '4294967298' is not an integer"),
    (["attn", "--induction", "4294967306"], "strata attn: --induction: '4294967306' is not an integer"),
    (["attn", "--n-docs", "8x"], "strata attn: --n-docs: '8x' has trailing characters 'x'"),
    (["attn", "--seed", "-1"], "strata attn: --seed: '-1' is not an integer"),
    (["attn", "--token-range", "0:4294967297"], "strata attn: --token-range HI: '4294967297' is not an integer"),
    (["attn", "--token-range", "5:2"], "--token-range wants LO:HI with 0 <= LO < HI"),
    (["attn", "--threads", "-3"], "strata attn: --threads: '-3' is not an integer in [0, 1024]"),
])
def test_model_commands_reject_bad_numbers(args, needle):
    need_model()
    cmd, rest = args[0], args[1:]
    extra = ["--ids", "1,2,3"] if cmd in ("generate", "run", "lens") else ["--induction", "5"]
    if cmd == "attn" and "--induction" in rest:
        extra = []
    r = run(cmd, MODEL, *extra, *rest)
    assert r.returncode == 2, (r.returncode, r.stdout[:200], r.stderr)
    assert needle in r.stderr, r.stderr
    assert r.stdout == ""


# Analysis commands parse options before opening the file, so a missing file
# shows that the number alone is refused.
@pytest.mark.parametrize("args,needle", [
    (["pca", "--iters", "1000000"], "strata pca: --iters: '1000000' is not an integer in [0, 100]"),
    (["pca", "--oversample", "99999999"], "strata pca: --oversample: '99999999' is not an integer in [0, 10000]"),
    (["pca", "-k", "0"], "strata pca: -k: '0' is not an integer in [1, 1000000]"),
    (["pca", "-k", "5e2"], "strata pca: -k: '5e2' has trailing characters 'e2'"),
    (["pca", "--block-rows", "-4"], "strata pca: --block-rows: '-4' is not an integer"),
    (["pca", "--seed", "18446744073709551616"], "strata pca: --seed: '18446744073709551616' overflows"),
    (["cka", "--block-rows", "0"], "strata cka: --block-rows: '0' is not an integer"),
    (["probe", "--label", "x", "--cv", "1"], "--cv must be 0 or 2..127"),
    (["probe", "--label", "x", "--cv", "128"], "strata probe: --cv: '128' is not an integer in [0, 127]"),
    (["probe", "--label", "x", "--cv", "5.0"], "strata probe: --cv: '5.0' has trailing characters '.0'"),
    (["probe", "--label", "x", "--max-iter", "4294967297"], "strata probe: --max-iter: '4294967297' is not an integer"),
    (["probe", "--label", "x", "--C", "nan"], "strata probe: --C: 'nan' is not a number"),
    (["probe", "--label", "x", "--C", "inf"], "strata probe: --C: 'inf' is not a number"),
    (["probe", "--label", "x", "--C", "1e999"], "strata probe: --C: '1e999' overflows"),
    (["probe", "--label", "x", "--C", "-1"], "strata probe: --C: '-1' is not a number in [0,"),
    (["probe", "--label", "x", "--alpha", "1,5"], "strata probe: --alpha: '1,5' has trailing characters ',5'"),
    (["probe", "--label", "x", "--test-fraction", "1.5"], "strata probe: --test-fraction: '1.5' is not a number in [0, 1]"),
    (["probe", "--label", "x", "--seed", "-2"], "strata probe: --seed: '-2' is not an integer"),
    (["probe", "--label", "x", "--mem-limit", "inf"], "--mem-limit: bad size 'inf'"),
    (["cka", "--mem-limit", "1e30G"], "bad --mem-limit '1e30G'"),
])
def test_analysis_commands_reject_bad_numbers(tmp_path, args, needle):
    cmd, rest = args[0], args[1:]
    r = run(cmd, str(tmp_path / "missing.h5"), *rest)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert needle in r.stderr, r.stderr


def test_good_numbers_still_work(tmp_path, text_file):
    """The checked parser accepts what users write: a plain integer, '+3', and
    floats in exponent form."""
    need_model()
    r = run("generate", MODEL, "--ids", "1", "-n", "+3", "--threads", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert r.stdout.count(",") >= 2  # three ids
    out = tmp_path / "a.h5"
    r = run("capture", MODEL, "--hooks", "blocks.0.hook_resid_post", "--text-file", text_file,
            "--out", str(out), "--quiet", "--batch", "2", "--max-tokens", "8", "--threads", "0")
    assert r.returncode == 0, r.stderr
    # a probe option in exponent form parses (the label is missing, so the
    # run fails later, with exit 1, on the label -- not on the number)
    r = run("probe", str(out), "--label", "nosuch", "--C", "1e-2", "--test-fraction", ".25")
    assert r.returncode == 1, r.stderr
    assert "nosuch" in r.stderr
