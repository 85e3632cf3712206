"""strata probes vs scikit-learn on the same data.

The C library (ctypes on STRATA_LIBRARY) and the CLI (STRATA_CLI, on a
capture-format file written with h5py) are compared with
sklearn.linear_model.LogisticRegression(solver="lbfgs", same C; binary and
multinomial) and Ridge(alpha).  Both minimise the same objective
(docs/PROBES.md), so:
  * predictions on held-out rows are identical (test accuracies equal);
  * coefficients agree within COEF_RTOL * max(1, max|coef|) (logistic: 2e-3,
    our gradients are float32 sums; ridge: 1e-4).
sklearn is given float64 copies (float32 input makes its own loss float32).
scipy's L-BFGS-B also stops on a relative change of f (ftol 2.2e-9), so
sklearn's solution is itself only that precise: the tolerances cover both.
Skips visibly when scikit-learn, the library or the CLI is missing.
"""
import ctypes as C
import json
import os
import subprocess
import sys

import numpy as np
import pytest

sklearn = pytest.importorskip("sklearn", reason="scikit-learn not installed: probe agreement not checked")
from sklearn.linear_model import LogisticRegression, Ridge  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
from probe_h5util import write_acts  # noqa: E402

LOGISTIC_RTOL = 2e-3
RIDGE_RTOL = 1e-4


class Params(C.Structure):
    _fields_ = [("kind", C.c_int32), ("C", C.c_double), ("alpha", C.c_double),
                ("fit_intercept", C.c_int32), ("standardize", C.c_int32),
                ("class_weight", C.c_int32), ("class_weights", C.c_void_p),
                ("max_iter", C.c_int32), ("tol", C.c_double), ("lbfgs_m", C.c_int32),
                ("block_rows", C.c_int64), ("mem_limit", C.c_int64),
                ("test_fraction", C.c_double), ("cv_folds", C.c_int32),
                ("control", C.c_int32), ("shuffled", C.c_int32), ("seed", C.c_uint64),
                ("group", C.c_int32), ("groups", C.c_void_p), ("reserved", C.c_int64 * 4)]


@pytest.fixture(scope="module")
def lib():
    path = os.environ.get("STRATA_LIBRARY")
    if not path or not os.path.exists(path):
        pytest.skip("STRATA_LIBRARY not set (run through ctest)")
    L = C.CDLL(path)
    L.strata_probe_default_params.argtypes = [C.POINTER(Params)]
    L.strata_probe_fit.argtypes = [C.c_void_p, C.c_int64, C.c_int64, C.c_void_p, C.c_void_p,
                                   C.POINTER(Params), C.POINTER(C.c_void_p)]
    L.strata_probe_errmsg.restype = C.c_char_p
    L.strata_probe_errmsg.argtypes = [C.c_void_p]
    for f in ("coef", "intercept"):
        getattr(L, "strata_probe_" + f).restype = C.POINTER(C.c_float)
        getattr(L, "strata_probe_" + f).argtypes = [C.c_void_p]
    L.strata_probe_n_outputs.argtypes = [C.c_void_p]
    L.strata_probe_free.argtypes = [C.c_void_p]
    L.strata_probe_predict.argtypes = [C.c_void_p, C.c_void_p, C.c_int64, C.c_void_p]
    L.strata_probe_split.argtypes = [C.c_void_p, C.c_int64, C.c_double, C.c_uint64, C.c_void_p]
    return L


def fit(L, X, y, kind=0, Cval=1.0, alpha=1.0, standardize=0, train=None, fit_intercept=1):
    p = Params()
    L.strata_probe_default_params(C.byref(p))
    p.kind, p.C, p.alpha, p.standardize, p.tol = kind, Cval, alpha, standardize, 1e-8
    p.fit_intercept = fit_intercept
    X = np.ascontiguousarray(X, np.float32)
    y = np.ascontiguousarray(y, np.float32)
    h = C.c_void_p()
    tr = None if train is None else np.ascontiguousarray(train, np.uint8)
    rc = L.strata_probe_fit(X.ctypes.data, X.shape[0], X.shape[1], y.ctypes.data,
                            None if tr is None else tr.ctypes.data, C.byref(p), C.byref(h))
    try:
        assert rc == 0, L.strata_probe_errmsg(h)
        no = L.strata_probe_n_outputs(h)
        W = np.ctypeslib.as_array(L.strata_probe_coef(h), (no, X.shape[1])).copy()
        b = np.ctypeslib.as_array(L.strata_probe_intercept(h), (no,)).copy()
        return W, b
    finally:
        L.strata_probe_free(h)


def blobs(n, d, k, seed, sep=0.35):
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(k, d)) * sep
    y = rng.integers(0, k, n)
    X = centers[y] + rng.normal(size=(n, d)) + rng.normal(size=d) * 0.5  # offset: intercept matters
    return X.astype(np.float32), y


def check_coef(ours, ref, rtol, what):
    scale = max(1.0, float(np.abs(ref).max()))
    diff = float(np.abs(ours - ref).max())
    assert diff <= rtol * scale, f"{what}: max|diff| {diff:.3g} > {rtol} * {scale:.3g}"


@pytest.mark.parametrize("k,Cval", [(2, 0.5), (2, 10.0), (4, 1.0), (10, 0.2)])
def test_logistic_matches_sklearn(lib, k, Cval):
    X, y = blobs(3000, 24, k, seed=k)
    tr = np.arange(len(y)) % 5 != 0
    W, b = fit(lib, X, y, Cval=Cval, train=tr)
    ref = LogisticRegression(C=Cval, solver="lbfgs", tol=1e-10, max_iter=100000).fit(X[tr].astype(np.float64), y[tr])
    check_coef(W, ref.coef_, LOGISTIC_RTOL, f"coef k={k} C={Cval}")
    check_coef(b, ref.intercept_, LOGISTIC_RTOL, f"intercept k={k}")
    z = X[~tr] @ W.T + b
    ours = (z[:, 0] > 0).astype(int) if k == 2 else z.argmax(1)
    assert np.array_equal(ours, ref.predict(X[~tr])), "held-out predictions differ"


def test_logistic_standardized_matches_pipeline(lib):
    X, y = blobs(2000, 16, 3, seed=7)
    X[:, 3] *= 50  # very different feature scales
    W, b = fit(lib, X, y, Cval=0.3, standardize=1)
    sc = StandardScaler().fit(X.astype(np.float64))
    ref = LogisticRegression(C=0.3, tol=1e-10, max_iter=100000).fit(sc.transform(X), y)
    Wref = ref.coef_ / sc.scale_
    bref = ref.intercept_ - Wref @ sc.mean_
    check_coef(W * sc.scale_, ref.coef_, LOGISTIC_RTOL, "standardised coef")
    check_coef(b, bref, LOGISTIC_RTOL, "standardised intercept (raw space)")


@pytest.mark.parametrize("alpha", [0.1, 10.0])
def test_ridge_matches_sklearn(lib, alpha):
    X, _ = blobs(2000, 30, 2, seed=3)
    rng = np.random.default_rng(4)
    t = X.astype(np.float64) @ rng.normal(size=30) + rng.normal(size=2000) + 3
    W, b = fit(lib, X, t, kind=1, alpha=alpha)
    ref = Ridge(alpha=alpha).fit(X.astype(np.float64), t)
    check_coef(W[0], ref.coef_, RIDGE_RTOL, "ridge coef")
    check_coef(b, np.array([ref.intercept_]), RIDGE_RTOL, "ridge intercept")


def ridge_data(n, d, seed, offset=0.0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, d)) * rng.uniform(0.5, 3, size=d) + offset * rng.normal(size=d)
    X = X.astype(np.float32)
    t = X.astype(np.float64) @ rng.normal(size=d) + rng.normal(size=n) + 3
    return X, t


def test_ridge_large_feature_means(lib):
    # Means 1e3 times the spread (residual-stream outlier dimensions): an
    # uncentred X^T X in float32 would lose these digits; the shifted pass
    # must match sklearn (float64) as closely as for centred data.
    X, t = ridge_data(3000, 24, seed=11, offset=1000.0)
    tr = np.arange(len(t)) % 4 != 0
    W, b = fit(lib, X, t, kind=1, alpha=2.0, train=tr)
    ref = Ridge(alpha=2.0).fit(X[tr].astype(np.float64), t[tr])
    check_coef(W[0], ref.coef_, RIDGE_RTOL, "ridge coef, large means")
    # the intercept absorbs sum_j m_j w_j ~ 1e3 * |w|: compare relative to that
    assert abs(b[0] - ref.intercept_) <= RIDGE_RTOL * max(1.0, float(np.abs(X.mean(0)) @ np.abs(ref.coef_)))


def test_ridge_standardized_matches_pipeline(lib):
    X, t = ridge_data(2500, 20, seed=12, offset=5.0)
    X[:, 2] *= 40
    W, b = fit(lib, X, t, kind=1, alpha=5.0, standardize=1)
    sc = StandardScaler().fit(X.astype(np.float64))
    ref = Ridge(alpha=5.0).fit(sc.transform(X.astype(np.float64)), t)
    check_coef(W[0] * sc.scale_, ref.coef_, RIDGE_RTOL, "standardised ridge coef")
    bref = ref.intercept_ - (ref.coef_ / sc.scale_) @ sc.mean_
    check_coef(b, np.array([bref]), RIDGE_RTOL, "standardised ridge intercept (raw space)")


@pytest.mark.parametrize("standardize", [0, 1])
def test_ridge_without_intercept(lib, standardize):
    # fit_intercept = 0: y ~ z w with z = x (raw) or z = (x - mean) / sd
    # (StandardScaler then Ridge(fit_intercept=False)); raw-space intercept
    # is then 0, or -mean . coef.
    X, t = ridge_data(2000, 16, seed=13, offset=2.0)
    W, b = fit(lib, X, t, kind=1, alpha=1.5, standardize=standardize, fit_intercept=0)
    X64 = X.astype(np.float64)
    if standardize:
        sc = StandardScaler().fit(X64)
        ref = Ridge(alpha=1.5, fit_intercept=False).fit(sc.transform(X64), t)
        coef = ref.coef_ / sc.scale_
        icpt = -coef @ sc.mean_
    else:
        ref = Ridge(alpha=1.5, fit_intercept=False).fit(X64, t)
        coef, icpt = ref.coef_, 0.0
    check_coef(W[0], coef, RIDGE_RTOL, f"ridge coef, no intercept, standardize={standardize}")
    check_coef(b, np.array([icpt]), RIDGE_RTOL, "ridge intercept, no intercept")
    assert np.allclose(X64 @ W[0] + b[0], X64 @ coef + icpt, rtol=1e-4, atol=1e-3 * np.abs(t).max())


def cli():
    path = os.environ.get("STRATA_CLI")
    if not path or not os.path.exists(path):
        pytest.skip("STRATA_CLI not set or not built")
    return path


def strata_split(L, y, frac, seed):
    cls = np.ascontiguousarray(np.unique(y, return_inverse=True)[1], np.int32)
    test = np.zeros(len(y), np.uint8)
    assert L.strata_probe_split(cls.ctypes.data, len(y), frac, seed, test.ctypes.data) == 0
    return test.astype(bool)


@pytest.mark.parametrize("k", [2, 5])
def test_cli_test_accuracy_equals_sklearn(lib, tmp_path, k):
    """`strata probe --json` on an h5py-written capture file: per hook, the test
    accuracy equals sklearn's on the same (seeded, stratified) split."""
    X0, y = blobs(2500, 16, k, seed=10 + k, sep=0.1)
    X1, _ = blobs(2500, 16, k, seed=20 + k)
    rng = np.random.default_rng(0)
    X1 = X1 + (np.eye(k, 16)[y] * 1.0).astype(np.float32)
    acts = {"blocks.0.hook_resid_post": X0, "blocks.1.hook_resid_post": X1}
    f = tmp_path / "acts.h5"
    write_acts(str(f), acts, {"lab": y.astype(np.int32)}, tokens=rng.integers(0, 300, len(y)))
    out = subprocess.run([cli(), "probe", str(f), "--label", "lab", "--json", "--C", "0.5",
                          "--no-standardize", "--seed", "3", "--tol", "1e-8", "--control"],
                         capture_output=True, text=True, check=True)
    res = json.loads(out.stdout)["results"]
    assert [r["hook"] for r in res] == list(acts)
    test = strata_split(lib, y, 0.2, 3)
    for r in res:
        X = acts[r["hook"]]
        ref = LogisticRegression(C=0.5, tol=1e-10, max_iter=100000).fit(X[~test].astype(np.float64), y[~test])
        acc = float((ref.predict(X[test]) == y[test]).mean())
        assert r["n_rows"] == len(y) and r["n_test"] == int(test.sum())
        assert abs(r["test_accuracy"] - acc) < 1e-9 + 0.1 / test.sum(), (r["hook"], r["test_accuracy"], acc)
        assert r["selectivity"] == pytest.approx(
            r["balanced_accuracy"] - r["control_balanced_accuracy"], abs=1e-5)
    assert res[1]["test_accuracy"] > res[0]["test_accuracy"]


def test_cli_ridge_and_errors(lib, tmp_path):
    X, _ = blobs(1000, 8, 2, seed=5)
    t = (X[:, 0] * 2 - X[:, 1]).astype(np.float32)
    f = tmp_path / "r.h5"
    write_acts(str(f), {"blocks.0.hook_resid_post": X}, {"t": t, "one": np.ones(1000, np.int32)})
    out = subprocess.run([cli(), "probe", str(f), "--label", "t", "--kind", "ridge", "--json",
                          "--alpha", "0.001", "--no-standardize", "--cv", "3"],
                         capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)["results"][0]
    assert r["test_r2"] > 0.999 and r["test_accuracy"] is None and r["cv_folds"] == 3
    bad = [(["--label", "nope"], "no label 'nope'"),
           (["--label", "t", "--hooks", "blocks.7.*"], "matches no hook"),
           (["--label", "one"], "single class")]
    for args, msg in bad:
        p = subprocess.run([cli(), "probe", str(f)] + args, capture_output=True, text=True)
        assert p.returncode == 1 and msg in p.stderr, (args, p.stderr)
    # label shorter than the rows: the file is refused with the label named
    g = tmp_path / "short.h5"
    write_acts(str(g), {"blocks.0.hook_resid_post": X}, {"t": t[:500]})
    p = subprocess.run([cli(), "probe", str(g), "--label", "t"], capture_output=True, text=True)
    assert p.returncode == 1 and "labels/t" in p.stderr, p.stderr
