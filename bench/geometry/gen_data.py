"""Benchmark data for bench/geometry: N x D float32 with a residual-stream-like
spectrum (power-law decay, a few large-mean outlier features), written as raw
little-endian float32 (X.f32, row-major) and as a strata activation file
(acts.h5, /acts/blocks.0.hook_resid_post, chunked 4096 rows) for the
streaming run.  Seeded.  usage: gen_data.py OUTDIR [N] [D]"""
import os
import sys

import h5py
import numpy as np

out = sys.argv[1]
n = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
d = int(sys.argv[3]) if len(sys.argv) > 3 else 768
os.makedirs(out, exist_ok=True)
rng = np.random.default_rng(2026)
q, _ = np.linalg.qr(rng.standard_normal((d, d)))
scale = (1.0 + np.arange(d)) ** -0.6 * 4.0           # power-law spectrum
mean = rng.standard_normal(d) * 0.5
mean[[3, 77, 400]] = [60.0, -35.0, 120.0]           # outlier dimensions
X = np.empty((n, d), np.float32)
for r0 in range(0, n, 10_000):
    z = rng.standard_normal((min(10_000, n - r0), d)) * scale
    X[r0:r0 + z.shape[0]] = (z @ q.T + mean).astype(np.float32)
X.tofile(os.path.join(out, "X.f32"))
with h5py.File(os.path.join(out, "acts.h5"), "w") as f:
    f.attrs["format"] = "strata-activations"
    f.attrs["format_version"] = "1.0"
    f.attrs["complete"] = True
    f.attrs["hooks"] = ["blocks.0.hook_resid_post"]
    f.attrs["n_rows"] = np.int64(n)
    f["tokens"] = np.zeros(n, np.int32)
    f["rows"] = np.arange(n, dtype=np.int64)
    f.create_dataset("acts/blocks.0.hook_resid_post", data=X, chunks=(4096, d))
print(f"wrote {out}/X.f32 and {out}/acts.h5: {n} x {d}")
