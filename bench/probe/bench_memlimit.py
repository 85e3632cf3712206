#!/usr/bin/python3
"""Fit on a capture file several times larger than --mem-limit and measure
peak RSS.  Writes a capture-format file (h5py, in pieces so the generator
itself stays small) of R rows x d float32 for two hooks, then runs
`strata probe FILE --label y --mem-limit LIMIT --json` under /usr/bin/time -v.

usage: bench_memlimit.py STRATA_CLI [--rows 340000] [--d 768] [--limit 256M] [--dir /tmp]
"""
import argparse
import json
import os
import re
import subprocess
import time

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("cli")
ap.add_argument("--rows", type=int, default=340000)
ap.add_argument("--d", type=int, default=768)
ap.add_argument("--limit", default="256M")
ap.add_argument("--kind", default="logistic")
ap.add_argument("--dir", default="/tmp")
ap.add_argument("--keep", action="store_true")
a = ap.parse_args()
R, d = a.rows, a.d
path = os.path.join(a.dir, f"strata_bench_big_{R}x{d}.h5")
rng = np.random.default_rng(0)
direction = rng.normal(size=d).astype(np.float32) / np.sqrt(d)
if not os.path.exists(path):
    t = time.time()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["complete"] = True
        f.attrs["hooks"] = ["blocks.0.hook_resid_post"]
        f.attrs["labels"] = ["y", "t"]
        f.attrs["n_rows"] = np.int64(R)
        f.attrs["n_tokens"] = np.int64(R)
        f.create_dataset("tokens", data=(np.arange(R) % 5000).astype(np.int32))
        f.create_dataset("rows", data=np.arange(R, dtype=np.int64))
        f.create_dataset("docs/offsets", data=np.array([0, R], np.int64))
        ds = f.create_dataset("acts/blocks.0.hook_resid_post", (R, d), np.float32,
                              chunks=(max(1, (1 << 20) // (4 * d)), d))
        ys = f.create_dataset("labels/y", (R,), np.int32)
        ts = f.create_dataset("labels/t", (R,), np.float32)
        step = 20000
        for r0 in range(0, R, step):
            n = min(step, R - r0)
            y = rng.integers(0, 2, n)
            X = rng.normal(size=(n, d)).astype(np.float32) + np.outer(y - 0.5, direction) * 3
            ds[r0:r0 + n] = X
            ys[r0:r0 + n] = y
            ts[r0:r0 + n] = X @ direction + rng.normal(size=n).astype(np.float32) * 0.1
    print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {time.time() - t:.0f} s")
size = os.path.getsize(path)
label = "t" if a.kind == "ridge" else "y"
cmd = ["/usr/bin/time", "-v", a.cli, "probe", path, "--label", label, "--kind", a.kind,
       "--mem-limit", a.limit, "--json", "--quiet"]
t = time.time()
p = subprocess.run(cmd, capture_output=True, text=True)
wall = time.time() - t
if p.returncode:
    raise SystemExit(p.stderr)
rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
res = json.loads(p.stdout)["results"][0]
lim = a.limit
mult = {"K": 2**10, "M": 2**20, "G": 2**30}
lim_b = float(lim[:-1]) * mult[lim[-1].upper()] if lim[-1].upper() in mult else float(lim)
score = res["test_r2"] if a.kind == "ridge" else res["test_accuracy"]
print(f"file {size / 2**20:.0f} MiB ({R} x {d} float32), --mem-limit {lim} "
      f"({size / lim_b:.1f}x smaller than the file)")
print(f"peak RSS {rss_kb / 1024:.0f} MiB ({'inside' if rss_kb * 1024 <= lim_b else 'OVER'} the budget), "
      f"wall {wall:.1f} s, {a.kind} test score {score:.4f}, L-BFGS iterations {res['n_iter']}")
if not a.keep:
    os.remove(path)
