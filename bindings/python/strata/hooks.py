"""Python hooks: the C trampoline, zero-copy views and the hook context.

One C callback (``_TRAMPOLINE``) serves every Python hook; the ``void *user``
of each registration is an integer key into ``_REGISTRY``.  The trampoline
never lets an exception escape into C: it stores the exception on the model
and returns 1, which stops the run (STRATA_STOPPED); ``Model`` re-raises it
in the caller.

A hook function has the TransformerLens shape ``fn(array, ctx)``:

* ``array`` is a writable numpy float32 array holding the tensor (shape of
  the tensor, C order).  What the hook writes into it is copied back into the
  forward pass when the hook returns (ablation, patching, steering).  It is
  never a view of the engine's memory: the engine copies the tensor in before
  the call and back after it, so an array the hook keeps (``array`` itself or
  any view of it, stored anywhere) is a snapshot of the values at the hook's
  return that the engine never touches again -- "copy on escape": no
  use-after-free when the run ends or the model is closed.  An array that
  did not escape is reused for the next call of the same hook.
* ``ctx`` is a :class:`HookContext` (name, layer, head, batch, positions...).
* The return value is ``None`` (keep the possibly edited values) or an
  ndarray of exactly the view's shape and dtype float32, copied into the
  view.  Anything else raises :class:`strata.HookReturnError` in the caller.
"""

from __future__ import annotations

import ctypes
import itertools
import sys
import threading
import weakref

import numpy as np

from ._lib import HOOK_FN, HookCtx, Tensor
from .errors import HookReturnError, StateError

__all__ = ["HookContext", "tensor_view"]

_F32 = np.dtype(np.float32)
_c_void_p_from = ctypes.c_void_p.from_address
_memmove = ctypes.memmove


def tensor_view(t_addr: int) -> np.ndarray:
    """A writable numpy view over the strata_tensor at address t_addr."""
    t = Tensor.from_address(t_addr)
    nd = t.ndim
    shape = tuple(t.shape[:nd])
    strides = tuple(t.strides[:nd])
    span = 1
    for s, st in zip(shape, strides):
        if s == 0:
            span = 0
            break
        span += (s - 1) * st
    buf = (ctypes.c_float * span).from_address(t.data)
    return np.ndarray(shape, _F32, buf, 0, tuple(4 * s for s in strides))


class HookContext:
    """What a Python hook learns about its call site.

    Attributes:
        name: full hook-point name, e.g. ``"blocks.3.attn.hook_z"`` (no head suffix).
        kind: the numeric strata_hook_kind.
        layer: block index, or -1 for global points (embed, ln_final, logits).
        head: the selected head (``"...hook_z[5]"``), or -1 for all heads.
        batch: B.  n_ctx: T, the padded length of this call.
        pos_offset: absolute position of t = 0 (non-zero while generating).
        lengths: int32 [B] valid positions per sequence (a copy).
        tokens: int32 [B, T] input ids of this call (a copy).
        row_entropy: float32 [B, H, T] entropy (nats) of every pattern row,
            computed during the softmax; ``hook_pattern`` hooks on all heads
            only, else None (a copy).
        model: the Model being run.

    ``lengths``, ``tokens`` and ``row_entropy`` are read from the engine on
    first access and only while the hook runs; read them inside the hook if
    you need them.
    """

    __slots__ = ("name", "kind", "layer", "head", "batch", "n_ctx", "pos_offset", "model",
                 "_addr", "_lengths", "_tokens")

    def __init__(self, ctx_addr: int, model):
        c = HookCtx.from_address(ctx_addr)
        self._addr = ctx_addr
        self.name = c.name.decode()
        self.kind = c.kind
        self.layer = c.layer
        self.head = c.head
        self.batch = c.batch
        self.n_ctx = c.n_ctx
        self.pos_offset = c.pos_offset
        self.model = model
        self._lengths = None
        self._tokens = None

    def _ctx(self) -> HookCtx:
        if self._addr is None:
            raise StateError("HookContext.lengths/tokens are only readable while the hook runs")
        return HookCtx.from_address(self._addr)

    @property
    def lengths(self) -> np.ndarray:
        if self._lengths is None:
            c = self._ctx()
            self._lengths = np.ctypeslib.as_array(
                (ctypes.c_int32 * self.batch).from_address(c.lengths)).copy()
        return self._lengths

    @property
    def tokens(self) -> np.ndarray:
        if self._tokens is None:
            c = self._ctx()
            n = self.batch * self.n_ctx
            self._tokens = np.ctypeslib.as_array(
                (ctypes.c_int32 * n).from_address(c.tokens)).reshape(self.batch, self.n_ctx).copy()
        return self._tokens

    @property
    def row_entropy(self) -> np.ndarray | None:
        c = self._ctx()
        if not c.row_entropy:
            return None
        H = self.model.config.n_heads   # Python hooks always see whole tensors
        n = self.batch * H * self.n_ctx
        return np.ctypeslib.as_array((ctypes.c_float * n).from_address(c.row_entropy)).reshape(
            self.batch, H, self.n_ctx).copy()

    @property
    def hook_name(self) -> str:
        """The name including a head selector, e.g. ``"blocks.3.attn.hook_z[5]"``."""
        return self.name if self.head < 0 else f"{self.name}[{self.head}]"

    def __repr__(self) -> str:
        return (f"HookContext(name={self.hook_name!r}, layer={self.layer}, batch={self.batch}, "
                f"n_ctx={self.n_ctx}, pos_offset={self.pos_offset})")


# ------------------------------------------------------------------ registry

_REGISTRY: dict = {}
_keys = itertools.count(1)
_reg_lock = threading.Lock()


class _Entry:
    """A registration: what the trampoline does for one user key."""
    __slots__ = ("model_ref", "call")

    def __init__(self, model, call):
        self.model_ref = weakref.ref(model)
        self.call = call  # call(t_addr, ctx_addr) -> None


def register(model, call) -> int:
    """Stores a callable for the trampoline; returns the key to pass as user."""
    with _reg_lock:
        key = next(_keys)
        _REGISTRY[key] = _Entry(model, call)
    return key


def unregister(key: int) -> None:
    with _reg_lock:
        _REGISTRY.pop(key, None)


def _trampoline(t_addr, ctx_addr, key):
    entry = _REGISTRY.get(key)
    if entry is None:
        return 1
    try:
        entry.call(t_addr, ctx_addr)
        return 0
    except BaseException as e:  # noqa: BLE001 - everything goes back to the caller
        m = entry.model_ref()
        if m is not None and m._pending is None:
            m._pending = e
        return 1


_TRAMPOLINE = HOOK_FN(_trampoline)


def user_hook(model, fn, spec: str):
    """The call for a user function fn(array, ctx) registered as spec.

    fn gets a Python-owned copy of the tensor (see the module docstring), copied
    back into the engine's buffer afterwards.  spare[0] keeps the last array for
    reuse as long as fn kept no reference to it (its reference count tells:
    any view of it holds it as base)."""
    spare = [None]

    def call(t_addr, ctx_addr):
        src = tensor_view(t_addr)   # over the engine's buffer: never handed out
        view = spare[0]
        spare[0] = None
        if view is None or view.shape != src.shape:
            view = np.empty(src.shape, _F32)
        np.copyto(view, src)
        ctx = HookContext(ctx_addr, model)
        try:
            ret = fn(view, ctx)
        finally:
            ctx._addr = None
        if ret is None or ret is view:
            ret = None
            np.copyto(src, view)
            if sys.getrefcount(view) <= 2:   # this frame's name + the call's argument
                spare[0] = view
            return
        if not isinstance(ret, np.ndarray):
            raise HookReturnError(
                f"hook {spec!r} on {ctx.hook_name} returned {type(ret).__name__}; expected None "
                f"or a numpy float32 array of shape {view.shape}")
        if ret.dtype != _F32 or ret.shape != view.shape:
            raise HookReturnError(
                f"hook {spec!r} on {ctx.hook_name} returned an array of shape {ret.shape} and "
                f"dtype {ret.dtype}; expected shape {view.shape} and dtype float32 "
                f"(or None after editing the array in place)")
        np.copyto(src, ret)

    return call


def capture_hook(store: dict, slots: dict):
    """The call for run_with_cache: copies each view into store[name].

    The key is the hook point's full name, with "[h]" when a head was
    selected.  slots maps (name bytes, head) to a preallocated destination
    (views into one arena, so that a run makes one large allocation instead
    of one per hook point: fresh memory is paid for in page faults, and one
    big block faults in huge pages).  A point without a slot gets a new array.
    """

    def call(t_addr, ctx_addr):
        c = HookCtx.from_address(ctx_addr)
        sk = (c.name, c.head)
        dst = slots.get(sk)
        t = Tensor.from_address(t_addr)
        nd = t.ndim
        shape = tuple(t.shape[:nd])
        if dst is None or dst.shape != shape:
            dst = np.empty(shape, _F32)
        if sk[1] < 0:
            _memmove(dst.ctypes.data, t.data, dst.nbytes)
        else:
            np.copyto(dst, tensor_view(t_addr))
        name = sk[0].decode()
        store[name if sk[1] < 0 else f"{name}[{sk[1]}]"] = dst

    return call
