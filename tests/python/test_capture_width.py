"""Capture files sized to their content (issue: a 40-document capture with
patterns was 83 % padding of 512-wide rows).

* documents of <= 100 tokens captured with hook_pattern / hook_attn_scores give
  datasets exactly as wide as the longest document (<= 100), not n_ctx;
* each row equals the pattern the model computes for that query (h5py vs
  model.run_with_cache), zeros past the document;
* every dataset has an "axes" attribute; /vocab holds each id's string
  (equal to decoding the id alone);
* the CLI prints the expected file size first; on this small file within 50 %
  of the real size (fixed metadata and freed-but-never-reused file space weigh
  most on small files; on a 476 MB capture it was 0.6 % low, docs/FORMAT.md).
"""
import os
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
import strata  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
CLI = os.environ.get("STRATA_CLI")

pytestmark = pytest.mark.skipif(not (CLI and os.path.exists(CLI) and os.path.isdir(MODEL)),
                                reason="needs STRATA_CLI and stories260K")


def test_pattern_datasets_as_wide_as_the_longest_document(tmp_path):
    rng = np.random.default_rng(0)
    m = strata.Model.open(MODEL)
    words = ["Once", "upon", "a", "time", "there", "was", "a", "little", "dog", "cat", "and"]
    docs = []
    while len(docs) < 12:
        t = " ".join(rng.choice(words, rng.integers(3, 60)))
        if len(m.tokenize(t)) <= 100:
            docs.append(t)
    corpus = tmp_path / "c.txt"
    corpus.write_text("\n".join(docs) + "\n")
    out = tmp_path / "a.h5"
    p = subprocess.run([CLI, "capture", MODEL, "--hooks",
                        "blocks.1.attn.hook_pattern,blocks.0.attn.hook_attn_scores[3],"
                        "blocks.0.hook_resid_post,blocks.0.attn.hook_z",
                        "--text-file", str(corpus), "--out", str(out), "--batch", "5"],
                       capture_output=True, text=True, check=True)
    assert "expected file size about" in p.stderr, p.stderr
    lens = [len(m.tokenize(t)) for t in docs]
    longest = max(lens)
    assert longest <= 100
    with h5py.File(out, "r") as f:
        pat = f["acts/blocks.1.attn.hook_pattern"]
        sc = f["acts/blocks.0.attn.hook_attn_scores[3]"]
        assert pat.shape == (sum(lens), m.config.n_heads, longest), pat.shape
        assert sc.shape == (sum(lens), 1, longest)
        assert pat.attrs["axes"] == "row, head, key"
        assert f["acts/blocks.0.hook_resid_post"].attrs["axes"] == "row, d_model"
        assert f["acts/blocks.0.attn.hook_z"].attrs["axes"] == "row, head, d_head"
        assert f["tokens"].attrs["axes"] == "token" and f["rows"].attrs["axes"] == "row"
        vocab = f["vocab"].asstr()[:]
        assert len(vocab) == m.config.vocab_size
        for i in (1, 100, 403, 407):
            assert vocab[i] == m.decode([i]), (i, vocab[i])
        ro = f["docs/row_offsets"][:]
        P = pat[:]
        for d, t in enumerate(docs):
            _, c = m.run_with_cache(t, names=["blocks.1.attn.hook_pattern"])
            want = c["pattern", 1][0]                      # [H, T, T]
            n = lens[d]
            got = P[ro[d]:ro[d + 1]]                       # [T, H, W]
            # batched (5 documents) vs alone: sgemm blocking changes summation order
            np.testing.assert_allclose(got[:, :, :n], want.transpose(1, 0, 2), atol=1e-5)
            assert (got[:, :, n:] == 0).all()
        # the strings of a row's tokens, read without strata
        toks = f["tokens"][:][f["rows"][:]]
        assert "".join(vocab[toks[ro[0]:ro[1]]]).strip().endswith(docs[0].split()[-1])
    size = os.path.getsize(out)
    est = float(p.stderr.split("expected file size about ")[1].split()[0]) * \
        {"kB": 1e3, "MB": 1e6, "GB": 1e9}[p.stderr.split("expected file size about ")[1].split()[1]]
    assert 0.5 * size < est < 1.5 * size, (est, size)
    # the attention statistics read the narrower file like the old one
    s = subprocess.run([CLI, "attn", MODEL, "--capture", str(out), "--json"], capture_output=True,
                       text=True)
    assert s.returncode == 0, s.stderr
    m.close()
