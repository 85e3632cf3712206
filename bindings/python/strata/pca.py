"""PCA and effective dimensionality (strata/pca.h), CKA (strata/cka.h).

    p = strata.pca.fit(X, k=10)          # X float32 [n, d]
    p.components_, p.explained_variance_, p.explained_variance_ratio_, p.mean_
    p.participation_ratio                # (sum lambda)^2 / sum lambda^2, all d eigenvalues
    Z = p.transform(X)                   # [n, k]
    M = strata.pca.cka([X1, X2, X3])     # [3, 3] linear CKA

Results are float64 (accumulation and eigensolver in float64); covariance
with ddof 1 as numpy.cov and sklearn.decomposition.PCA; each component's
largest-magnitude entry is positive.
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _lib
from ._util import Handle, as_f32, copy_array
from .errors import ArgumentError, error_for_status

__all__ = ["PCA", "fit", "fit_acts", "participation_ratio", "cka", "cka_acts", "cka_files"]

_SOLVER = {"auto": 0, "cov": 1, "rsvd": 2}
_SOLVER_NAME = {v: k for k, v in _SOLVER.items()}


def _params(lib, k, center, whiten, solver, seed, block_rows, **rsvd):
    p = _lib.PcaParams()
    lib.strata_pca_default_params(ctypes.byref(p))
    p.k, p.center, p.whiten = int(k), int(bool(center)), int(bool(whiten))
    if solver not in _SOLVER:
        raise ArgumentError(f"solver must be one of {list(_SOLVER)}")
    p.solver = _SOLVER[solver]
    p.seed, p.block_rows = int(seed), int(block_rows)
    for key, v in rsvd.items():
        if v is not None:
            setattr(p, "rsvd_" + key, int(v))
    return p


class PCA(Handle):
    """A PCA fit.  Attributes (numpy copies, float64):

    mean_ [d], components_ [k, d] (unit rows), explained_variance_ [k],
    explained_variance_ratio_ [k] (over the total variance tr(C)),
    total_variance, participation_ratio, n_rows, dim, k, solver.
    """

    _free_name = "strata_pca_free"
    _errmsg_name = "strata_pca_errmsg"

    def _load(self):
        L, h = self._lib, self._h
        self.n_rows = int(L.strata_pca_n_rows(h))
        self.dim = d = int(L.strata_pca_dim(h))
        self.k = k = int(L.strata_pca_k(h))
        self.solver = _SOLVER_NAME.get(L.strata_pca_solver_used(h), "?")
        self.mean_ = copy_array(L.strata_pca_mean(h), ctypes.c_double, (d,))
        self.components_ = copy_array(L.strata_pca_components(h), ctypes.c_double, (k, d))
        self.explained_variance_ = copy_array(L.strata_pca_explained_variance(h),
                                              ctypes.c_double, (k,))
        self.explained_variance_ratio_ = copy_array(L.strata_pca_explained_variance_ratio(h),
                                                    ctypes.c_double, (k,))
        self.total_variance = float(L.strata_pca_total_variance(h))
        self.participation_ratio = float(L.strata_pca_participation_ratio(h))
        return self

    def transform(self, X) -> np.ndarray:
        """Projections (X - mean) V^T, float32 [n, k] (whitened if fit so)."""
        X = as_f32(X, 2, "X")
        if X.shape[1] != self.dim:
            raise ArgumentError(f"X has {X.shape[1]} features; the PCA has {self.dim}")
        out = np.empty((X.shape[0], self.k), np.float32)
        self._check(self._lib.strata_pca_transform(self._handle(), X.ctypes.data, X.shape[0],
                                                   out.ctypes.data))
        return out

    def write(self, path, hook: str, projections: bool = False, overwrite: bool = False):
        """Stores the fit under /pca/<hook> of a capture file (closed elsewhere)."""
        self._check(self._lib.strata_pca_write(self._handle(), os.fsencode(path), hook.encode(),
                                               int(projections), int(overwrite)))

    def __repr__(self) -> str:
        return f"<strata.PCA k={getattr(self, 'k', '?')} d={getattr(self, 'dim', '?')}>"


def _finish(lib, rc, h) -> PCA:
    return PCA._adopt(lib, rc, h.value)._load()


def fit(X, k: int = 10, *, center=True, whiten=False, solver="auto", seed=0, block_rows=0,
        oversample=None, iters=None, probes=None) -> PCA:
    """PCA of X float32 [n, d] (top k components)."""
    lib = _lib.load()
    lib.need("strata_pca_fit")
    X = as_f32(X, 2, "X")
    p = _params(lib, k, center, whiten, solver, seed, block_rows, oversample=oversample,
                iters=iters, probes=probes)
    h = ctypes.c_void_p()
    rc = lib.strata_pca_fit(X.ctypes.data, X.shape[0], X.shape[1], ctypes.byref(p),
                            ctypes.byref(h))
    return _finish(lib, rc, h)


def fit_acts(acts, hook: str, k: int = 10, *, center=True, whiten=False, solver="auto", seed=0,
             block_rows=0, oversample=None, iters=None, probes=None) -> PCA:
    """PCA of one hook of a capture file (strata.Activations), streamed."""
    lib = acts._lib
    lib.need("strata_pca_fit_acts")
    p = _params(lib, k, center, whiten, solver, seed, block_rows, oversample=oversample,
                iters=iters, probes=probes)
    h = ctypes.c_void_p()
    rc = lib.strata_pca_fit_acts(acts._handle(), hook.encode(), ctypes.byref(p), ctypes.byref(h))
    return _finish(lib, rc, h)


def participation_ratio(eigenvalues) -> float:
    """(sum lambda)^2 / sum lambda^2 (negatives clamped to 0; 0 if all 0)."""
    lib = _lib.load()
    lib.need("strata_participation_ratio")
    a = np.ascontiguousarray(eigenvalues, np.float64).reshape(-1)
    return float(lib.strata_participation_ratio(a.ctypes.data, a.shape[0]))


def _cka_params(lib, block_rows, max_bytes):
    p = _lib.CkaParams()
    lib.strata_cka_default_params(ctypes.byref(p))
    if block_rows:
        p.block_rows = int(block_rows)
    if max_bytes:
        p.max_bytes = int(max_bytes)
    return p


def _cka_result(lib, rc, h) -> np.ndarray:
    try:
        if rc != 0:
            msg = _lib.cstr(lib.strata_cka_errmsg(h)) if h.value else ""
            raise error_for_status(rc, msg or lib.errstr(rc))
        m = lib.strata_cka_n(h)
        return copy_array(lib.strata_cka_matrix(h), ctypes.c_double, (m, m))
    finally:
        lib.strata_cka_free(h)


def cka(arrays, *, block_rows=0, max_bytes=0) -> np.ndarray:
    """Linear CKA between every pair of arrays (each [n, d_i], same n): float64 [m, m]."""
    lib = _lib.load()
    lib.need("strata_cka_fit")
    Xs = [as_f32(np.asarray(a).reshape(len(a), -1), 2, "array") for a in arrays]
    if not Xs:
        raise ArgumentError("cka needs at least one array")
    n = Xs[0].shape[0]
    if any(x.shape[0] != n for x in Xs):
        raise ArgumentError(f"all arrays need the same rows: {[x.shape[0] for x in Xs]}")
    ptrs = (ctypes.c_void_p * len(Xs))(*[x.ctypes.data for x in Xs])
    dims = (ctypes.c_int64 * len(Xs))(*[x.shape[1] for x in Xs])
    p = _cka_params(lib, block_rows, max_bytes)
    h = ctypes.c_void_p()
    rc = lib.strata_cka_fit(len(Xs), ptrs, dims, n, ctypes.byref(p), ctypes.byref(h))
    return _cka_result(lib, rc, h)


def cka_acts(acts, hooks, *, block_rows=0, max_bytes=0) -> np.ndarray:
    """Linear CKA between every pair of the named hooks of a capture file: [m, m]."""
    lib = acts._lib
    lib.need("strata_cka_fit_acts")
    hooks = list(hooks)
    names = (ctypes.c_char_p * len(hooks))(*[h.encode() for h in hooks])
    p = _cka_params(lib, block_rows, max_bytes)
    h = ctypes.c_void_p()
    rc = lib.strata_cka_fit_acts(acts._handle(), len(hooks), names, ctypes.byref(p),
                                 ctypes.byref(h))
    return _cka_result(lib, rc, h)


def cka_files(acts_a, acts_b, hooks_a, hooks_b=None, *, block_rows=0, max_bytes=0) -> np.ndarray:
    """Linear CKA across two capture files of the same tokens (two checkpoints,
    two model sizes): float64 [len(hooks_a), len(hooks_b)], entry [i, j] between
    hook i of acts_a and hook j of acts_b (hooks_b defaults to hooks_a, so the
    diagonal compares the same hook).  Both files must hold the same token at
    every row (checked: StateError naming the first differing row)."""
    lib = acts_a._lib
    lib.need("strata_cka_fit_acts_pair")
    ha = [hooks_a] if isinstance(hooks_a, str) else list(hooks_a)
    hb = ha if hooks_b is None else ([hooks_b] if isinstance(hooks_b, str) else list(hooks_b))
    if not ha or not hb:
        raise ArgumentError("cka_files needs at least one hook in each file")
    na = (ctypes.c_char_p * len(ha))(*[h.encode() for h in ha])
    nb = (ctypes.c_char_p * len(hb))(*[h.encode() for h in hb])
    p = _cka_params(lib, block_rows, max_bytes)
    h = ctypes.c_void_p()
    rc = lib.strata_cka_fit_acts_pair(acts_a._handle(), len(ha), na, acts_b._handle(), len(hb),
                                      nb, ctypes.byref(p), ctypes.byref(h))
    full = _cka_result(lib, rc, h)
    return full[: len(ha), len(ha):].copy()
