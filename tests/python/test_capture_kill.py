"""kill -9 in the middle of `strata capture`, then --resume (issue 5, "nothing is lost").

A capture of a few thousand short documents is killed (SIGKILL) three times at
different points (when the file has reached about 20%, 45% and 70% of the size
of an uninterrupted capture), each time resumed with --resume.  After every
kill the file must open with plain h5py and with the C reader (strata_acts_*
through ctypes), say complete = false, and hold every row of every completed
batch, consistent with an uninterrupted capture.  The final resume must give
exactly the uninterrupted result: no duplicated or missing rows.

Needs: STRATA_CLI (set by CMake's pytest entry), STRATA_SHARED_DIR (model),
optionally STRATA_LIBRARY (libstrata.so, for the C-reader check).
"""
import ctypes
import os
import random
import signal
import subprocess
import time

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

CLI = os.environ.get("STRATA_CLI")
SHARED = os.environ.get("STRATA_SHARED_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
LIB = os.environ.get("STRATA_LIBRARY")

HOOKS = "blocks.*.hook_resid_post,blocks.*.attn.hook_pattern"
BATCH = 8


def _corpus(path, n_docs=1000, seed=1):
    words = ("once upon a time there was little girl named lily she loved to play with her "
             "ball in the park one day tom saw big red dog and said hello they were happy "
             "friends sun was hot sky blue").split()
    rng = random.Random(seed)
    with open(path, "w") as f:
        for _ in range(n_docs):
            f.write(" ".join(rng.choice(words) for _ in range(rng.randint(5, 40))) + ".\n")


def _capture_cmd(corpus, out, *extra):
    return [CLI, "capture", MODEL, "--hooks", HOOKS, "--out", out, "--text-file", corpus,
            "--max-tokens", "32", "--batch", str(BATCH), "--threads", "1", "--quiet", *extra]


def _c_reader_rows(path):
    """n_rows, complete and the first rows of one hook through the C reader."""
    lib = ctypes.CDLL(LIB)
    lib.strata_acts_open.argtypes = [ctypes.c_char_p, ctypes.POINTER(ctypes.c_void_p)]
    lib.strata_acts_n_rows.restype = ctypes.c_int64
    lib.strata_acts_n_rows.argtypes = [ctypes.c_void_p]
    lib.strata_acts_complete.argtypes = [ctypes.c_void_p]
    lib.strata_acts_errmsg.restype = ctypes.c_char_p
    lib.strata_acts_errmsg.argtypes = [ctypes.c_void_p]
    lib.strata_acts_close.argtypes = [ctypes.c_void_p]
    lib.strata_acts_read.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64,
                                     ctypes.c_int64, ctypes.c_void_p]
    h = ctypes.c_void_p()
    rc = lib.strata_acts_open(path.encode(), ctypes.byref(h))
    assert rc == 0, lib.strata_acts_errmsg(h)
    n = lib.strata_acts_n_rows(h)
    complete = lib.strata_acts_complete(h)
    buf = np.zeros((n, 64), dtype=np.float32)
    if n:
        rc = lib.strata_acts_read(h, b"blocks.4.hook_resid_post", 0, n, buf.ctypes.data)
        assert rc == 0, lib.strata_acts_errmsg(h)
    lib.strata_acts_close(h)
    return n, complete, buf


def _committed(f):
    a = f.attrs
    return int(a["n_docs"]), int(a["n_rows"]), int(a["n_tokens"])


def _check_prefix(path, ref):
    """The killed file: readable, incomplete, every committed row equal to the reference."""
    with h5py.File(path, "r") as f:           # plain h5py, no swmr, no h5clear
        assert bool(f.attrs["complete"]) is False
        d, r, t = _committed(f)
        assert d % BATCH == 0, "only whole batches are committed"
        off = f["docs/offsets"][: d + 1]
        roff = f["docs/row_offsets"][: d + 1]
        assert off[-1] == t and roff[-1] == r
        assert f["rows"].shape[0] >= r and f["tokens"].shape[0] >= t
        np.testing.assert_array_equal(off, ref["docs/offsets"][: d + 1])
        np.testing.assert_array_equal(f["tokens"][:t], ref["tokens"][:t])
        np.testing.assert_array_equal(f["rows"][:r], ref["rows"][:r])
        for name in ref["acts"]:
            got = f["acts"][name][:r]
            want = ref["acts"][name][:r]
            np.testing.assert_allclose(got, want, rtol=0, atol=1e-6, err_msg=name)
        # while capturing, texts are bytes + offsets (/docs/text is made at a clean close)
        toff = f["docs/text_offsets"][: d + 1]
        blob = f["docs/text_bytes"][: toff[-1]].tobytes()
        texts = [blob[toff[i]:toff[i + 1]].decode() for i in range(d)]
        assert texts == list(ref["docs/text"].asstr()[:d])
    if LIB:
        n, complete, rows = _c_reader_rows(path)
        assert n == r and complete == 0
        np.testing.assert_allclose(rows, ref["acts/blocks.4.hook_resid_post"][:r], atol=1e-6)
    return d, r


@pytest.mark.skipif(not CLI or not os.path.exists(MODEL), reason="needs STRATA_CLI and the stories260K model")
def test_kill_and_resume(tmp_path):
    corpus = str(tmp_path / "corpus.txt")
    _corpus(corpus)
    full = str(tmp_path / "full.h5")
    subprocess.run(_capture_cmd(corpus, full), check=True, timeout=900)
    final_size = os.path.getsize(full)
    out = str(tmp_path / "killed.h5")
    with h5py.File(full, "r") as ref:
        assert bool(ref.attrs["complete"]) is True
        committed = []
        for k, frac in enumerate((0.20, 0.45, 0.70)):
            extra = ("--resume",) if k else ()
            p = subprocess.Popen(_capture_cmd(corpus, out, *extra), stderr=subprocess.PIPE)
            deadline = time.time() + 600
            while time.time() < deadline and p.poll() is None:
                if os.path.exists(out) and os.path.getsize(out) >= frac * final_size:
                    break
                time.sleep(0.01)
            assert p.poll() is None, "capture ended before it could be killed: " + p.stderr.read().decode()
            os.kill(p.pid, signal.SIGKILL)
            p.wait()
            p.stderr.close()
            assert p.returncode == -signal.SIGKILL
            d, r = _check_prefix(out, ref)
            committed.append(d)
        assert committed == sorted(committed) and committed[-1] > 0
        # Finish it.
        res = subprocess.run(_capture_cmd(corpus, out, "--resume"), capture_output=True, text=True,
                             timeout=900)
        assert res.returncode == 0, res.stderr
        with h5py.File(out, "r") as f:
            assert bool(f.attrs["complete"]) is True
            for key in ("n_docs", "n_rows", "n_tokens"):
                assert f.attrs[key] == ref.attrs[key]
            for name in ("tokens", "rows", "docs/offsets", "docs/row_offsets"):
                assert f[name].shape == ref[name].shape, name      # no junk, no duplicates
                np.testing.assert_array_equal(f[name][:], ref[name][:], err_msg=name)
            assert list(f["docs/text"].asstr()[:]) == list(ref["docs/text"].asstr()[:])
            for name in ref["acts"]:
                assert f["acts"][name].shape == ref["acts"][name].shape
                np.testing.assert_allclose(f["acts"][name][:], ref["acts"][name][:], rtol=0,
                                           atol=1e-6, err_msg=name)


@pytest.mark.skipif(not CLI or not os.path.exists(MODEL), reason="needs STRATA_CLI and the stories260K model")
def test_cli_errors(tmp_path):
    ids = tmp_path / "ids.txt"
    ids.write_text("1 403 407\n")
    out = str(tmp_path / "a.h5")
    base = [CLI, "capture", MODEL, "--out", out, "--tokens-file", str(ids), "--quiet"]
    r = subprocess.run(base + ["--hooks", "blocks.*.hook_nope"], capture_output=True, text=True)
    assert r.returncode == 1 and "matches no hook point" in r.stderr and "blocks.0." in r.stderr
    r = subprocess.run(base + ["--hooks", "blocks.0.hook_resid_post"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    r = subprocess.run(base + ["--hooks", "blocks.0.hook_resid_post"], capture_output=True, text=True)
    assert r.returncode == 1 and "already exists" in r.stderr
    r = subprocess.run(base + ["--hooks", "blocks.1.hook_resid_post", "--resume"], capture_output=True,
                       text=True)
    assert r.returncode == 1 and "other hooks" in r.stderr
    r = subprocess.run(base + ["--hooks", "blocks.0.hook_resid_post", "--overwrite", "--dtype", "f16"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    with h5py.File(out, "r") as f:
        assert f["acts/blocks.0.hook_resid_post"].dtype == np.float16
        assert f["acts/blocks.0.hook_resid_post"].shape == (3, 64)
