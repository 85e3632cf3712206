"""The logit lens (strata/lens.h): next-token predictions from every layer.

    r = strata.logit_lens(model, ids, top_k=5)
    r.points          # ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post", ...]  (P)
    r.top_ids         # int32 [P, n, k]    r.top_probs float32 [P, n, k]
    r.next_rank       # int32 [P, n]  rank of the true next token (-1 at the last position)
    r.next_prob       # float32 [P, n]
    r.model_logits    # float32 [n, V]
    Lens(model).logits(point)   # one point's full lens logits [n, V]
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._util import Handle, as_i32, copy_array
from .errors import error_for_status

__all__ = ["Lens", "LensResult", "logit_lens"]


@dataclass
class LensResult:
    points: list
    tokens: np.ndarray
    top_ids: np.ndarray
    top_probs: np.ndarray
    next_rank: np.ndarray
    next_prob: np.ndarray
    model_logits: np.ndarray

    def __repr__(self) -> str:
        return (f"<LensResult {len(self.points)} points x {len(self.tokens)} tokens, "
                f"top {self.top_ids.shape[-1]}>")


class Lens(Handle):
    """A logit lens over one model (borrowed; closing the model closes it)."""

    _free_name = "strata_lens_free"
    _errmsg_name = "strata_lens_errmsg"

    def __init__(self, model):
        lib = model._lib
        lib.need("strata_lens_new")
        super().__init__(lib, None)
        self._model = model
        with model._lock:
            mh = model._enter_call()
            h = ctypes.c_void_p()
            rc = lib.strata_lens_new(mh, ctypes.byref(h))
            self._h = h.value
            self._close_on_error(rc)
        model._dependents.add(self)

    def _model_closing(self, model):
        self.close()

    def run(self, tokens, top_k: int = 5) -> LensResult:
        """Runs one document (ids, include BOS; or text) and reads out every point."""
        m = self._model
        if isinstance(tokens, str):
            tokens = m.tokenize(tokens)
        t = as_i32(tokens, "tokens").reshape(-1)
        L = self._lib
        with m._lock:
            m._enter_call()
            h = self._handle()
            m._running = True
            try:
                rc = L.strata_lens_run(h, t.ctypes.data, len(t), int(top_k))
            finally:
                m._running = False
            pending, m._pending = m._pending, None
            if pending is not None:
                raise pending
            if rc != 0:
                raise error_for_status(rc, self._errmsg() or L.errstr(rc))
            P, n, k = L.strata_lens_n_points(h), L.strata_lens_n_pos(h), L.strata_lens_top_k(h)
            V = m.config.vocab_size
            return LensResult(
                points=[_lib.cstr(L.strata_lens_point_name(h, i)) for i in range(P)],
                tokens=t.copy(),
                top_ids=copy_array(L.strata_lens_top_ids(h), ctypes.c_int32, (P, n, k)),
                top_probs=copy_array(L.strata_lens_top_probs(h), ctypes.c_float, (P, n, k)),
                next_rank=copy_array(L.strata_lens_next_rank(h), ctypes.c_int32, (P, n)),
                next_prob=copy_array(L.strata_lens_next_prob(h), ctypes.c_float, (P, n)),
                model_logits=copy_array(L.strata_lens_model_logits(h), ctypes.c_float, (n, V)))

    def logits(self, point: int) -> np.ndarray:
        """Full lens logits of one point of the last run, float32 [n, V]."""
        L = self._lib
        with self._model._lock:
            h = self._handle()
            n = L.strata_lens_n_pos(h)
            out = np.empty((n, self._model.config.vocab_size), np.float32)
            rc = L.strata_lens_logits(h, int(point), out.ctypes.data)
            if rc != 0:
                raise error_for_status(rc, self._errmsg() or L.errstr(rc))
        return out


def logit_lens(model, tokens, top_k: int = 5) -> LensResult:
    """One-shot logit lens of one document."""
    with Lens(model) as lens:
        return lens.run(tokens, top_k)
