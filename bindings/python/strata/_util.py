"""Small helpers shared by the analysis wrappers."""

from __future__ import annotations

import ctypes

import numpy as np

from . import _lib
from .errors import ArgumentError, ClosedError, error_for_status


def copy_array(addr, ctype, shape) -> np.ndarray | None:
    """A numpy copy of a borrowed C array (None for a NULL pointer)."""
    if not addr:
        return None
    n = int(np.prod(shape)) if len(shape) else 1
    if n == 0:
        return np.empty(shape, np.dtype(ctype))
    return np.ctypeslib.as_array((ctype * n).from_address(addr)).reshape(shape).copy()


def as_f32(X, ndim: int, what: str) -> np.ndarray:
    """C-contiguous float32 array of exactly ndim dimensions."""
    a = np.ascontiguousarray(X, dtype=np.float32)
    if a.ndim != ndim:
        raise ArgumentError(f"{what} must be {ndim}-D, got shape {a.shape}")
    return a


def as_i32(x, what: str) -> np.ndarray:
    a = np.asarray(x)
    if a.dtype.kind not in "iu":
        raise TypeError(f"{what} must be integers, got dtype {a.dtype}")
    return np.ascontiguousarray(a, dtype=np.int32)


def err_buf(n: int = 1024):
    return ctypes.create_string_buffer(n)


def raise_status(rc: int, msg: str, lib) -> None:
    if rc != 0:
        raise error_for_status(rc, msg or lib.errstr(rc))


class Closeable:
    """``with`` support and a finaliser for objects with an idempotent close()."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class Handle(Closeable):
    """Base of wrappers over an owned C handle with a free function."""

    _free_name = ""
    _errmsg_name = ""

    def __init__(self, lib, h):
        self._lib = lib
        self._h = h

    def _handle(self):
        if not self._h:
            raise ClosedError(f"the {type(self).__name__} is closed")
        return self._h

    def _errmsg(self) -> str:
        return _lib.cstr(getattr(self._lib, self._errmsg_name)(self._h)) if self._h else ""

    def _check(self, rc: int) -> None:
        if rc != 0:
            raise error_for_status(rc, self._errmsg() or self._lib.errstr(rc))

    def _close_on_error(self, rc: int) -> None:
        """After the C call that made the handle: on a nonzero status, frees it
        and raises the error (with the handle's message, read first)."""
        if rc != 0:
            msg = self._errmsg()
            self.close()
            raise error_for_status(rc, msg or self._lib.errstr(rc))

    @classmethod
    def _adopt(cls, lib, rc: int, h):
        """Wraps the handle a C constructor returned with status rc (raising,
        with the handle freed, when rc is an error)."""
        obj = cls(lib, h)
        obj._close_on_error(rc)
        return obj

    def close(self) -> None:
        h, self._h = self._h, None
        if h:
            getattr(self._lib, self._free_name)(h)
