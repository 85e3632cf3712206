#!/usr/bin/env python3
"""Overhead of the Python layer for run_with_cache, against the same work in C.

For each capture set, on one model handle and interleaved (so machine load
hits both sides alike), it times:

  C      strata_run through ctypes with a C capture hook (c_capture.c, built
         here with cc) copying every hooked tensor into a fresh malloc'd
         buffer, buffers freed after the run; logits into a fresh array
         (the same work Python does: it hands out new arrays).
  C-reuse  the same, but buffers and logits allocated once and reused
         across runs (a C program's best case: no allocation, no page faults).
  Python model.run_with_cache(tokens, names=...): tokens normalised, Python
         trampoline per hook point, fresh numpy arrays, ActivationCache.
  bare   strata_run with logits and no hooks (the forward pass alone).

Overhead = (Python - C) / C, from the medians and from the minima.

  STRATA_LIBRARY=build/libstrata.so PYTHONPATH=bindings/python \\
      python3 bench/python/bench_overhead.py --model ../shared/models/stories260K/hf

Writes a JSON summary to stdout (and --out FILE).
"""

import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bindings", "python"))
import strata  # noqa: E402
from strata._lib import HOOK_FN  # noqa: E402


CLOCK = time.perf_counter


def build_ccap(tmp):
    so = os.path.join(tmp, "libccap.so")
    cc = os.environ.get("CC", "cc")
    subprocess.run([cc, "-O2", "-shared", "-fPIC", "-I", os.path.join(ROOT, "include"),
                    os.path.join(ROOT, "bench", "python", "c_capture.c"), "-o", so], check=True)
    lib = ctypes.CDLL(so)
    lib.ccap_free_all.restype = ctypes.c_int
    lib.ccap_set_reuse.argtypes = [ctypes.c_int]
    lib.ccap_set_reuse.restype = None
    return lib


def lcg_tokens(B, T, V, seed=12345):
    x = seed
    out = np.empty(B * T, np.int32)
    for i in range(B * T):
        x = (x * 6364136223846793005 + 1442695040888963407) % 2**64
        out[i] = (x >> 33) % V
    return out.reshape(B, T)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default=os.path.join(
        os.environ.get("STRATA_SHARED_DIR", os.path.join(ROOT, "..", "shared")),
        "models", "stories260K", "hf"))
    ap.add_argument("--batch", type=int, default=8)
    ap.add_argument("--tokens", type=int, default=128)
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--sets", default="resid_post,all",
                    help="capture sets: resid_post, all (every point but attn.hook_result), "
                         "or globs separated by '+'")
    ap.add_argument("--clock", choices=["wall", "cpu"], default="wall",
                    help="cpu: process CPU time (robust on a loaded machine when the run is "
                         "single-threaded: --threads 1 and OPENBLAS_NUM_THREADS=1)")
    ap.add_argument("--paths", default="c,py,reuse,bare",
                    help="which of c (fresh buffers), py, reuse (C reusing buffers), bare to "
                         "time (py is always timed)")
    ap.add_argument("--out")
    a = ap.parse_args()
    paths = set(a.paths.split(",")) | {"py"}
    global CLOCK
    CLOCK = time.process_time if a.clock == "cpu" else time.perf_counter

    lib = strata.library()
    with tempfile.TemporaryDirectory() as tmp:
        ccap = build_ccap(tmp)
        c_hook = ctypes.cast(ccap.ccap_hook, HOOK_FN)
        model = strata.Model.open(a.model, n_threads=a.threads)
        cfg = model.config
        B, T, V = a.batch, min(a.tokens, cfg.n_ctx), cfg.vocab_size
        tok = lcg_tokens(B, T, V)
        lens = np.full(B, T, np.int32)
        h = model._h
        results = {"model": a.model, "arch": cfg.arch, "d_model": cfg.d_model,
                   "n_layers": cfg.n_layers, "batch": B, "tokens": T, "threads": a.threads,
                   "reps": a.reps, "clock": a.clock, "library": lib.path, "sets": {}}

        logits_keep = np.empty((B, T, V), np.float32)

        def c_run(specs, reuse=False):
            ccap.ccap_set_reuse(int(reuse))
            for s in specs:   # registration is outside the timed region
                rc = lib.strata_hook_add(h, s.encode(), c_hook, None, None)
                assert rc == 0, lib.strata_errmsg(h)
            t0 = CLOCK()
            out = logits_keep if reuse else np.empty((B, T, V), np.float32)
            rc = lib.strata_run(h, tok.ctypes.data, lens.ctypes.data, B, out.ctypes.data)
            n = ccap.ccap_free_all()
            del out
            dt = CLOCK() - t0
            lib.strata_hook_clear(h)
            assert rc == 0, lib.strata_errmsg(h)
            return dt, n

        def py_run(specs):
            t0 = CLOCK()
            logits, cache = model.run_with_cache(tok, names=specs)
            n = len(cache)
            del logits, cache
            return CLOCK() - t0, n

        def bare_run():
            t0 = CLOCK()
            out = np.empty((B, T, V), np.float32)
            rc = lib.strata_run(h, tok.ctypes.data, lens.ctypes.data, B, out.ctypes.data)
            del out
            assert rc == 0
            return CLOCK() - t0

        for name in a.sets.split(","):
            if name == "resid_post":
                specs = ["blocks.*.hook_resid_post"]
            elif name == "all":
                specs = model._capture_specs(None)
            else:
                specs = name.split("+")
            nan = (float("nan"), 0)
            steps = [
                ("c", lambda: c_run(specs)), ("py", lambda: py_run(specs)),
                ("reuse", lambda: c_run(specs, True)), ("bare", lambda: (bare_run(), 0))]
            steps = [(k, f) for k, f in steps if k in paths]
            for _ in range(1 if a.reps < 5 else 2):
                for _, f in steps:
                    f()
            times = {k: [] for k in ("c", "py", "reuse", "bare")}
            counts = {}
            for _ in range(a.reps):
                for k, f in steps:
                    dt, n = f()
                    times[k].append(dt)
                    counts[k] = n
            for k in times:
                if not times[k]:
                    times[k] = [nan[0]]
            tc, tp, tr, tb = times["c"], times["py"], times["reuse"], times["bare"]
            nc, npy = counts.get("c", counts.get("reuse", 0)), counts["py"]
            ccap.ccap_set_reuse(0)
            ccap.ccap_free_all()
            mr = statistics.median(tr)
            mc, mp, mb = statistics.median(tc), statistics.median(tp), statistics.median(tb)
            ratios = sorted(p / c for p, c in zip(tp, tc))
            captured_mb = sum(np.prod(model.hook_shape(n, B, T)) * 4
                              for s in specs for n in model.hook_names(s)) / 2**20
            results["sets"][name] = {
                "globs": specs, "hook_points": nc, "captured_MiB": round(float(captured_mb), 2),
                "c_median_ms": round(1e3 * mc, 3), "py_median_ms": round(1e3 * mp, 3),
                "c_min_ms": round(1e3 * min(tc), 3), "py_min_ms": round(1e3 * min(tp), 3),
                "c_reuse_median_ms": round(1e3 * mr, 3), "c_reuse_min_ms": round(1e3 * min(tr), 3),
                "bare_forward_median_ms": round(1e3 * mb, 3),
                "overhead_vs_reuse_median_pct": round(100 * (mp - mr) / mr, 2),
                "overhead_vs_reuse_min_pct": round(100 * (min(tp) - min(tr)) / min(tr), 2),
                "overhead_median_pct": round(100 * (mp - mc) / mc, 2),
                "overhead_min_pct": round(100 * (min(tp) - min(tc)) / min(tc), 2),
                "overhead_paired_median_pct": round(100 * (statistics.median(ratios) - 1), 2),
                "py_hook_points": npy,
            }
            print(f"{name:>10}: C {1e3*mc:8.2f} ms  Python {1e3*mp:8.2f} ms  "
                  f"(min {1e3*min(tc):.2f} / {1e3*min(tp):.2f})  C-reuse {1e3*mr:.2f} "
                  f"(min {1e3*min(tr):.2f})  bare {1e3*mb:.2f} ms  "
                  f"overhead vs C {results['sets'][name]['overhead_median_pct']:+.1f}% median "
                  f"({results['sets'][name]['overhead_min_pct']:+.1f}% min), vs C-reuse "
                  f"{results['sets'][name]['overhead_vs_reuse_median_pct']:+.1f}% median "
                  f"({results['sets'][name]['overhead_vs_reuse_min_pct']:+.1f}% min), "
                  f"{nc} hook calls, {captured_mb:.1f} MiB", file=sys.stderr)
        model.close()
    js = json.dumps(results, indent=2)
    print(js)
    if a.out:
        with open(a.out, "w") as f:
            f.write(js + "\n")


if __name__ == "__main__":
    main()
