"""Linear probes (strata/probe.h), scikit-learn-compatible objectives.

    p = strata.probe.fit(X, y, kind="logistic", C=1.0, standardize=False)
    p.coef_, p.intercept_, p.classes_          # as sklearn's LogisticRegression
    p.predict(X), p.predict_proba(X), p.decision_function(X)
    rep = strata.probe.evaluate(X, y, cv_folds=5, control=True, tokens=row_tokens)

X is float32 [n, d] (one row per kept position); y is float [n] (NaN =
unlabelled, skipped).  Objectives (probe.h) match
sklearn.linear_model.LogisticRegression(C, solver="lbfgs") and Ridge(alpha)
exactly when standardize=False, so coefficients agree to solver tolerance.
Note that the C default is standardize=True (z-scored features, coefficients
mapped back to activation space); pass standardize=False for sklearn parity.
"""

from __future__ import annotations

import ctypes
import math
import os
from dataclasses import dataclass, fields

import numpy as np

from . import _lib
from ._util import Handle, as_f32, as_i32, copy_array, err_buf
from .errors import ArgumentError, error_for_status

__all__ = ["Probe", "ProbeReport", "fit", "evaluate", "sweep", "load", "params"]

_KIND = {"logistic": 0, "ridge": 1, "diffmean": 2}
_KIND_NAME = {v: k for k, v in _KIND.items()}
_GROUP = {"auto": 0, "row": 1, "doc": 2}


def params(**kw):
    """A strata_probe_params from keyword arguments over the C defaults.

    kind ("logistic" | "ridge" | "diffmean"), C, alpha, fit_intercept,
    standardize, class_weight (None | "balanced" | array [n_classes]),
    max_iter, tol, lbfgs_m, block_rows, mem_limit, test_fraction, cv_folds,
    control, shuffled, seed, group ("auto" | "doc" | "row"), groups (int
    array [n]: the group -- document -- of each row; evaluate() only).
    """
    lib = _lib.load()
    lib.need("strata_probe_default_params")
    p = _lib.ProbeParams()
    lib.strata_probe_default_params(ctypes.byref(p))
    keep = keep_groups = None
    for k, v in kw.items():
        if v is None and k != "class_weight":
            continue
        if k == "kind":
            if v not in _KIND:
                raise ArgumentError(f"kind must be one of {list(_KIND)}, not {v!r}")
            p.kind = _KIND[v]
        elif k == "class_weight":
            if v is None:
                p.class_weight = 0
            elif isinstance(v, str):
                if v != "balanced":
                    raise ArgumentError("class_weight must be None, 'balanced' or an array")
                p.class_weight = 1
            else:
                keep = np.ascontiguousarray(v, np.float32)
                p.class_weights = keep.ctypes.data
        elif k == "group":
            if v not in _GROUP:
                raise ArgumentError(f"group must be one of {list(_GROUP)}, not {v!r}")
            p.group = _GROUP[v]
        elif k == "groups":
            keep_groups = np.ascontiguousarray(v, np.int64).reshape(-1)
            p.groups = keep_groups.ctypes.data
        elif k in {f[0] for f in _lib.ProbeParams._fields_}:
            setattr(p, k, float(v) if isinstance(getattr(p, k), float) else int(v))
        else:
            raise TypeError(f"unknown probe parameter {k!r}")
    p._keep = (keep, keep_groups)
    return p


class Probe(Handle):
    """A fitted probe.  Attributes mirror scikit-learn:

    coef_ float32 [n_outputs, d] (raw activation space), intercept_ [n_outputs],
    classes_ float64 [n_classes] (empty for ridge), n_iter_, converged,
    kind ("logistic", "ridge", "diffmean"), n_train, n_constant_features.
    """

    _free_name = "strata_probe_free"
    _errmsg_name = "strata_probe_errmsg"

    def _load(self):
        L, h = self._lib, self._h
        self.kind = _KIND_NAME.get(L.strata_probe_get_kind(h), "?")
        self.dim = int(L.strata_probe_dim(h))
        self.n_classes = int(L.strata_probe_n_classes(h))
        no = int(L.strata_probe_n_outputs(h))
        self.coef_ = copy_array(L.strata_probe_coef(h), ctypes.c_float, (no, self.dim))
        self.intercept_ = copy_array(L.strata_probe_intercept(h), ctypes.c_float, (no,))
        self.classes_ = np.array([L.strata_probe_class_value(h, c)
                                  for c in range(self.n_classes)], np.float64)
        self.n_iter_ = int(L.strata_probe_n_iter(h))
        self.converged = bool(L.strata_probe_converged(h))
        self.n_constant_features = int(L.strata_probe_n_constant_features(h))
        self.n_train = int(L.strata_probe_n_train(h))
        return self

    def _X(self, X):
        X = as_f32(X, 2, "X")
        if X.shape[1] != self.dim:
            raise ArgumentError(f"X has {X.shape[1]} features; the probe has {self.dim}")
        return X

    def decision_function(self, X) -> np.ndarray:
        """Scores X coef^T + intercept: [n] for binary / ridge, [n, K] for K > 2."""
        X = self._X(X)
        no = self.coef_.shape[0]
        out = np.empty((X.shape[0], no), np.float32)
        self._check(self._lib.strata_probe_decision(self._handle(), X.ctypes.data, X.shape[0],
                                                    out.ctypes.data))
        return out[:, 0] if no == 1 else out

    def predict(self, X) -> np.ndarray:
        """Predicted class values (classification) or regression values, float32 [n]."""
        X = self._X(X)
        out = np.empty(X.shape[0], np.float32)
        self._check(self._lib.strata_probe_predict(self._handle(), X.ctypes.data, X.shape[0],
                                                   out.ctypes.data))
        return out

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities float32 [n, n_classes] (logistic only)."""
        X = self._X(X)
        out = np.empty((X.shape[0], self.n_classes), np.float32)
        self._check(self._lib.strata_probe_predict_proba(self._handle(), X.ctypes.data,
                                                         X.shape[0], out.ctypes.data))
        return out

    def direction(self, output: int = 0, unit: bool = True) -> np.ndarray:
        """The probe's direction in activation space, float32 [d] (for steering)."""
        out = np.empty(self.dim, np.float32)
        self._check(self._lib.strata_probe_direction(self._handle(), int(output), int(unit),
                                                     out.ctypes.data))
        return out

    def save(self, path, name: str) -> None:
        """Writes /probes/<name> into an HDF5 file (created if absent)."""
        self._check(self._lib.strata_probe_save(self._handle(), os.fsencode(path),
                                                name.encode()))

    def __repr__(self) -> str:
        return (f"<strata.Probe {getattr(self, 'kind', '?')} d={getattr(self, 'dim', '?')} "
                f"classes={getattr(self, 'n_classes', '?')}>")


def _finish(lib, rc, h) -> Probe:
    return Probe._adopt(lib, rc, h.value)._load()


def _xy(X, y):
    """X as float32 [n, d] and y as float32 [n], with the same n."""
    X = as_f32(X, 2, "X")
    y = np.ascontiguousarray(y, np.float32).reshape(-1)
    if y.shape[0] != X.shape[0]:
        raise ArgumentError(f"X has {X.shape[0]} rows, y has {y.shape[0]}")
    return X, y


def fit(X, y, *, train=None, **kw) -> Probe:
    """Fits a probe on X float32 [n, d], y [n] (NaN rows skipped).

    train: optional bool [n] mask of the rows to fit on.  Keywords: see params().
    """
    lib = _lib.load()
    lib.need("strata_probe_fit")
    X, y = _xy(X, y)
    tr = None if train is None else np.ascontiguousarray(train, np.uint8).reshape(-1)
    p = params(**kw)
    h = ctypes.c_void_p()
    rc = lib.strata_probe_fit(X.ctypes.data, X.shape[0], X.shape[1], y.ctypes.data,
                              tr.ctypes.data if tr is not None else None, ctypes.byref(p),
                              ctypes.byref(h))
    return _finish(lib, rc, h)


def load(path, name: str | None = None) -> Probe:
    """Reads a probe saved with Probe.save (name None: the file's only probe)."""
    lib = _lib.load()
    lib.need("strata_probe_load")
    h = ctypes.c_void_p()
    rc = lib.strata_probe_load(os.fsencode(path), name.encode() if name else None,
                               ctypes.byref(h))
    return _finish(lib, rc, h)


@dataclass
class ProbeReport:
    """Evaluation of one probe (strata_probe_report); NaN where not applicable."""
    hook: str
    kind: str
    n_classes: int
    dim: int
    n_rows: int
    n_train: int
    n_test: int
    train_accuracy: float
    test_accuracy: float
    balanced_accuracy: float
    macro_f1: float
    auroc: float
    log_loss: float
    train_r2: float
    test_r2: float
    cv_folds: int
    cv_score: float
    cv_std: float
    control_score: float
    selectivity: float
    shuffled_score: float
    n_iter: int
    converged: bool
    n_constant_features: int
    fit_seconds: float
    majority_accuracy: float
    cv_balanced_accuracy: float
    control_balanced_accuracy: float
    grouped: bool
    n_groups: int

    @classmethod
    def _from_c(cls, r) -> "ProbeReport":
        kw = {}
        for f in fields(cls):
            v = getattr(r, f.name)
            if f.name == "hook":
                v = v.decode("utf-8", "replace")
            elif f.name == "kind":
                v = _KIND_NAME.get(v, str(v))
            elif f.name in ("converged", "grouped"):
                v = bool(v)
            kw[f.name] = v
        return cls(**kw)

    def __repr__(self) -> str:
        hook = f"{self.hook} " if self.hook else ""
        split = f"by document ({self.n_groups})" if self.grouped else "by row"
        if math.isnan(self.test_accuracy):
            body = f"test_r2={self.test_r2:.4f}"
        else:
            body = (f"test_acc={self.test_accuracy:.4f} balanced={self.balanced_accuracy:.4f} "
                    f"majority={self.majority_accuracy:.4f}")
        return f"<ProbeReport {hook}{self.kind} {body} n={self.n_rows} split {split}>"

    @property
    def score(self) -> float:
        """Test accuracy (classification) or test R^2 (ridge)."""
        return self.test_r2 if math.isnan(self.test_accuracy) else self.test_accuracy


def evaluate(X, y, *, tokens=None, groups=None, **kw) -> ProbeReport:
    """Train/test (and optional CV, control task, shuffled baseline).

    tokens int [n] (token id per row) is needed for control=True.  groups int
    [n] (document of each row): with group="doc" -- or group="auto" (default)
    when every group's rows share one label -- no group straddles a split
    (GroupShuffleSplit hold-out, GroupKFold CV); else stratified by row.
    """
    lib = _lib.load()
    lib.need("strata_probe_evaluate")
    X, y = _xy(X, y)
    t = None if tokens is None else as_i32(tokens, "tokens").reshape(-1)
    if groups is not None:
        groups = np.ascontiguousarray(groups, np.int64).reshape(-1)
        if groups.shape[0] != X.shape[0]:
            raise ArgumentError(f"groups has {groups.shape[0]} entries for {X.shape[0]} rows")
        kw["groups"] = groups
    if t is not None and t.shape[0] != X.shape[0]:
        raise ArgumentError(f"tokens has {t.shape[0]} entries for {X.shape[0]} rows")
    p = params(**kw)
    rep = _lib.ProbeReport()
    err = err_buf()
    rc = lib.strata_probe_evaluate(X.ctypes.data, X.shape[0], X.shape[1], y.ctypes.data,
                                   t.ctypes.data if t is not None else None, ctypes.byref(p),
                                   ctypes.byref(rep), err, len(err))
    if rc != 0:
        raise error_for_status(rc, err.value.decode("utf-8", "replace") or lib.errstr(rc))
    return ProbeReport._from_c(rep)


def sweep(acts, label: str, glob: str | None = None, progress=None, **kw) -> list:
    """One ProbeReport per hook of a capture file (strata.Activations) whose
    name matches glob (None: every 2-D hook), labels /labels/<label>.

    progress: optional fn(i, n, hook) called before each hook.
    """
    lib = acts._lib
    lib.need("strata_probe_sweep")
    p = params(**kw)
    out = ctypes.POINTER(_lib.ProbeReport)()
    n = ctypes.c_int()
    err = err_buf()
    cb = _lib.PROBE_PROGRESS_FN(lambda u, i, k, hk: progress(i, k, _lib.cstr(hk))) \
        if progress else ctypes.cast(None, _lib.PROBE_PROGRESS_FN)
    rc = lib.strata_probe_sweep(acts._handle(), glob.encode() if glob else None, label.encode(),
                                ctypes.byref(p), cb, None, ctypes.byref(out), ctypes.byref(n),
                                err, len(err))
    if rc != 0:
        raise error_for_status(rc, err.value.decode("utf-8", "replace") or lib.errstr(rc))
    try:
        return [ProbeReport._from_c(out[i]) for i in range(n.value)]
    finally:
        lib.strata_probe_sweep_free(out)
