#!/usr/bin/python3
"""Fit time of strata probes vs scikit-learn on the same data, at equal test
accuracy.  N=20,000 rows, d=768 (the GPT-2-small width): binary and 10-class
logistic regression (C=1, lbfgs, no standardisation: the same objective) and
Ridge (alpha=1).  Data: Gaussian class blobs (test accuracy ~0.8-0.9).
Two more ridge rows: scikit-learn given float32 input (what a user holding
float32 activations gets: its solver then runs in float32), and a path of
five alphas (strata_probe_fit_path, one X^T X for all) against five refits,
all on the ridge task's data.

usage: bench_probe.py [--lib build/libstrata.so] [--reps 3] [--json]
Run twice to compare BLAS kernels:
    OPENBLAS_CORETYPE= ./bench_probe.py ...;  OPENBLAS_CORETYPE=SkylakeX ./bench_probe.py ...
(the variable is read when OpenBLAS loads, so it must be set in the environment).
strata threads: OMP_NUM_THREADS / OPENBLAS_NUM_THREADS as for sklearn's BLAS.
"""
import argparse
import ctypes as C
import json
import os
import sys
import time

import numpy as np
from sklearn.linear_model import LogisticRegression, Ridge

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(here, "..", "..", "tests", "python"))
from test_probe_sklearn import Params  # noqa: E402


def load(path):
    L = C.CDLL(path)
    L.strata_probe_default_params.argtypes = [C.POINTER(Params)]
    L.strata_probe_fit.argtypes = [C.c_void_p, C.c_int64, C.c_int64, C.c_void_p, C.c_void_p,
                                   C.POINTER(Params), C.POINTER(C.c_void_p)]
    L.strata_probe_errmsg.restype = C.c_char_p
    L.strata_probe_errmsg.argtypes = [C.c_void_p]
    L.strata_probe_predict.argtypes = [C.c_void_p, C.c_void_p, C.c_int64, C.c_void_p]
    L.strata_probe_free.argtypes = [C.c_void_p]
    L.strata_probe_n_iter.argtypes = [C.c_void_p]
    L.strata_probe_fit_path.argtypes = [C.POINTER(Source), C.c_void_p, C.c_void_p,
                                        C.POINTER(Params), C.c_void_p, C.c_int, C.c_void_p]
    return L


READ_FN = C.CFUNCTYPE(C.c_int, C.c_void_p, C.c_int64, C.c_int64, C.c_void_p,
                      C.POINTER(C.c_void_p), C.c_char_p, C.c_size_t)


class Source(C.Structure):
    _fields_ = [("n_rows", C.c_int64), ("dim", C.c_int64), ("block_rows", C.c_int64),
                ("read", READ_FN), ("user", C.c_void_p)]


def strata_ridge_path(L, X, y, alphas):
    """Zero-copy source over X [n][d]; returns (probe handles, seconds)."""
    base, d = X.ctypes.data, X.shape[1]

    def read(user, row0, n, buf, rows, err, err_len):
        rows[0] = base + row0 * d * 4
        return 0
    cb = READ_FN(read)
    src = Source(X.shape[0], d, X.shape[0], cb, None)
    p = Params()
    L.strata_probe_default_params(C.byref(p))
    p.kind, p.standardize = 1, 0
    vals = np.ascontiguousarray(alphas, np.float64)
    hs = (C.c_void_p * len(alphas))()
    t = time.perf_counter()
    rc = L.strata_probe_fit_path(C.byref(src), y.ctypes.data, None, C.byref(p), vals.ctypes.data,
                                 len(alphas), hs)
    t = time.perf_counter() - t
    assert rc == 0, L.strata_probe_errmsg(hs[0])
    return list(hs), t


def strata_fit(L, X, y, kind, tol):
    p = Params()
    L.strata_probe_default_params(C.byref(p))
    p.kind, p.standardize, p.tol = kind, 0, tol
    h = C.c_void_p()
    t = time.perf_counter()
    rc = L.strata_probe_fit(X.ctypes.data, X.shape[0], X.shape[1], y.ctypes.data, None,
                            C.byref(p), C.byref(h))
    t = time.perf_counter() - t
    assert rc == 0, L.strata_probe_errmsg(h)
    return h, t


def strata_predict(L, h, X):
    out = np.zeros(X.shape[0], np.float32)
    assert L.strata_probe_predict(h, X.ctypes.data, X.shape[0], out.ctypes.data) == 0
    return out


def r2(y, p):
    return float(1 - ((y - p) ** 2).sum() / ((y - y.mean()) ** 2).sum())


def ridge_extra_rows(L, Xtr, Xte, ytr, yte, reps):
    """On the ridge task's data: scikit-learn given float32, and the path."""
    ntr, d = Xtr.shape
    ytr32 = np.ascontiguousarray(ytr, np.float32)
    alphas = [0.01, 0.1, 1.0, 10.0, 100.0]
    X64 = Xtr.astype(np.float64)
    out = []
    # alpha = 1, scikit-learn on float32 input
    ts, tk = [], []
    for _ in range(reps):
        m = Ridge(alpha=1.0)
        t = time.perf_counter()
        m.fit(Xtr, ytr32)
        tk.append(time.perf_counter() - t)
        h, t = strata_fit(L, Xtr, ytr32, 1, 1e-4)
        ts.append(t)
        pred = strata_predict(L, h, Xte)
        L.strata_probe_free(h)
    out.append({"task": "ridge-f32sk", "n_train": ntr, "d": d, "strata_s": min(ts),
                "sklearn_s": min(tk), "speedup": min(tk) / min(ts), "strata_score": r2(yte, pred),
                "sklearn_score": r2(yte, m.predict(Xte)), "strata_iter": 1, "sklearn_iter": 0})
    # five alphas: one strata path vs five scikit-learn refits (float64 and float32 input)
    for name, Xk, yk in (("path5", X64, ytr), ("path5-f32sk", Xtr, ytr32)):
        ts, tk = [], []
        for _ in range(reps):
            t = time.perf_counter()
            for al in alphas:
                m = Ridge(alpha=al).fit(Xk, yk)
                if al == 1.0:
                    pk = m.predict(Xte)
            tk.append(time.perf_counter() - t)
            hs, t = strata_ridge_path(L, Xtr, ytr32, alphas)
            ts.append(t)
            pred = strata_predict(L, hs[2], Xte)
            for h in hs:
                L.strata_probe_free(h)
        out.append({"task": name, "n_train": ntr, "d": d, "strata_s": min(ts),
                    "sklearn_s": min(tk), "speedup": min(tk) / min(ts),
                    "strata_score": r2(yte, pred), "sklearn_score": r2(yte, pk),
                    "strata_iter": len(alphas), "sklearn_iter": len(alphas)})
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lib", default=os.environ.get("STRATA_LIBRARY", "build/libstrata.so"))
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--d", type=int, default=768)
    ap.add_argument("--tol", type=float, default=1e-4, help="strata tol (mean-scaled max|grad|)")
    ap.add_argument("--json", action="store_true")
    a = ap.parse_args()
    L = load(a.lib)
    rng = np.random.default_rng(0)
    n, d = a.n, a.d
    rows = []
    for task, K in (("binary", 2), ("10-class", 10), ("ridge", 0)):
        if K:
            centers = rng.normal(size=(K, d)) * (0.06 if K == 2 else 0.1)
            y = rng.integers(0, K, n)
            X = (centers[y] + rng.normal(size=(n, d))).astype(np.float32)
        else:
            X = rng.normal(size=(n, d)).astype(np.float32)
            y = X @ rng.normal(size=d) * 0.05 + rng.normal(size=n)
        ntr = n * 4 // 5
        Xtr, Xte, ytr, yte = X[:ntr], X[ntr:], y[:ntr], y[ntr:]
        if not K:
            ridge_split = (Xtr, Xte, ytr, yte)
        X64 = Xtr.astype(np.float64)
        ts, tk = [], []
        for _ in range(a.reps):
            m = Ridge(alpha=1.0) if not K else LogisticRegression(C=1.0, solver="lbfgs", max_iter=10000)
            t = time.perf_counter()
            m.fit(X64, ytr)
            tk.append(time.perf_counter() - t)
            h, t = strata_fit(L, np.ascontiguousarray(Xtr), np.ascontiguousarray(ytr, np.float32),
                              1 if not K else 0, a.tol)
            ts.append(t)
            pred = strata_predict(L, h, np.ascontiguousarray(Xte))
            it = L.strata_probe_n_iter(h)
            L.strata_probe_free(h)
        pk = m.predict(Xte.astype(np.float64))
        if K:
            acc_s, acc_k = float((pred == yte).mean()), float((pk == yte).mean())
        else:
            acc_s, acc_k = r2(yte, pred), r2(yte, pk)
        rows.append({"task": task, "n_train": ntr, "d": d, "strata_s": min(ts), "sklearn_s": min(tk),
                     "speedup": min(tk) / min(ts), "strata_score": acc_s, "sklearn_score": acc_k,
                     "strata_iter": it, "sklearn_iter": int(np.max(getattr(m, "n_iter_", [0]) or 0))})
    rows += ridge_extra_rows(L, *ridge_split, a.reps)
    env = {"OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
           "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "(unset)")}
    if a.json:
        print(json.dumps({"env": env, "results": rows}, indent=1))
        return
    print(f"OPENBLAS_CORETYPE={env['OPENBLAS_CORETYPE']} OMP_NUM_THREADS={env['OMP_NUM_THREADS']}"
          f"  (best of {a.reps})")
    print(f"{'task':10} {'strata s':>9} {'sklearn s':>10} {'speedup':>8} {'score strata':>13} "
          f"{'score sklearn':>14} {'iter':>9}")
    for r in rows:
        print(f"{r['task']:10} {r['strata_s']:9.3f} {r['sklearn_s']:10.3f} {r['speedup']:7.1f}x "
              f"{r['strata_score']:13.4f} {r['sklearn_score']:14.4f} {r['strata_iter']:4d}/{r['sklearn_iter']:<4d}")


if __name__ == "__main__":
    main()
