#!/usr/bin/python3
"""Inputs of bench/report: a JSONL corpus of token ids for the GPT-2-small-shaped model, and a
synthetic capture file of a 48-layer x 64-head model on one 2,000-token document.

usage: make_inputs.py corpus OUT.jsonl [--docs 20] [--len 512] [--seed 0]
       make_inputs.py patterns OUT.h5 [--layers 48] [--heads 64] [--len 2000] [--seed 0]

corpus: documents of BOS (50256) + random ids in [0, 50256), each token labelled
`even` = id % 2 (a per-token label, so the report has a probe section).
patterns: docs/FORMAT.md layout with only blocks.*.attn.hook_pattern (float16, shuffle +
deflate): every query attends to 1-40 random earlier keys (per head), so the rows are
sparse and the file stays small on disk."""
import argparse
import json

import numpy as np


def corpus(a):
    rng = np.random.default_rng(a.seed)
    with open(a.out, "w") as f:
        for _ in range(a.docs):
            ids = [50256] + rng.integers(0, 50256, a.len - 1).tolist()
            f.write(json.dumps({"ids": ids, "even": [i % 2 for i in ids]}) + "\n")


def patterns(a):
    import h5py
    rng = np.random.default_rng(a.seed)
    L, H, T = a.layers, a.heads, a.len
    hooks = [f"blocks.{l}.attn.hook_pattern" for l in range(L)]
    with h5py.File(a.out, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["model_name"] = "synthetic-48x64"
        f.attrs["complete"] = True
        f.attrs["hooks"] = hooks
        f.attrs["labels"] = []
        f.attrs["n_rows"] = f.attrs["n_tokens"] = np.int64(T)
        f.attrs["n_docs"] = np.int64(1)
        f.create_dataset("tokens", data=rng.integers(0, 50000, T).astype(np.int32))
        f.create_dataset("rows", data=np.arange(T, dtype=np.int64))
        f.create_dataset("docs/offsets", data=np.array([0, T], np.int64))
        f.create_dataset("docs/row_offsets", data=np.array([0, T], np.int64))
        B = 64  # rows written at a time
        for l, hk in enumerate(hooks):
            ds = f.create_dataset("acts/" + hk, (T, H, T), np.float16, chunks=(16, H, 64),
                                  shuffle=True, compression="gzip", compression_opts=1)
            ds.attrs["axes"] = "row, head, key"
            c = rng.integers(1, 41, H)
            for r0 in range(0, T, B):
                n = min(B, T - r0)
                P = np.zeros((n, H, T), np.float32)
                q = np.arange(r0, r0 + n)
                for h in range(H):
                    keys = (rng.random((n, c[h])) * (q[:, None] + 1)).astype(np.int64)
                    w = rng.exponential(size=(n, c[h])) ** 3
                    w /= w.sum(1, keepdims=True)
                    np.add.at(P, (np.repeat(np.arange(n), c[h]), h, keys.ravel()), w.ravel())
                ds[r0:r0 + n] = P.astype(np.float16)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["corpus", "patterns"])
    ap.add_argument("out")
    ap.add_argument("--docs", type=int, default=20)
    ap.add_argument("--len", type=int)
    ap.add_argument("--layers", type=int, default=48)
    ap.add_argument("--heads", type=int, default=64)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    if a.what == "corpus":
        a.len = a.len or 512
        corpus(a)
    else:
        a.len = a.len or 2000
        patterns(a)


if __name__ == "__main__":
    main()
