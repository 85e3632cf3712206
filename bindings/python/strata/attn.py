"""Attention-head statistics and head classification (strata/attn.h).

    with strata.AttentionStats(model) as st:
        st.run(docs)                          # ordinary documents
        st.set_induction(R=20)
        st.run(strata.attn.induction_docs(model, n_docs=50, R=20))
        heads = st.results()                  # [HeadStats] layer-major
        arr = st.scores()                     # {"induction": [L, H], ...}

Definitions (entropy in nats, mean distance, previous-token, first-token,
self, duplicate-token and induction scores) are in docs/ATTENTION.md.
"""

from __future__ import annotations

import ctypes
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._util import Handle, as_f32, as_i32
from .errors import StoppedError, error_for_status

__all__ = ["AttentionStats", "HeadStats", "induction_docs", "token_range", "class_name"]

_STAT_NAMES = ("entropy", "mean_distance", "prev_token", "first_token", "self", "duplicate",
               "induction")


def class_name(cls: int) -> str:
    lib = _lib.load()
    lib.need("strata_attn_class_name")
    return _lib.cstr(lib.strata_attn_class_name(int(cls)))


@dataclass
class HeadStats:
    """One head's corpus scores (NaN where no document contributed)."""
    layer: int
    head: int
    entropy: float
    mean_distance: float
    prev_token: float
    first_token: float
    self: float
    duplicate: float
    induction: float
    n_docs: tuple          # documents behind each score, in the order above
    cls: str               # primary class name ("induction", "previous-token", ..., "other")
    classes: tuple         # every class whose threshold the head passes

    def __repr__(self) -> str:
        return (f"<HeadStats L{self.layer}H{self.head} {self.cls} prev={self.prev_token:.3f} "
                f"first={self.first_token:.3f} induction={self.induction:.3f} "
                f"entropy={self.entropy:.3f}>")

    @classmethod
    def _from_c(cls_, h, lib) -> "HeadStats":
        passed = tuple(_lib.cstr(lib.strata_attn_class_name(c)) for c in range(1, 6)
                       if h.flags & (1 << c))
        return cls_(h.layer, h.head, h.entropy, h.mean_distance, h.prev_token, h.first_token,
                    h.self, h.duplicate, h.induction, tuple(h.n_docs),
                    _lib.cstr(lib.strata_attn_class_name(h.cls)), passed)


class AttentionStats(Handle):
    """Accumulates per-(layer, head) attention statistics over a corpus.

    Attached to one model (a C hook on blocks.*.attn.hook_pattern): every
    run of that model, including model.run / run_with_cache, feeds it until
    close().  Closing the model closes this object.
    """

    _free_name = "strata_attn_stats_free"
    _errmsg_name = "strata_attn_stats_errmsg"

    def __init__(self, model):
        lib = model._lib
        lib.need("strata_attn_stats_new")
        super().__init__(lib, None)
        self._model = model
        with model._lock:
            mh = model._enter_call()
            h = ctypes.c_void_p()
            rc = lib.strata_attn_stats_new(lib.strata_model_config(mh), ctypes.byref(h))
            self._h = h.value
            self._close_on_error(rc)
            self._close_on_error(lib.strata_attn_stats_attach(self._h, mh))
        model._dependents.add(self)

    def _check(self, rc):
        if rc != 0:
            msg = self._errmsg() or self._lib.errstr(rc)
            raise StoppedError(msg, rc) if rc == 1 else error_for_status(rc, msg)

    def _model_closing(self, model):
        self.close()

    def close(self) -> None:
        """Detaches from the model and frees the accumulator."""
        m = self._model
        with m._lock:
            if m._running and self._h:
                from .errors import StateError
                raise StateError("cannot close AttentionStats from inside a hook of its model")
            super().close()

    def set_induction(self, R: int, also_general: bool = False) -> None:
        """Mode for later documents: R == 0 ordinary; R >= 1 BOS + S + S with |S| = R."""
        self._check(self._lib.strata_attn_stats_set_induction(self._handle(), int(R),
                                                              int(also_general)))

    def reset(self) -> None:
        self._lib.strata_attn_stats_reset(self._handle())

    def run(self, inputs, lengths=None) -> None:
        """Runs a batch through the model (no logits) and accumulates."""
        m = self._model
        tokens, lens = m.tokens_and_lengths(inputs, lengths)
        with m._lock:
            mh = m._enter_call()
            h = self._handle()
            m._running = True
            try:
                rc = self._lib.strata_attn_stats_run(h, mh, tokens.ctypes.data, lens.ctypes.data,
                                                     tokens.shape[0])
            finally:
                m._running = False
            pending, m._pending = m._pending, None
            if pending is not None:
                raise pending
            self._check(rc)

    def add_pattern(self, layer: int, pattern, tokens) -> None:
        """Feeds one document's pattern [H, L, L] (query, key) for one layer directly."""
        P = as_f32(pattern, 3, "pattern")
        t = as_i32(tokens, "tokens").reshape(-1)
        H, L, L2 = P.shape
        if L != L2 or L != t.shape[0]:
            from .errors import ArgumentError
            raise ArgumentError(f"pattern {P.shape} does not fit {t.shape[0]} tokens")
        self._check(self._lib.strata_attn_stats_add_pattern(
            self._handle(), int(layer), P.ctypes.data, L * L, L, 1, t.ctypes.data, L))

    def add_capture(self, acts) -> None:
        """Accumulates from the attention patterns stored in a capture file."""
        self._check(self._lib.strata_attn_stats_add_capture(self._handle(), acts._handle()))

    @property
    def n_docs(self) -> int:
        return int(self._lib.strata_attn_stats_n_docs(self._handle()))

    def results(self, thresholds: dict | None = None) -> list:
        """[HeadStats] for every head, layer-major, classified with the default
        thresholds or `thresholds` ({"induction": 0.3, ...})."""
        c = self._model.config
        n = c.n_layers * c.n_heads
        arr = (_lib.AttnHead * n)()
        got = self._lib.strata_attn_stats_result(self._handle(), arr, n)
        if got < 0:
            self._check(got)
        if thresholds:
            t = self._lib.strata_attn_thresholds_default()
            for k, v in thresholds.items():
                setattr(t, k, float(v))
            for i in range(got):
                self._lib.strata_attn_classify(ctypes.byref(arr[i]), ctypes.byref(t))
        return [HeadStats._from_c(arr[i], self._lib) for i in range(got)]

    def scores(self) -> dict:
        """{statistic: float64 [n_layers, n_heads]} for the seven statistics."""
        c = self._model.config
        res = self.results()
        out = {k: np.full((c.n_layers, c.n_heads), np.nan) for k in _STAT_NAMES}
        for h in res:
            for k in _STAT_NAMES:
                out[k][h.layer, h.head] = getattr(h, k)
        return out


def token_range(model) -> tuple:
    """Default [lo, hi) id range of random induction tokens for a model."""
    lib = model._lib
    lib.need("strata_attn_token_range")
    lo, hi = ctypes.c_int32(), ctypes.c_int32()
    with model._lock:
        lib.strata_attn_token_range(lib.strata_model_config(model._handle()), ctypes.byref(lo),
                                    ctypes.byref(hi))
    return lo.value, hi.value


def induction_docs(model, n_docs: int, R: int, seed: int = 0, lo=None, hi=None) -> np.ndarray:
    """Random repeated-token documents BOS + S + S (|S| = R): int32 [n_docs, 2R + 1]."""
    lib = model._lib
    lib.need("strata_attn_induction_docs")
    dlo, dhi = token_range(model)
    c = model.config
    out = np.empty((int(n_docs), 2 * int(R) + 1), np.int32)
    rc = lib.strata_attn_induction_docs(int(seed), int(n_docs), int(R), c.bos_token_id,
                                        c.eos_token_id, dlo if lo is None else int(lo),
                                        dhi if hi is None else int(hi), out.ctypes.data)
    if rc != 0:
        raise error_for_status(rc, lib.errstr(rc))
    return out
