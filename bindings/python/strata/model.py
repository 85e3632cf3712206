"""strata.Model: open a model, run it, cache and edit its activations.

Shapes: B = batch, T = padded length (max of the sequence lengths), V =
vocabulary, d = d_model, H = heads; every array is row-major float32 unless
noted.  Batches are right-padded: positions t >= lengths[b] are padding
(computed, but meaningless; no real position attends to them).

Thread-safety: a Model serialises its own calls with a lock, so sharing one
between threads is safe but runs one call at a time.  The GIL is released
during the forward pass (ctypes releases it for foreign calls; Python hooks
take it back while they run), so different Model objects, even of the same
file, run in parallel on different threads.  A hook must not call run,
generate, close or hook registration on the model that is calling it
(StateError).
"""

from __future__ import annotations

import ctypes
import fnmatch
import numbers
import os
import re
import sys
import threading
import weakref
from dataclasses import dataclass

import numpy as np

from . import _lib
from ._util import Closeable
from .cache import ActivationCache
from .errors import (ArgumentError, ClosedError, StateError, StoppedError, UnsupportedError,
                     error_for_status)
from .hooks import _TRAMPOLINE, capture_hook, register, unregister, user_hook
from .tokenizer import Tokenizer

__all__ = ["HookPoint", "Model", "ModelConfig"]

STOPPED = 1
_ARCH = {0: "gpt2", 1: "neox", 2: "llama", 3: "gpt_neo", 4: "gemma", 5: "gemma2", 6: "qwen2"}
_NORM = {0: "layernorm", 1: "rmsnorm"}
_ACT = {0: "gelu_new", 1: "gelu", 2: "silu", 3: "relu"}
_NONFINITE = {"warn": 0, "error": 1, "off": 2}
_ROPE = {0: "none", 1: "half", 2: "interleaved"}
# Hook kinds that have a head axis (a "[h]" selector applies).
_HEAD_SUFFIXES = ("attn.hook_q", "attn.hook_k", "attn.hook_v", "attn.hook_rot_q",
                  "attn.hook_rot_k", "attn.hook_attn_scores", "attn.hook_pattern",
                  "attn.hook_z", "attn.hook_result")
_HEAD_RE = re.compile(r"^(.*)\[(\d+)\]$")
_LOGITS_MODE = {None: 0, False: 0, "none": 0, True: 1, "all": 1, "last": 2}


def _arch_name(a: int) -> str:
    """The library's name of an architecture (what `strata info --json` says)."""
    lib = _lib.load()
    n = lib.strata_arch_name(a) if getattr(lib, "strata_arch_name", None) else None
    return n.decode() if n else _ARCH.get(a, str(a))


@dataclass(frozen=True)
class ModelConfig:
    """Hyperparameters of an open model (strata_config)."""
    arch: str               # "gpt2", "neox", "llama", "gpt_neo", "gemma", "gemma2", "qwen2"
    name: str
    d_model: int
    n_layers: int
    n_heads: int
    n_kv_heads: int         # == n_heads without grouped-query attention
    d_head: int
    d_mlp: int
    vocab_size: int
    n_ctx: int              # max positions
    norm: str               # "layernorm" or "rmsnorm"
    norm_eps: float
    act: str                # "gelu_new", "gelu", "silu", "relu"
    gated_mlp: bool
    rope: str               # "none", "half" (HF rotate_half) or "interleaved"
    rotary_dim: int
    rope_theta: float
    parallel_residual: bool
    tied_embeddings: bool
    has_bias: bool
    bos_token_id: int       # -1 if unknown
    eos_token_id: int       # -1 if unknown
    sliding_window: int = 0  # > 0: windowed layers see the last sliding_window keys only
    attn_scale: float = 0.0  # multiplies q.k; 0 means 1/sqrt(d_head)
    attn_softcap: float = 0.0   # > 0: scores -> c * tanh(scores / c)
    final_softcap: float = 0.0  # > 0: logits -> c * tanh(logits / c)
    embed_scale: float = 0.0    # token embeddings times this (0 means 1; Gemma sqrt(d))
    post_norms: bool = False    # Gemma-2 norms after attention and MLP (ln1_post, ln2_post)

    def __repr__(self) -> str:
        kv = f" (kv {self.n_kv_heads})" if self.n_kv_heads != self.n_heads else ""
        pos = f"rope {self.rope}" if self.rope != "none" else "learned positions"
        return (f"ModelConfig({self.arch} {self.name!r}: d_model={self.d_model}, "
                f"n_layers={self.n_layers}, n_heads={self.n_heads}{kv}, d_head={self.d_head}, "
                f"d_mlp={self.d_mlp}, vocab_size={self.vocab_size}, n_ctx={self.n_ctx}, "
                f"{self.norm}, {self.act}{' gated' if self.gated_mlp else ''}, {pos})")

    @classmethod
    def _from_c(cls, c) -> "ModelConfig":
        return cls(
            arch=_arch_name(c.arch), name=c.name.decode("utf-8", "replace"),
            d_model=c.d_model, n_layers=c.n_layers, n_heads=c.n_heads, n_kv_heads=c.n_kv_heads,
            d_head=c.d_head, d_mlp=c.d_mlp, vocab_size=c.vocab_size, n_ctx=c.n_ctx,
            norm=_NORM.get(c.norm_kind, str(c.norm_kind)), norm_eps=float(f"{c.norm_eps:.7g}"),
            act=_ACT.get(c.act, str(c.act)), gated_mlp=bool(c.gated_mlp),
            rope=_ROPE.get(c.rope, str(c.rope)), rotary_dim=c.rotary_dim,
            rope_theta=float(f"{c.rope_theta:.7g}"), parallel_residual=bool(c.parallel_residual),
            tied_embeddings=bool(c.tied_embeddings), has_bias=bool(c.has_bias),
            bos_token_id=c.bos_token_id, eos_token_id=c.eos_token_id,
            sliding_window=c.sliding_window, attn_scale=float(f"{c.attn_scale:.7g}"),
            attn_softcap=float(f"{c.attn_softcap:.7g}"), final_softcap=float(f"{c.final_softcap:.7g}"),
            embed_scale=float(f"{c.embed_scale:.7g}"), post_norms=bool(c.post_norms))


@dataclass(frozen=True)
class HookPoint:
    """One hook point a pattern matched (Model.hook_match; C strata_hook_match).

    name: the point's full name without "[h]", e.g. "blocks.1.attn.hook_z";
    kind: the C strata_hook_kind value (hooks.h); kind_name: its suffix, e.g.
    "attn.hook_z" or "hook_embed"; layer: the block (-1 for points outside the
    blocks: hook_embed, ln_final, hook_logits); head: the head a "[h]"
    selector chose (-1: all heads)."""
    name: str
    kind: int
    kind_name: str
    layer: int
    head: int


class _HookScope:
    """Hooks registered together; removed on exit (or remove())."""

    def __init__(self, model: "Model", regs):
        self._model = model
        self._regs = regs          # [(c_id, key)]

    def remove(self) -> None:
        m = self._model
        regs, self._regs = self._regs, []
        m._remove_regs(regs)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.remove()


class Model(Closeable):
    """An open transformer model (strata_model).

    Open with :meth:`Model.open`; release with :meth:`close` or a ``with``
    block.  Using a closed model raises :class:`strata.ClosedError`.
    """

    def __init__(self, *a, **k):
        raise TypeError("use strata.Model.open(path)")

    # ------------------------------------------------------------ lifetime
    @classmethod
    def open(cls, path, n_threads: int = 0, revision: str = None,
             nonfinite: str = "warn", weights_f32: bool = False) -> "Model":
        """Opens a Hugging Face model directory, a GGUF file, or a hub id
        ("ORG/NAME") in the local Hugging Face cache (nothing is downloaded).

        n_threads: OpenMP threads for the forward pass (0: all cores).
        revision: hub ids only: a branch or tag under refs/ (e.g. Pythia's
        "step1000") or a commit hash; None means "main".
        nonfinite: what a NaN/Inf produced by a forward pass does: "warn"
        (the run succeeds; :attr:`nonfinite` names the first place), "error"
        (the run raises strata.NumericError naming it) or "off" (no scan).
        weights_f32: convert F16/BF16/Q8_0 weights to float32 at load (faster, more
        memory); by default they stay in their stored type, memory-mapped.
        """
        if nonfinite not in _NONFINITE:
            raise ArgumentError(f"nonfinite must be one of {sorted(_NONFINITE)}, not {nonfinite!r}")
        lib = _lib.load()
        opts = lib.strata_open_opts_default()
        opts.n_threads = int(n_threads)
        rev = os.fsencode(revision) if revision is not None else None
        opts.revision = rev
        opts.nonfinite = _NONFINITE[nonfinite]
        opts.weights_f32 = 1 if weights_f32 else 0
        h = ctypes.c_void_p()
        p = os.fsencode(path)
        rc = lib.strata_model_open(p, ctypes.byref(opts), ctypes.byref(h))
        if rc != 0:
            msg = _lib.cstr(lib.strata_errmsg(h)) if h.value else ""
            lib.strata_model_free(h)
            raise error_for_status(rc, msg or f"{os.fsdecode(p)}: {lib.errstr(rc)}")
        self = object.__new__(cls)
        self._lib = lib
        self._h = h.value
        self._lock = threading.RLock()
        self._running = False
        self._pending = None
        self._regs = {}            # c hook id -> registry key (hooks added from Python)
        self._dependents = weakref.WeakSet()
        self.path = os.fsdecode(p)
        self.config = ModelConfig._from_c(lib.strata_model_config(h).contents)
        self._names = None
        self._tokenizer = None
        self._pool = {}
        self._plans = {}
        self._default_specs = None
        self._keeper = None
        return self

    def _handle(self) -> int:
        h = self._h
        if not h:
            raise ClosedError(f"the model {self.path!r} is closed")
        return h

    @property
    def closed(self) -> bool:
        return not self._h

    def close(self) -> None:
        """Frees the model (idempotent).  Objects attached to it are detached."""
        with self._lock:
            if not self._h:
                return
            if self._running:
                raise StateError("a model cannot be closed from inside one of its own hooks")
            for dep in list(self._dependents):
                try:
                    dep._model_closing(self)
                except Exception:
                    pass
            for key in self._regs.values():
                unregister(key)
            self._regs.clear()
            h, self._h = self._h, None
            self._pool = {}
            if self._tokenizer is not None:
                self._tokenizer._h = None
            keeper, self._keeper = self._keeper, None
            if keeper is None:
                self._lib.strata_model_free(h)
            else:
                # weight views still read the model's memory: free it when the
                # last of them is gone (now, if none is left)
                weakref.finalize(keeper, self._lib.strata_model_free, h)
                del keeper

    def __repr__(self) -> str:
        state = "closed" if not self._h else f"{self.config.arch}, {self.config.n_layers} layers"
        return f"<strata.Model {self.path!r} ({state})>"

    # ------------------------------------------------------------ calls
    def _enter_call(self):
        """Checks (lock held) that a C call may start now; returns the handle."""
        h = self._handle()
        if self._running:
            raise StateError("the model is running: a hook cannot run, generate with, close, "
                             "or (un)register hooks on the model that is calling it")
        return h

    def _check(self, rc: int, what: str = "") -> None:
        """Turns a status (and any exception a hook stored) into an exception."""
        pending, self._pending = self._pending, None
        if pending is not None:
            if hasattr(pending, "add_note") and not isinstance(pending, KeyboardInterrupt):
                pending.add_note(f"(raised inside a strata hook during Model.{what})")
            raise pending
        if rc == 0:
            return
        msg = _lib.cstr(self._lib.strata_errmsg(self._h)) or self._lib.errstr(rc)
        if rc == STOPPED:
            raise StoppedError(msg, rc)
        raise error_for_status(rc, msg)

    # ------------------------------------------------------------ info
    @property
    def n_params(self) -> int:
        with self._lock:
            return int(self._lib.strata_model_n_params(self._handle()))

    @property
    def weight_memory(self) -> tuple:
        """(bytes bound in place in the file's mapping, bytes of float32 copies)."""
        a, b = ctypes.c_int64(), ctypes.c_int64()
        with self._lock:
            self._lib.strata_model_weight_memory(self._handle(), ctypes.byref(a), ctypes.byref(b))
        return a.value, b.value

    @property
    def format(self) -> str:
        """"hf" or "gguf"."""
        with self._lock:
            return _lib.cstr(self._lib.strata_model_format(self._handle()))

    @property
    def nonfinite(self) -> str | None:
        """Where a forward pass first produced NaN/Inf since open (or since
        :meth:`set_nonfinite`), e.g. "nan at blocks.2.attn.hook_q (layer 2),
        sequence 0 position 3, element 17"; None if never."""
        with self._lock:
            s = self._lib.strata_model_nonfinite(self._handle())
            return _lib.cstr(s) if s else None

    def set_nonfinite(self, mode: str) -> None:
        """"warn", "error" or "off" (see :meth:`open`); forgets an earlier finding."""
        if mode not in _NONFINITE:
            raise ArgumentError(f"nonfinite must be one of {sorted(_NONFINITE)}, not {mode!r}")
        with self._lock:
            h = self._enter_call()
            self._check(self._lib.strata_model_set_nonfinite(h, _NONFINITE[mode]), "set_nonfinite")

    def set_threads(self, n_threads: int) -> None:
        """OpenMP threads for later forward passes (0: all cores)."""
        with self._lock:
            h = self._enter_call()
            self._check(self._lib.strata_model_set_threads(h, int(n_threads)), "set_threads")

    def hook_names(self, pattern: str | None = None) -> list[str]:
        """Every hook point of this model in forward order (optionally those
        matching a glob, '*' matching any run of characters)."""
        if self._names is None:
            with self._lock:
                h = self._handle()
                n = self._lib.strata_model_n_hook_points(h)
                buf = ctypes.create_string_buffer(256)
                names = []
                for i in range(n):
                    rc = self._lib.strata_model_hook_point(h, i, None, None, buf, 256)
                    if rc != 0:
                        raise error_for_status(rc, f"hook point {i}: {self._lib.errstr(rc)}")
                    names.append(buf.value.decode())
                self._names = names
        if pattern is None:
            return list(self._names)
        return [n for n in self._names if fnmatch.fnmatchcase(n, pattern)]

    def hook_match(self, pattern: str) -> list[HookPoint]:
        """The hook points `pattern` names, in forward order, as HookPoint
        records -- with exactly the rules and errors of hook registration
        (hooks=, add_hook; C strata_hook_match), without registering anything.

        '*' matches any run of characters, '?' one; a trailing "[h]" selects
        head h (a glob then keeps only the points that have heads).
        Raises NotFoundError when nothing matches (naming the nearest point),
        ArgumentError for a bad "[h]" or "[h]" on a point without heads,
        StrataRangeError for a head the point does not have (hook_k / hook_v /
        hook_rot_k have n_kv_heads heads)."""
        if not isinstance(pattern, str):
            raise ArgumentError(f"hook_match: pattern must be a str, not {type(pattern).__name__}")
        self._lib.need("strata_hook_match")
        found = []
        kind_name = self._lib.strata_hook_kind_name

        def visit(name, kind, layer, head, user):
            found.append(HookPoint(name.decode(), kind, _lib.cstr(kind_name(kind)), layer, head))
            return 0

        cb = _lib.HOOK_VISIT_FN(visit)
        with self._lock:
            h = self._enter_call()
            rc = self._lib.strata_hook_match(h, pattern.encode(), cb, None)
            self._check(rc, "hook_match")
        return found

    def hook_shape(self, name: str, batch: int = 1, n_ctx: int = 1) -> tuple:
        """Shape of hook point `name` in a run of batch x n_ctx tokens
        (batch >= 1, n_ctx in 1..config.n_ctx)."""
        if not isinstance(batch, numbers.Integral) or not 1 <= batch <= 2**31 - 1:
            raise ArgumentError(f"hook_shape: batch must be an integer in [1, 2^31-1], not {batch!r}")
        if not isinstance(n_ctx, numbers.Integral) or not 1 <= n_ctx <= self.config.n_ctx:
            raise ArgumentError(f"hook_shape: n_ctx must be an integer in [1, {self.config.n_ctx}] "
                                f"(the model's context), not {n_ctx!r}")
        kind, layer, head = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
        rc = self._lib.strata_hook_parse(name.encode(), ctypes.byref(kind), ctypes.byref(layer),
                                         ctypes.byref(head))
        if rc != 0:
            raise ArgumentError(f"{name!r} is not a hook name")
        shape = (ctypes.c_int64 * 4)()
        with self._lock:
            nd = self._lib.strata_model_hook_shape(self._handle(), kind.value, int(batch),
                                                   int(n_ctx), shape)
        if nd < 0:
            raise ArgumentError(f"hook_shape: no shape for {name!r} at batch {batch}, n_ctx {n_ctx}")
        s = list(shape[:nd])
        if head.value >= 0:
            ax = 1 if name.split("[")[0].endswith(("hook_attn_scores", "hook_pattern")) else 2
            s[ax] = 1
        return tuple(s)

    # ------------------------------------------------------------ text
    @property
    def has_tokenizer(self) -> bool:
        try:
            self.tokenizer
            return True
        except UnsupportedError:
            return False

    @property
    def tokenizer(self) -> Tokenizer:
        """The model's tokenizer (UnsupportedError if it has none)."""
        with self._lock:
            h = self._handle()
            if self._tokenizer is None:
                self._lib.need("strata_model_tokenizer", "strata_tokenize", "strata_detokenize")
                t = self._lib.strata_model_tokenizer(h)
                if not t:
                    raise UnsupportedError(
                        f"the model {self.path!r} has no tokenizer (no tokenizer.json in the "
                        f"directory / no vocabulary in the GGUF); pass token ids instead")
                self._tokenizer = Tokenizer(self._lib, t, owner=self)
            return self._tokenizer

    def tokenize(self, text: str, add_bos: bool | None = None) -> np.ndarray:
        """Token ids of text, int32 [n] (add_bos None: the tokenizer's default)."""
        return self.tokenizer.encode(text, add_bos=add_bos)

    def decode(self, ids, skip_special: bool = False) -> str:
        """Text of a sequence of ids."""
        return self.tokenizer.decode(ids, skip_special=skip_special)

    # ------------------------------------------------------------ inputs
    def tokens_and_lengths(self, inputs, lengths=None, pad_id: int = 0,
                           add_bos: bool | None = None):
        """Normalises any accepted input into the engine's layout: (tokens int32
        [B, T] right-padded, lengths int32 [B]).

        inputs: a str; a list of str; a list / 1-D array of ids (one sequence);
        a list of id lists of different lengths (right-padded with pad_id);
        a 2-D int array [B, T] (every row full length, unless `lengths` says
        otherwise).
        """
        if isinstance(inputs, (str, bytes)):
            seqs = [self.tokenize(inputs if isinstance(inputs, str) else inputs.decode(),
                                  add_bos=add_bos)]
        elif isinstance(inputs, np.ndarray):
            if inputs.ndim == 2:
                tokens = _as_ids(inputs, "tokens")
                B, T = tokens.shape
                if B == 0 or T == 0:
                    raise ArgumentError(f"empty batch: tokens have shape {inputs.shape}")
                if lengths is None:
                    lens = np.full(B, T, np.int32)
                else:
                    lens = _as_ids(np.asarray(lengths), "lengths").reshape(-1)
                    if lens.shape[0] != B:
                        raise ArgumentError(f"lengths has {lens.shape[0]} entries for a batch "
                                            f"of {B}")
                    if lens.size and (lens.min() < 1 or lens.max() > T):
                        raise ArgumentError(f"lengths must be in 1..{T} (the array's width)")
                    if lens.max() < T:
                        tokens = tokens[:, : int(lens.max())]
                return np.ascontiguousarray(tokens), np.ascontiguousarray(lens)
            if inputs.ndim != 1:
                raise ArgumentError(f"token array must be 1-D or 2-D, not {inputs.ndim}-D")
            seqs = [inputs]
        elif isinstance(inputs, (list, tuple)):
            if len(inputs) == 0:
                raise ArgumentError("empty input")
            if all(isinstance(x, str) for x in inputs):
                seqs = [self.tokenize(x, add_bos=add_bos) for x in inputs]
            elif all(isinstance(x, (numbers.Integral, np.integer)) for x in inputs):
                seqs = [inputs]
            else:
                seqs = list(inputs)
        else:
            raise TypeError(f"cannot run on a {type(inputs).__name__}: pass text, a list of "
                            f"token ids, a list of such lists, or an int array [B, T]")
        if lengths is not None:
            raise ArgumentError("lengths= is only for a 2-D token array")
        arrs = []
        for b, s in enumerate(seqs):
            if isinstance(s, str):
                raise TypeError("mixing text and token ids in one batch is not supported")
            a = _as_ids(np.asarray(s), f"sequence {b}")
            if a.ndim != 1:
                raise ArgumentError(f"sequence {b} must be 1-D, got shape {a.shape}")
            if a.shape[0] == 0:
                raise ArgumentError(f"sequence {b} is empty")
            arrs.append(a)
        T = max(a.shape[0] for a in arrs)
        tokens = np.full((len(arrs), T), int(pad_id), np.int32)
        lens = np.empty(len(arrs), np.int32)
        for b, a in enumerate(arrs):
            tokens[b, : a.shape[0]] = a
            lens[b] = a.shape[0]
        return tokens, lens

    #: "right" (default) or "left": where padding goes in to_tokens and in the
    #: arrays run / __call__ / run_with_cache return (TransformerLens'
    #: tokenizer.padding_side).  Each of those calls also takes padding_side=.
    padding_side = "right"

    def _side(self, padding_side) -> str:
        side = self.padding_side if padding_side is None else padding_side
        if side not in ("right", "left"):
            raise ArgumentError(f"padding_side must be 'right' or 'left', not {side!r}")
        return side

    def _engine_input(self, inputs, lengths, prepend_bos, side):
        """(right-padded tokens, lengths) for the engine.  A 2-D array with
        padding_side="left" is read as left-padded: its real tokens are the last
        lengths[b] of each row."""
        if side == "left" and isinstance(inputs, np.ndarray) and inputs.ndim == 2:
            if lengths is None:
                raise ArgumentError("a left-padded 2-D token array needs lengths= (the real "
                                    "tokens of row b are its last lengths[b])")
            arr = _as_ids(inputs, "tokens")
            lens = _as_ids(np.asarray(lengths), "lengths").reshape(-1)
            B, T = arr.shape
            if lens.shape[0] != B or (lens.size and (lens.min() < 1 or lens.max() > T)):
                raise ArgumentError(f"lengths must have {B} entries in 1..{T}")
            right = np.zeros((B, int(lens.max())), np.int32)
            for b in range(B):
                right[b, : lens[b]] = arr[b, T - lens[b]:]
            return right, np.ascontiguousarray(lens)
        return self.tokens_and_lengths(inputs, lengths, add_bos=prepend_bos)

    def to_tokens(self, input, prepend_bos: bool | None = None,
                  padding_side: str | None = None, pad_id: int = 0) -> np.ndarray:
        """Token ids as TransformerLens returns them: int32 [B, T] (a string
        gives B = 1), BOS first when the tokenizer adds one (prepend_bos
        overrides), shorter sequences padded with pad_id on padding_side.
        tokens_and_lengths() gives the lengths as well."""
        side = self._side(padding_side)
        tokens, lens = self.tokens_and_lengths(input, add_bos=prepend_bos, pad_id=pad_id)
        return _relayout(tokens, lens, side, pad_id)

    def to_str_tokens(self, input, prepend_bos: bool | None = None):
        """Each token as its own string: a list of str for text or one id
        sequence, a list of lists for a batch (padding left out)."""
        if isinstance(input, (str, bytes)):
            ids = self.tokenize(input if isinstance(input, str) else input.decode(),
                                add_bos=prepend_bos)
            return [self.decode([int(i)]) for i in ids]
        if isinstance(input, (list, tuple)) and input and all(isinstance(x, str) for x in input):
            return [self.to_str_tokens(x, prepend_bos) for x in input]
        a = np.asarray(input)
        if a.ndim == 0:
            return self.decode([int(a)])
        if a.ndim == 1 and a.dtype.kind in "iu":
            return [self.decode([int(i)]) for i in a]
        if a.ndim == 2:
            return [self.to_str_tokens(row) for row in a]
        return [self.to_str_tokens(x) for x in input]

    def to_string(self, tokens):
        """Text of ids: one string for a 1-D sequence, a list for [B, T]."""
        a = np.asarray(tokens)
        if a.ndim == 2:
            return [self.decode(row) for row in a]
        return self.decode(a.reshape(-1))

    # ------------------------------------------------------------ running
    def _forward(self, tokens, lens, mode: int, what: str):
        B, T = tokens.shape
        V = self.config.vocab_size
        out = None
        if mode == 1:
            out = self._arena_for(B * T * V, "logits").reshape(B, T, V)
        elif mode == 2:
            out = self._arena_for(B * V, "logits").reshape(B, V)
        opts = _lib.RunOpts(logits=mode)
        h = self._enter_call()
        self._running = True
        try:
            rc = self._lib.strata_run_v2(h, tokens.ctypes.data, lens.ctypes.data, B,
                                         ctypes.byref(opts),
                                         out.ctypes.data if out is not None else None)
        finally:
            self._running = False
        self._check(rc, what)
        return out

    def run(self, inputs, *, lengths=None, logits="all", hooks=None, padding_side=None,
            prepend_bos=None):
        """Forward pass; returns logits.

        inputs: see :meth:`tokens_and_lengths` (text, ids, list of id lists,
            [B, T] array).
        logits: "all" -> float32 [B, T, V]; "last" -> [B, V] at each
            sequence's last valid position; None -> no unembedding (returns None).
        hooks: optional {name_or_glob: fn} active for this call only.
        padding_side: "left" returns [B, T, V] with each sequence's positions at
            the end (T - lengths[b] .. T-1) and zeros before; the engine itself
            always runs right-padded, so hooks see that layout (ctx.lengths).
        """
        mode = _logits_mode(logits)
        side = self._side(padding_side)
        tokens, lens = self._engine_input(inputs, lengths, prepend_bos, side)
        with self._lock:
            scope = self._add_hooks(hooks) if hooks else None
            try:
                out = self._forward(tokens, lens, mode, "run")
            finally:
                if scope is not None:
                    scope.remove()
        if side == "left" and mode == 1:
            out = _relayout(out, lens, "left", 0)
        return out

    def __call__(self, input, return_type: str | None = "logits", *, loss_per_token=False,
                 prepend_bos=None, padding_side=None, lengths=None, hooks=None, logits=None):
        """TransformerLens' ``model(input, return_type=...)``.

        return_type: "logits" -> float32 [B, T, V]; "loss" -> mean next-token
        cross-entropy over every real position that has a next token (a float),
        or with loss_per_token=True float64 [B, T-1] (-log softmax(logits[b, t])
        at tokens[b, t+1]; NaN where t+1 is padding); "both" -> (logits, loss);
        None -> runs without the unembedding and returns None.  logits="last"
        etc. (the run() keyword) still works and means run().
        """
        if logits is not None:
            return self.run(input, lengths=lengths, logits=logits, hooks=hooks,
                            padding_side=padding_side, prepend_bos=prepend_bos)
        if return_type not in ("logits", "loss", "both", None):
            raise ArgumentError(f"return_type must be 'logits', 'loss', 'both' or None, not "
                                f"{return_type!r}")
        side = self._side(padding_side)
        tokens, lens = self._engine_input(input, lengths, prepend_bos, side)
        mode = 0 if return_type is None else 1
        with self._lock:
            scope = self._add_hooks(hooks) if hooks else None
            try:
                out = self._forward(tokens, lens, mode, "__call__")
            finally:
                if scope is not None:
                    scope.remove()
        if return_type is None:
            return None
        loss = None
        if return_type in ("loss", "both"):
            per = _token_loss(out, tokens, lens)
            if loss_per_token:
                loss = _relayout(per, np.maximum(lens - 1, 0), side, np.nan) \
                    if side == "left" else per
            else:
                valid = per[~np.isnan(per)]
                if valid.size == 0:
                    raise ArgumentError("loss needs a sequence of at least 2 tokens")
                loss = float(valid.mean())
        if side == "left":
            out = _relayout(out, lens, "left", 0)
        if return_type == "logits":
            return out
        return loss if return_type == "loss" else (out, loss)

    def _capture_specs(self, names):
        """Globs (with optional [h]) to register for run_with_cache."""
        if names is None:
            # Every hook point except the opt-in per-head result.  Registering
            # a glob costs O(points^2) in strata_hook_add today, so use as few
            # globs as match exactly that set: eight short ones when they do
            # (checked), else one per kind.
            if self._default_specs is None:
                want = [n for n in self.hook_names() if not n.endswith("attn.hook_result")]
                few = ["hook_*", "ln_final.*", "blocks.*.hook_resid_*", "blocks.*.hook_*_out",
                       "blocks.*.ln?.*", "blocks.*.mlp.*", "blocks.*.attn.hook_[!r]*",
                       "blocks.*.attn.hook_rot_*"]
                got = [n for n in self.hook_names()
                       if any(fnmatch.fnmatchcase(n, g) for g in few)]
                if got == want:
                    # only globs that match something (a model without rotary
                    # embeddings has no hook_rot_*; registering it would fail)
                    self._default_specs = [g for g in few
                                           if any(fnmatch.fnmatchcase(n, g) for n in want)]
                else:
                    pats = []
                    for n in want:
                        p = re.sub(r"^blocks\.\d+\.", "blocks.*.", n)
                        if p not in pats:
                            pats.append(p)
                    self._default_specs = pats
            return list(self._default_specs)
        if isinstance(names, str):
            return [names]
        if callable(names):
            return [n for n in self.hook_names() if names(n)]
        out = list(names)
        for n in out:
            if not isinstance(n, str):
                raise TypeError(f"names must be hook names / globs, got {n!r}")
        return out

    # Buffer recycling: fresh memory costs page faults (for a 67 MiB cache of
    # stories260K at 8x128 tokens, more than the forward pass; for GPT-2
    # small's 206 MB of 8x128 logits, ~10 % of the run).  A model keeps the
    # last _POOL cache arenas and logits arrays it handed out; when every
    # array over an old one is gone (it is referenced by the pool alone), the
    # next call reuses it instead of allocating.  Two, so that the loop
    # `for b in batches: logits, cache = model.run_with_cache(b)` (which
    # holds the previous cache during the call) recycles too.  Arenas over
    # _POOL_MAX_BYTES are never kept; release_buffers() drops the pool.
    _POOL = 2
    _POOL_MAX_BYTES = 1 << 30

    def _arena_for(self, n: int, which: str = "cache") -> np.ndarray:
        """A float32 [n] buffer, recycled from pool `which` when one is free."""
        pool = self._pool.setdefault(which, [])
        for i in range(len(pool)):
            # references: the pool list and getrefcount's argument, no more
            if pool[i].size >= n and sys.getrefcount(pool[i]) <= 2:
                a = pool.pop(i)
                pool.append(a)
                return a[:n]
        a = np.empty(n, np.float32)
        if a.nbytes <= self._POOL_MAX_BYTES:
            pool.append(a)
            if len(pool) > self._POOL:
                pool.pop(0)
        return a

    def release_buffers(self) -> None:
        """Drops the recycled buffers (caches and logits) the model keeps."""
        with self._lock:
            self._pool = {}

    def _capture_plan(self, specs, B: int, T: int):
        """[(key, shape, size)] for the points the specs should match, where
        key = (name bytes, head); memoised per (specs, B, T)."""
        ck = (tuple(specs), B, T)
        plan = self._plans.get(ck)
        if plan is not None:
            return plan
        want = []
        for spec in specs:
            mh = _HEAD_RE.match(spec)
            base, head = (mh.group(1), int(mh.group(2))) if mh else (spec, -1)
            for n in self.hook_names(base):
                if head >= 0 and not n.endswith(_HEAD_SUFFIXES):
                    continue
                key = (n.encode(), head)
                if key not in want:
                    want.append(key)
        plan = []
        for name, head in want:
            shp = self.hook_shape(name.decode() + (f"[{head}]" if head >= 0 else ""), B, T)
            plan.append((name, head, shp, int(np.prod(shp))))
        if len(self._plans) > 64:
            self._plans.clear()
        self._plans[ck] = plan
        return plan

    def _capture_slots(self, specs, B: int, T: int) -> dict:
        """Destinations for the points the specs should match, as views into
        one float32 arena: {(name bytes, head): array}."""
        plan = self._capture_plan(specs, B, T)
        arena = self._arena_for(sum(p[3] for p in plan))
        slots, off = {}, 0
        for name, head, shp, n in plan:
            slots[(name, head)] = arena[off: off + n].reshape(shp)
            off += n
        return slots

    def run_with_cache(self, inputs, names=None, *, lengths=None, logits="all", hooks=None,
                       padding_side=None, prepend_bos=None):
        """Forward pass that also returns activations.

        names: hook names or globs (``"blocks.*.hook_resid_post"``,
            ``"blocks.2.attn.hook_z[3]"``), a single glob, a predicate
            ``f(name) -> bool``, or None for every hook point except
            ``attn.hook_result`` (per-head outputs are computed only when asked for).
        Returns (logits, cache): logits as in :meth:`run`, cache an
        :class:`ActivationCache` of float32 copies over the padded batch.
        Caching runs after any hook of `hooks` (or an enclosing ``model.hooks``)
        on the same point, so edited values are what is cached.
        padding_side="left": logits and every cached array are re-laid out so
        that each sequence ends at position T-1 (both position axes of
        patterns and scores), padding before it is 0.
        """
        mode = _logits_mode(logits)
        side = self._side(padding_side)
        tokens, lens = self._engine_input(inputs, lengths, prepend_bos, side)
        specs = self._capture_specs(names)
        store = {}
        with self._lock:
            # under the lock: two threads must not both claim a recycled arena
            slots = self._capture_slots(specs, tokens.shape[0], tokens.shape[1])
            user_scope = self._add_hooks(hooks) if hooks else None
            regs = []
            try:
                call = capture_hook(store, slots)
                for spec in specs:
                    regs.append(self._register(spec, call))
                out = self._forward(tokens, lens, mode, "run_with_cache")
            finally:
                self._remove_regs(regs)
                if user_scope is not None:
                    user_scope.remove()
        if side == "left":
            if mode == 1:
                out = _relayout(out, lens, "left", 0)
            for k in list(store):
                store[k] = _relayout(store[k], lens, "left", 0, _position_axes(k))
            tokens = _relayout(tokens, lens, "left", 0)
        return out, ActivationCache(store, tokens, lens, self.config.n_layers, model=self,
                                    padding_side=side)

    def generate(self, prompt, n_new: int, *, add_bos: bool | None = None,
                 temperature: float = 0.0, top_k: int | None = None,
                 top_p: float | None = None, seed: int | None = None,
                 stop_tokens=None, stop_at_eos: bool = False) -> np.ndarray:
        """Decoding with a KV cache: greedy (argmax, first index on ties) by
        default; with temperature > 0 sampling from softmax(logits /
        temperature), restricted to the top_k most likely tokens and then to the
        nucleus of mass top_p (applied in that order, as Hugging Face does).

        prompt: text (tokenized with the model's tokenizer) or a 1-D list of
        ids (include BOS yourself).  seed: the sampler's seed (None: a random
        one); the same seed gives the same tokens.  stop_tokens: ids after which
        generation stops (the stop id is returned); stop_at_eos adds the
        tokenizer's EOS.  Returns the generated ids, int32 [<= n_new].  Hooks
        fire during generation too (ctx.pos_offset gives the absolute position).
        """
        if isinstance(prompt, str):
            ids = self.tokenize(prompt, add_bos=add_bos)
        else:
            ids = _as_ids(np.asarray(prompt), "prompt").reshape(-1)
        ids = np.ascontiguousarray(ids, np.int32)
        n_new = int(n_new)
        if n_new < 0:
            raise ArgumentError("n_new must be >= 0")
        stops = [] if stop_tokens is None else [int(t) for t in np.asarray(stop_tokens).reshape(-1)]
        if stop_at_eos:
            eos = self.config.eos_token_id if self.config.eos_token_id >= 0 else (
                self.tokenizer.eos if self.has_tokenizer else -1)
            if eos < 0:
                raise ArgumentError("stop_at_eos: this model has no EOS token id")
            stops.append(eos)
        temperature = float(temperature)
        if not np.isfinite(temperature) or temperature < 0:
            raise ArgumentError(f"temperature must be finite and >= 0, not {temperature}")
        if top_k is not None and int(top_k) < 1:
            raise ArgumentError(f"top_k must be >= 1, not {top_k}")
        if top_p is not None and not (0 < float(top_p) <= 1):
            raise ArgumentError(f"top_p must be in (0, 1], not {top_p}")
        if (top_k is not None or top_p is not None) and temperature == 0:
            raise ArgumentError("top_k / top_p select among sampled tokens: set temperature > 0 "
                                "(temperature 0 is greedy decoding)")
        out = np.empty(n_new, np.int32)
        if n_new == 0:
            return out
        plain = temperature == 0 and not stops
        if not plain:
            self._lib.need("strata_generate_ex")
            opts = _lib.GenerateOpts()
            opts.temperature = temperature
            opts.top_k = int(top_k or 0)
            opts.top_p = float(top_p) if top_p is not None else 0.0
            opts.seed = int(seed) if seed is not None else int.from_bytes(os.urandom(8), "little")
            stop_arr = np.ascontiguousarray(stops, np.int32)
            opts.stop_ids = stop_arr.ctypes.data if stops else None
            opts.n_stop = len(stops)
            n_out = ctypes.c_int()
        with self._lock:
            h = self._enter_call()
            self._running = True
            try:
                if plain:
                    rc = self._lib.strata_generate(h, ids.ctypes.data, len(ids), n_new,
                                                   out.ctypes.data)
                else:
                    rc = self._lib.strata_generate_ex(h, ids.ctypes.data, len(ids), n_new,
                                                      ctypes.byref(opts), out.ctypes.data,
                                                      ctypes.byref(n_out))
            finally:
                self._running = False
            self._check(rc, "generate")
        return out if plain else out[: n_out.value]

    # ------------------------------------------------------------ weights
    def weight_names(self) -> list[str]:
        """Every name :meth:`weight` accepts for this model, in a fixed order."""
        self._lib.need("strata_model_n_weights", "strata_model_weight_name")
        with self._lock:
            h = self._handle()
            buf = ctypes.create_string_buffer(128)
            out = []
            for i in range(self._lib.strata_model_n_weights(h)):
                self._lib.strata_model_weight_name(h, i, buf, 128)
                out.append(buf.value.decode())
        return out

    def weight(self, name: str) -> np.ndarray:
        """A read-only float32 numpy view of one weight, TransformerLens name and
        layout (``"W_E"``, ``"blocks.0.attn.W_Q"`` [H, d, d_head], ...; the list
        is :meth:`weight_names`, the layouts docs/PYTHON.md).  No copy: the view
        reads the model's memory, keeping it alive after close() until the last
        view is gone."""
        self._lib.need("strata_model_weight")
        t = _lib.Tensor()
        with self._lock:
            h = self._handle()
            rc = self._lib.strata_model_weight(h, name.encode(), ctypes.byref(t))
            if rc != 0:
                raise error_for_status(rc, _lib.cstr(self._lib.strata_errmsg(h)))
            if self._keeper is None:
                self._keeper = _WeightKeeper()
            return _strided_view(t, self._keeper)

    W_E = property(lambda self: self.weight("W_E"), doc="token embedding [V, d]")
    W_pos = property(lambda self: self.weight("W_pos"),
                     doc="learned positional embedding [n_ctx, d] (GPT-2 only)")
    W_U = property(lambda self: self.weight("W_U"), doc="unembedding [d, V]")
    b_U = property(lambda self: self.weight("b_U"), doc="unembedding bias [V] (if any)")
    W_Q = property(lambda self: _PerLayer(self, "attn.W_Q"), doc="W_Q[layer]: [H, d, d_head]")
    W_K = property(lambda self: _PerLayer(self, "attn.W_K"), doc="W_K[layer]: [H_kv, d, d_head]")
    W_V = property(lambda self: _PerLayer(self, "attn.W_V"), doc="W_V[layer]: [H_kv, d, d_head]")
    W_O = property(lambda self: _PerLayer(self, "attn.W_O"), doc="W_O[layer]: [H, d_head, d]")
    b_Q = property(lambda self: _PerLayer(self, "attn.b_Q"), doc="b_Q[layer]: [H, d_head]")
    b_K = property(lambda self: _PerLayer(self, "attn.b_K"), doc="b_K[layer]: [H_kv, d_head]")
    b_V = property(lambda self: _PerLayer(self, "attn.b_V"), doc="b_V[layer]: [H_kv, d_head]")
    b_O = property(lambda self: _PerLayer(self, "attn.b_O"), doc="b_O[layer]: [d]")
    W_in = property(lambda self: _PerLayer(self, "mlp.W_in"), doc="W_in[layer]: [d, d_mlp]")
    W_gate = property(lambda self: _PerLayer(self, "mlp.W_gate"),
                      doc="W_gate[layer]: [d, d_mlp] (gated MLPs)")
    W_out = property(lambda self: _PerLayer(self, "mlp.W_out"), doc="W_out[layer]: [d_mlp, d]")
    b_in = property(lambda self: _PerLayer(self, "mlp.b_in"), doc="b_in[layer]: [d_mlp]")
    b_out = property(lambda self: _PerLayer(self, "mlp.b_out"), doc="b_out[layer]: [d]")

    # ------------------------------------------------------------ hooks
    def _register(self, spec: str, call):
        """Registers one C hook for spec (lock held); returns (c_id, key)."""
        if not isinstance(spec, str):
            raise TypeError(f"hook names must be str, got {spec!r}")
        h = self._enter_call()
        key = register(self, call)
        hid = ctypes.c_int32()
        rc = self._lib.strata_hook_add(h, spec.encode(), _TRAMPOLINE, key, ctypes.byref(hid))
        if rc != 0:
            unregister(key)
            msg = _lib.cstr(self._lib.strata_errmsg(h)) or self._lib.errstr(rc)
            raise error_for_status(rc, msg)
        self._regs[hid.value] = key
        return hid.value, key

    def _remove_regs(self, regs) -> None:
        if not regs:
            return
        with self._lock:
            h = self._h
            for hid, key in regs:
                if h and self._regs.pop(hid, None) is not None:
                    self._lib.strata_hook_remove(h, hid)
                unregister(key)

    def _add_hooks(self, hooks) -> _HookScope:
        if isinstance(hooks, dict):
            items = list(hooks.items())
        else:
            items = list(hooks)
        regs = []
        with self._lock:
            try:
                for spec, fns in items:
                    for fn in (fns if isinstance(fns, (list, tuple)) else [fns]):
                        if not callable(fn):
                            raise TypeError(f"hook for {spec!r} is not callable: {fn!r}")
                        regs.append(self._register(spec, user_hook(self, fn, spec)))
            except BaseException:
                self._remove_regs(regs)
                raise
        return _HookScope(self, regs)

    def hooks(self, hooks) -> _HookScope:
        """Registers Python hooks; use as a context manager (removed on exit).

        hooks: {name_or_glob: fn} or [(name_or_glob, fn), ...]; a value may
        also be a list of functions.  Names follow TransformerLens
        (``"blocks.1.attn.hook_z"``), '*' and '?' glob, and ``"[h]"`` selects
        one head (``"blocks.1.attn.hook_z[3]"``: a [B, T, 1, d_head] view).

        ``fn(array, ctx)`` gets a writable float32 view of the engine's buffer
        (valid only during the call) and a :class:`HookContext`; it edits in
        place and returns None, or returns a float32 array of the same shape
        to replace the values.  An exception in fn stops the forward pass and
        is re-raised by run/run_with_cache/generate.
        """
        return self._add_hooks(hooks)

    def add_hook(self, name: str, fn) -> _HookScope:
        """Registers one hook until ``.remove()`` (or reset_hooks())."""
        return self._add_hooks([(name, fn)])

    def reset_hooks(self) -> None:
        """Removes every hook added from Python (not those of attached
        analysis objects such as AttentionStats)."""
        with self._lock:
            self._enter_call()
            self._remove_regs(list(self._regs.items()))


def _logits_mode(logits) -> int:
    try:
        return _LOGITS_MODE[logits]
    except (KeyError, TypeError):
        raise ArgumentError(f"logits must be 'all', 'last' or None, not {logits!r}") from None


def _as_ids(a: np.ndarray, what: str) -> np.ndarray:
    """An int32 copy/view of an integer array, range-checked for int32."""
    if a.dtype.kind not in "iu":
        if a.size == 0:
            return a.astype(np.int32)
        raise TypeError(f"{what}: token ids must be integers, got dtype {a.dtype}")
    if a.dtype != np.int32:
        if a.size and (a.min() < -2**31 or a.max() >= 2**31):
            raise ArgumentError(f"{what}: token id out of the int32 range")
        a = a.astype(np.int32)
    return a


class _WeightKeeper:
    """Referenced by every weight view of one model; the model's memory is freed
    only once the model is closed and this object is gone."""
    __slots__ = ("__weakref__",)


def _strided_view(t, keeper) -> np.ndarray:
    """A read-only numpy view over a strata_tensor (strides in elements)."""
    nd = t.ndim
    shape = tuple(int(t.shape[k]) for k in range(nd))
    strides = tuple(int(t.strides[k]) for k in range(nd))
    if any(x < 0 for x in strides):
        raise ValueError("negative strides")
    extent = 1 + sum((n - 1) * st for n, st in zip(shape, strides)) if all(shape) else 0
    buf = (ctypes.c_float * max(extent, 1)).from_address(t.data)
    buf._keeper = keeper        # the memory lives while any view over buf does
    base = np.frombuffer(buf, np.float32, count=max(extent, 1))
    v = np.lib.stride_tricks.as_strided(base, shape, tuple(4 * st for st in strides),
                                        writeable=False)
    return v


class _PerLayer:
    """model.W_Q[layer] -> that layer's array; np.asarray(model.W_Q) stacks all
    layers ([n_layers, ...], a copy) as TransformerLens' model.W_Q does."""

    def __init__(self, model, suffix):
        self._model, self._suffix = model, suffix

    def __len__(self):
        return self._model.config.n_layers

    def __getitem__(self, layer):
        n = self._model.config.n_layers
        if isinstance(layer, slice):
            return np.stack([self[i] for i in range(n)[layer]])
        layer = int(layer)
        if layer < -n or layer >= n:
            raise IndexError(f"layer {layer} out of range for {n} layers")
        return self._model.weight(f"blocks.{layer % n}.{self._suffix}")

    def __iter__(self):
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        a = np.stack(list(self))
        return a if dtype is None else a.astype(dtype)

    @property
    def shape(self):
        return (len(self),) + self[0].shape

    def __repr__(self):
        return f"<{self._suffix.split('.')[-1]} of {len(self)} layers, each {self[0].shape}>"


def _position_axes(name: str):
    """Axes of a cached activation that run over positions."""
    base = name.split("[")[0]
    if base.endswith(("attn.hook_attn_scores", "attn.hook_pattern")):
        return (2, 3)
    return (1,)


def _relayout(a: np.ndarray, lens, side: str, fill, axes=(1,)) -> np.ndarray:
    """A right-padded [B, T, ...] array in the requested layout: unchanged for
    "right"; for "left" a new array with sequence b's first lens[b] positions
    moved to the end of every axis in `axes` and `fill` before them."""
    if side == "right":
        return a
    out = np.full(a.shape, fill, dtype=a.dtype)
    for b, n in enumerate(np.asarray(lens)):
        n = int(n)
        if n == 0:
            continue
        src = [b] + [slice(None)] * (a.ndim - 1)
        dst = [b] + [slice(None)] * (a.ndim - 1)
        for ax in axes:
            T = a.shape[ax]
            src[ax] = slice(0, n)
            dst[ax] = slice(T - n, T)
        out[tuple(dst)] = a[tuple(src)]
    return out


def _token_loss(logits: np.ndarray, tokens: np.ndarray, lens) -> np.ndarray:
    """-log softmax(logits[b, t])[tokens[b, t+1]], float64 [B, T-1]; NaN where
    t+1 >= lens[b].  Log-sum-exp in float64 over the vocabulary."""
    B, T, V = logits.shape
    out = np.full((B, max(T - 1, 0)), np.nan)
    for b in range(B):
        n = int(lens[b]) - 1
        if n <= 0:
            continue
        z = logits[b, :n].astype(np.float64)
        mx = z.max(axis=1, keepdims=True)
        lse = np.log(np.exp(z - mx).sum(axis=1)) + mx[:, 0]
        out[b, :n] = lse - z[np.arange(n), tokens[b, 1: n + 1]]
    return out
