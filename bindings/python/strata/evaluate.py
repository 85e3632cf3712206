"""Scoring a model and measuring transitions (strata/eval.h, strata/transition.h).

    r = strata.eval_task(model, [("Once upon a", " time"), ([1, 403], [261])])
    r.exact_match, r.answer_logprob, r.token_accuracy, r.n   # the numbers of `strata eval`
    r.items           # per item: n_answer, n_correct, exact, logprob
    strata.text_loss(model, ["Once upon a time", [1, 403, 407]])  # mean next-token loss, nats
    strata.transition(x, y, log_x=False)   # steepest step, 10-90 % width, sharpness
Text prompts get the tokenizer's default BOS; text answers no special tokens
(as `strata eval`).
"""

from __future__ import annotations

import ctypes
from ctypes import Structure, c_double, c_int32, c_int64
from dataclasses import dataclass

import numpy as np

from ._util import as_i32, err_buf, raise_status
from .errors import ArgumentError

__all__ = ["EvalResult", "Transition", "eval_task", "text_loss", "transition"]


class _Item(Structure):
    _fields_ = [("n_answer", c_int32), ("n_correct", c_int32), ("exact", c_int32),
                ("reserved", c_int32), ("logprob", c_double)]


class _Result(Structure):
    _fields_ = [("n", c_int64), ("n_answer_tokens", c_int64), ("exact_match", c_double),
                ("answer_logprob", c_double), ("token_accuracy", c_double)]


class _Transition(Structure):
    _fields_ = [("n", c_int32), ("steep_index", c_int32), ("total_change", c_double),
                ("max_step", c_double), ("sharpness", c_double), ("x_steep", c_double),
                ("x_steep_lo", c_double), ("x_steep_hi", c_double), ("x10", c_double),
                ("x90", c_double), ("width", c_double), ("width_log10", c_double)]


@dataclass
class EvalResult:
    n: int
    n_answer_tokens: int
    exact_match: float
    answer_logprob: float
    token_accuracy: float
    items: np.ndarray   # structured: n_answer, n_correct, exact, logprob


@dataclass
class Transition:
    n: int
    steep_index: int
    total_change: float
    max_step: float
    sharpness: float
    x_steep: float
    x_steep_lo: float
    x_steep_hi: float
    x10: float
    x90: float
    width: float
    width_log10: float


def _ids(model, x, bos):
    if isinstance(x, str):
        return np.asarray(model.tokenize(x, add_bos=bos), np.int32)
    return as_i32(x, "ids").reshape(-1)


def eval_task(model, items) -> EvalResult:
    """Scores (prompt, answer) pairs (text or id sequences) with strata_eval_task."""
    P, A = [], []
    for i, it in enumerate(items):
        if isinstance(it, dict):
            p = it.get("prompt_ids", it.get("prompt"))
            a = it.get("answer_ids", it.get("answer"))
        else:
            p, a = it
        P.append(_ids(model, p, None))
        A.append(_ids(model, a, False))
        if len(A[-1]) == 0:
            raise ArgumentError(f"item {i}: empty answer")
    n = len(P)
    if n == 0:
        raise ArgumentError("no items")
    pid = np.ascontiguousarray(np.concatenate(P), np.int32)
    aid = np.ascontiguousarray(np.concatenate(A), np.int32)
    poff = np.zeros(n + 1, np.int64)
    aoff = np.zeros(n + 1, np.int64)
    poff[1:] = np.cumsum([len(x) for x in P])
    aoff[1:] = np.cumsum([len(x) for x in A])
    out = (_Item * n)()
    res = _Result()
    err = err_buf()
    L = model._lib
    L.need("strata_eval_task")
    with model._lock:
        h = model._enter_call()
        model._running = True
        try:
            rc = L.strata_eval_task(h, pid.ctypes.data, poff.ctypes.data, aid.ctypes.data,
                                    aoff.ctypes.data, n, ctypes.addressof(out),
                                    ctypes.addressof(res), err, len(err))
        finally:
            model._running = False
        pending, model._pending = model._pending, None
        if pending is not None:
            raise pending
    raise_status(rc, err.value.decode(errors="replace"), L)
    dt = np.dtype([("n_answer", np.int32), ("n_correct", np.int32), ("exact", np.int32),
                   ("reserved", np.int32), ("logprob", np.float64)])
    arr = np.frombuffer(bytes(out), dtype=dt).copy()
    return EvalResult(int(res.n), int(res.n_answer_tokens), res.exact_match,
                      res.answer_logprob, res.token_accuracy,
                      arr[["n_answer", "n_correct", "exact", "logprob"]])


def text_loss(model, docs, max_batch: int = 8):
    """Mean next-token loss (nats) over documents (texts or id sequences); returns
    (loss, n_predicted_tokens)."""
    if isinstance(docs, str):
        docs = [docs]
    seqs = [_ids(model, d, None) for d in docs]
    if not seqs:
        raise ArgumentError("no documents")
    T = max(len(s) for s in seqs)
    tok = np.zeros((len(seqs), max(T, 1)), np.int32)
    lens = np.array([len(s) for s in seqs], np.int32)
    for i, s in enumerate(seqs):
        tok[i, :len(s)] = s
    loss, nt = c_double(), c_int64()
    err = err_buf()
    L = model._lib
    L.need("strata_eval_text_loss")
    with model._lock:
        h = model._enter_call()
        model._running = True
        try:
            rc = L.strata_eval_text_loss(h, tok.ctypes.data, lens.ctypes.data, len(seqs),
                                         int(max_batch), ctypes.byref(loss), ctypes.byref(nt),
                                         err, len(err))
        finally:
            model._running = False
        pending, model._pending = model._pending, None
        if pending is not None:
            raise pending
    raise_status(rc, err.value.decode(errors="replace"), L)
    return loss.value, int(nt.value)


def transition(x, y, log_x: bool = False) -> Transition:
    """Transition statistics of the curve (x, y) (definitions in strata/transition.h)."""
    from . import _lib
    L = _lib.load()
    L.need("strata_transition_stats")
    xa = np.ascontiguousarray(x, np.float64).reshape(-1)
    ya = np.ascontiguousarray(y, np.float64).reshape(-1)
    if xa.shape != ya.shape:
        raise ArgumentError(f"x and y differ in length ({len(xa)} vs {len(ya)})")
    t = _Transition()
    err = err_buf()
    rc = L.strata_transition_stats(xa.ctypes.data, ya.ctypes.data, len(xa), int(bool(log_x)),
                                   ctypes.addressof(t), err, len(err))
    raise_status(rc, err.value.decode(errors="replace"), L)
    return Transition(*(getattr(t, f) for f, _ in _Transition._fields_))
