"""Text <-> token ids (strata/tokenizer.h).

A model's own tokenizer is ``model.tokenizer`` (borrowed from the model,
valid while it is open); a standalone one is ``Tokenizer.open(path)`` (a
tokenizer.json, a directory holding one or vocab.json + merges.txt, or a
.gguf file).
"""

from __future__ import annotations

import ctypes
import os
import threading

import numpy as np

from . import _lib
from ._util import Closeable
from .errors import ClosedError, error_for_status

__all__ = ["Tokenizer"]


class Tokenizer(Closeable):
    """A BPE tokenizer (byte-level or SentencePiece-style with byte fallback).

    Thread-safety: calls on one Tokenizer are serialised by a lock.
    """

    def __init__(self, lib, handle: int, owner=None):
        # owner: the Model whose tokenizer this is (borrowed), or None (owned).
        self._lib = lib
        self._h = handle
        self._owner = owner
        self._lock = owner._lock if owner is not None else threading.RLock()

    @classmethod
    def open(cls, path) -> "Tokenizer":
        lib = _lib.load()
        lib.need("strata_tokenizer_open")
        h = ctypes.c_void_p()
        rc = lib.strata_tokenizer_open(os.fsencode(path), ctypes.byref(h))
        if rc != 0:
            msg = _lib.cstr(lib.strata_tokenizer_errmsg(h)) if h.value else ""
            lib.strata_tokenizer_free(h)
            raise error_for_status(rc, msg or f"{os.fspath(path)}: {lib.errstr(rc)}")
        return cls(lib, h.value)

    # -- lifetime
    def _handle(self) -> int:
        if self._owner is not None:
            self._owner._handle()  # raises if the model was closed
        if not self._h:
            raise ClosedError("the tokenizer is closed")
        return self._h

    def close(self) -> None:
        """Frees a standalone tokenizer (a model's tokenizer goes with the model)."""
        with self._lock:
            if self._owner is None and self._h:
                self._lib.strata_tokenizer_free(self._h)
            self._h = None

    def _err(self, rc: int, what: str):
        msg = _lib.cstr(self._lib.strata_tokenizer_errmsg(self._h))
        return error_for_status(int(rc), msg or f"{what}: {self._lib.errstr(int(rc))}")

    # -- API
    def encode(self, text: str, add_bos: bool | None = None, return_offsets: bool = False):
        """Token ids of ``text`` as int32 [n].

        add_bos: True / False, or None for the tokenizer's default.
        return_offsets: also return int64 [n, 2] byte offsets [start, end)
            of each token in the UTF-8 encoding of text (BOS gets [0, 0]).
        """
        data = text.encode("utf-8") if isinstance(text, str) else bytes(text)
        flag = -1 if add_bos is None else int(bool(add_bos))
        cap = len(data) + 8
        with self._lock:
            h = self._handle()
            while True:
                ids = np.empty(cap, np.int32)
                offs = np.empty((cap, 2), np.int64) if return_offsets else None
                n = self._lib.strata_tokenize(h, data, len(data), flag, ids.ctypes.data, cap,
                                              offs.ctypes.data if offs is not None else None)
                if n < 0:
                    raise self._err(n, "tokenize")
                if n <= cap:
                    break
                cap = int(n)
        return (ids[:n], offs[:n]) if return_offsets else ids[:n]

    def decode(self, ids, skip_special: bool = False) -> str:
        """UTF-8 text of ids (invalid byte sequences are replaced)."""
        arr = np.ascontiguousarray(np.asarray(ids, dtype=np.int64).reshape(-1)).astype(np.int32)
        cap = 4 * len(arr) + 64
        with self._lock:
            h = self._handle()
            while True:
                buf = ctypes.create_string_buffer(cap)
                n = self._lib.strata_detokenize(h, arr.ctypes.data, len(arr), int(skip_special),
                                                buf, cap)
                if n < 0:
                    raise self._err(n, "decode")
                if n < cap:
                    break
                cap = int(n) + 1
        return buf.raw[:n].decode("utf-8", "replace")

    def piece(self, token_id: int) -> str | None:
        """The vocabulary string of one id (as in tokenizer.json), or None."""
        with self._lock:
            p = self._lib.strata_token_piece(self._handle(), int(token_id))
        return None if p is None else p.decode("utf-8", "replace")

    @property
    def vocab_size(self) -> int:
        with self._lock:
            return int(self._lib.strata_tokenizer_vocab_size(self._handle()))

    @property
    def bos(self) -> int:
        """BOS id, or -1."""
        with self._lock:
            return int(self._lib.strata_tokenizer_bos(self._handle()))

    @property
    def eos(self) -> int:
        """EOS id, or -1."""
        with self._lock:
            return int(self._lib.strata_tokenizer_eos(self._handle()))

    def __repr__(self) -> str:
        state = "closed" if not self._h else f"vocab_size={self.vocab_size}"
        return f"<strata.Tokenizer {state}>"
