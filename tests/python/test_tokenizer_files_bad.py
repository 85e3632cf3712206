"""Tokenizer files found by fuzzing (tests/fuzz/fuzz_vocab_merges).

- a vocab.json id of 20999999 in a two-entry file sized every table by it
  (16 s and 256 MB under ASan); ids are now limited to [0, 2^22);
- a merge of two empty pieces memcpy'd from a NULL buffer (UBSan: null
  pointer passed as argument declared nonnull; caught by the sanitizer suite).
"""
import json
import os
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("STRATA_CLI", "")
pytestmark = pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")


def tokenize(d, text="ab"):
    return subprocess.run([CLI, "tokenize", str(d), "--json", "--", text], capture_output=True,
                          text=True, timeout=60)


def test_huge_vocab_id_is_refused(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps({"q": 1, "ab": 20999999}))
    (tmp_path / "merges.txt").write_text("#version: 0.2\n")
    r = tokenize(tmp_path)
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "is not an integer id in [0, 4194304)" in r.stderr, r.stderr


def test_empty_pieces_merge(tmp_path):
    (tmp_path / "vocab.json").write_text(json.dumps({"a": 5, "": 5, "b0": 3}))
    (tmp_path / "merges.txt").write_text(" \n")   # one merge: "" + ""
    r = tokenize(tmp_path)
    assert r.returncode in (0, 1), (r.returncode, r.stderr)
    assert "runtime error" not in r.stderr and "Sanitizer" not in r.stderr, r.stderr
