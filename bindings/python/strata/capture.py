"""Activation files (strata/capture.h): streaming capture into HDF5, and the reader.

    with strata.Capture(model, "acts.h5", hooks="blocks.*.hook_resid_post",
                        labels={"is_noun": int}) as cap:
        cap.add("Once upon a time", labels={"is_noun": [(5, 9, 1)]})
        cap.add([1, 403, 407])
    with strata.Activations.open("acts.h5") as acts:
        X = acts.read("blocks.2.hook_resid_post")      # [R, d_model]
        y = acts.label("is_noun")                       # [R]

The file layout is docs/FORMAT.md; it is plain HDF5 (h5py reads it too).
"""

from __future__ import annotations

import ctypes
import os

import numpy as np

from . import _lib
from ._util import Handle, as_i32
from .errors import ArgumentError, error_for_status

__all__ = ["Activations", "Capture", "CaptureStats"]

_POS = {"all": 0, "last": 1, "first": 2}
_MODE = {"create": 0, "overwrite": 1, "resume": 2}
_DTYPE = {"f32": 0, "float32": 0, "f16": 1, "float16": 1}
_INPUT = {"text": 0, "jsonl": 1, "tokens": 2}


class Activations(Handle):
    """A capture file opened read-only (strata_acts).

    Attributes: hooks (names, file order), labels (names), n_rows, complete.
    """

    _free_name = "strata_acts_close"
    _errmsg_name = "strata_acts_errmsg"

    @classmethod
    def open(cls, path) -> "Activations":
        lib = _lib.load()
        lib.need("strata_acts_open")
        h = ctypes.c_void_p()
        rc = lib.strata_acts_open(os.fsencode(path), ctypes.byref(h))
        self = cls(lib, h.value)
        if rc != 0:
            msg = self._errmsg()
            self.close()
            raise error_for_status(rc, msg or f"{os.fsdecode(path)}: {lib.errstr(rc)}")
        self.path = os.fsdecode(path)
        return self

    @property
    def n_rows(self) -> int:
        return int(self._lib.strata_acts_n_rows(self._handle()))

    @property
    def complete(self) -> bool:
        return bool(self._lib.strata_acts_complete(self._handle()))

    @property
    def hooks(self) -> list:
        h = self._handle()
        return [_lib.cstr(self._lib.strata_acts_hook(h, i))
                for i in range(self._lib.strata_acts_n_hooks(h))]

    @property
    def labels(self) -> list:
        h = self._handle()
        return [_lib.cstr(self._lib.strata_acts_label(h, i))
                for i in range(self._lib.strata_acts_n_labels(h))]

    def shape(self, hook: str) -> tuple:
        """(R, per-row shape...) of one hook."""
        s = (ctypes.c_int64 * 4)()
        nd = self._lib.strata_acts_hook_shape(self._handle(), hook.encode(), s)
        if nd < 0:
            raise error_for_status(-6, f"{self.path}: no hook {hook!r} (it has {self.hooks})")
        return tuple(s[:nd])

    def read(self, hook: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows [start, stop) of one hook as float32 [n, per-row shape...]."""
        shp = self.shape(hook)
        R = shp[0]
        stop = R if stop is None else min(int(stop), R)
        n = max(0, stop - int(start))
        out = np.empty((n,) + tuple(shp[1:]), np.float32)
        if n:
            self._check(self._lib.strata_acts_read(self._handle(), hook.encode(), int(start), n,
                                                   out.ctypes.data))
        return out

    def label(self, name: str, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows [start, stop) of /labels/<name> as float32 [n]."""
        stop = self.n_rows if stop is None else min(int(stop), self.n_rows)
        n = max(0, stop - int(start))
        out = np.empty(n, np.float32)
        if n:
            self._check(self._lib.strata_acts_read_label(self._handle(), name.encode(),
                                                         int(start), n, out.ctypes.data))
        return out

    def row_tokens(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Token id at each row, int32 [n]."""
        stop = self.n_rows if stop is None else min(int(stop), self.n_rows)
        n = max(0, stop - int(start))
        out = np.empty(n, np.int32)
        if n:
            self._check(self._lib.strata_acts_read_row_tokens(self._handle(), int(start), n,
                                                              out.ctypes.data))
        return out

    def __repr__(self) -> str:
        if not self._h:
            return "<strata.Activations closed>"
        return f"<strata.Activations {self.path!r} rows={self.n_rows} hooks={len(self.hooks)}>"


class CaptureStats:
    """What a capture session wrote (strata_capture_stats)."""

    def __init__(self, s):
        for f, _ in s._fields_:
            setattr(self, f, getattr(s, f))

    def __repr__(self) -> str:
        return ("CaptureStats(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")")


class Capture(Handle):
    """A capture session writing an activation file (strata_capture).

    hooks: a glob or a list of globs ("[h]" head suffix allowed).
    positions: "all", "last" or "first" token of each document.
    batch: documents per forward pass; max_tokens: truncate (0: n_ctx).
    dtype: "f32" or "f16"; compress: 0..9 (deflate + shuffle).
    mode: "create" (fail if the file exists), "overwrite" (regular files only),
        "resume" (feed the same documents again: the stored ones are checked
        against them, and model files by SHA-256; a refusal leaves the file
        unchanged). A file another process holds (a running capture, an
        h5py reader) is refused. See docs/ERRORS.md.
    add_bos: for text documents (None: the tokenizer's default).
    labels: {name: int or float} declared up front (int -> int32 dataset).
    progress: optional fn(docs_done, docs_total, rows_done, seconds) -> bool
        (return True to stop: the adding call raises StoppedError).

    Python hooks active on the model (model.hooks) fire during the capture,
    so a capture can record an edited (ablated, steered) model.  The model is
    locked for the whole session call by call; do not run it from a hook.
    """

    _free_name = "strata_capture_free"
    _errmsg_name = "strata_capture_errmsg"

    def __init__(self, model, path, hooks="blocks.*.hook_resid_post", *, positions="all",
                 batch=8, max_tokens=0, dtype="f32", compress=0, mode="create", add_bos=None,
                 labels=None, progress=None):
        lib = model._lib
        lib.need("strata_capture_open")
        super().__init__(lib, None)
        self._model = model
        o = lib.strata_capture_opts_default()
        hk = hooks if isinstance(hooks, str) else ",".join(hooks)
        self._keep = [hk.encode()]
        o.hooks = self._keep[0]
        try:
            o.positions = _POS[positions]
            o.mode = _MODE[mode]
            o.dtype = _DTYPE[dtype]
        except KeyError as e:
            raise ArgumentError(f"bad capture option value {e.args[0]!r}") from None
        o.batch, o.max_tokens, o.compress = int(batch), int(max_tokens), int(compress)
        o.add_bos = -1 if add_bos is None else int(bool(add_bos))
        self._label_names = list(labels or {})
        if self._label_names:
            names = (ctypes.c_char_p * len(self._label_names))(
                *[n.encode() for n in self._label_names])
            is_int = (ctypes.c_int32 * len(self._label_names))(
                *[int(labels[n] in (int, "int", "int32")) for n in self._label_names])
            self._keep += [names, is_int]
            o.n_labels = len(self._label_names)
            o.label_names = names
            o.label_is_int = is_int
        self._progress_exc = None
        if progress is not None:
            def cb(p, user):
                try:
                    q = p.contents
                    return int(bool(progress(q.docs_done, q.docs_total, q.rows_done, q.seconds)))
                except BaseException as e:  # noqa: BLE001
                    self._progress_exc = e
                    return 1
            self._cb = _lib.CAPTURE_PROGRESS_FN(cb)
            o.progress = self._cb
        h = ctypes.c_void_p()
        with model._lock:
            mh = model._enter_call()
            rc = lib.strata_capture_open(mh, os.fsencode(path), ctypes.byref(o), ctypes.byref(h))
        self._h = h.value
        self.path = os.fsdecode(path)
        self._close_on_error(rc)
        model._dependents.add(self)

    def _model_closing(self, model):
        self.close()

    # The library's messages name the CLI's flags; from Python they name the keywords.
    _CLI_TO_PY = (("--overwrite", 'mode="overwrite"'), ("--resume", 'mode="resume"'),
                  ("--max-tokens", "max_tokens="), ("--positions", "positions="),
                  ("--dtype", "dtype="), ("--batch", "batch="), ("--hooks", "hooks="),
                  ("--no-bos", "add_bos=False"))

    def _errmsg(self) -> str:
        msg = super()._errmsg()
        for cli, py in self._CLI_TO_PY:
            msg = msg.replace(cli, py)
        return msg

    def _call(self, fn, *args):
        m = self._model
        with m._lock:
            h = self._handle()
            m._enter_call()
            m._running = True
            try:
                rc = fn(h, *args)
            finally:
                m._running = False
            pending, m._pending = m._pending, None
            if pending is not None:
                raise pending
            if self._progress_exc is not None:
                e, self._progress_exc = self._progress_exc, None
                raise e
            if rc != 0:
                raise error_for_status(rc, self._errmsg() or self._lib.errstr(rc))

    def add(self, doc, labels=None) -> None:
        """Adds one document: text (str) or token ids (used as given, no BOS added).

        labels: {name: value} (every row of the document),
        {name: [(start_char, end_char, value), ...]} spans over the text, or,
        for token ids, {name: [v0, v1, ...]} one value per id (NaN: no label).
        """
        if labels is None and not isinstance(doc, str):
            ids = as_i32(np.asarray(doc).reshape(-1), "document")
            self._call(self._lib.strata_capture_add_tokens, ids.ctypes.data, len(ids))
            return
        if labels is None:
            b = doc.encode("utf-8")
            self._call(self._lib.strata_capture_add_text, b, len(b))
            return
        d = _lib.CaptureDoc()
        keep = []
        if isinstance(doc, str):
            b = doc.encode("utf-8")
            keep.append(b)
            d.text, d.text_len = b, len(b)
        else:
            ids = as_i32(np.asarray(doc).reshape(-1), "document")
            keep.append(ids)
            d.tokens = ids.ctypes.data_as(ctypes.POINTER(ctypes.c_int32))
            d.n_tokens = len(ids)
        labs = (_lib.CaptureLabel * len(labels))()
        for i, (name, val) in enumerate(labels.items()):
            nb = name.encode()
            keep.append(nb)
            labs[i].name = nb
            if np.isscalar(val):
                labs[i].value = float(val)
            elif not isinstance(doc, str) and np.asarray(val).ndim == 1:
                pv = np.ascontiguousarray(np.asarray(val, np.float64))
                keep.append(pv)
                labs[i].values = pv.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
                labs[i].n_values = pv.shape[0]
            else:
                sp = np.ascontiguousarray(np.asarray(val, np.float64).reshape(-1, 3))
                keep.append(sp)
                labs[i].spans = sp.ctypes.data_as(ctypes.POINTER(ctypes.c_double))
                labs[i].n_spans = sp.shape[0]
        d.labels = labs
        d.n_labels = len(labels)
        self._call(self._lib.strata_capture_add_doc, ctypes.byref(d))

    def add_file(self, path, kind: str = "text") -> None:
        """Adds every document of a file: kind "text" (one per line), "jsonl"
        ({"text": ..., label fields}) or "tokens" (ids per line)."""
        try:
            k = _INPUT[kind]
        except KeyError:
            raise ArgumentError(f"kind must be one of {list(_INPUT)}") from None
        self._call(self._lib.strata_capture_add_file, k, os.fsencode(path))

    def set_total(self, n_docs: int) -> None:
        self._lib.strata_capture_set_total(self._handle(), int(n_docs))

    @property
    def n_done(self) -> int:
        """Documents already in the file when the session opened (resume)."""
        return int(self._lib.strata_capture_n_done(self._handle()))

    def stats(self) -> CaptureStats:
        s = _lib.CaptureStats()
        self._lib.strata_capture_get_stats(self._handle(), ctypes.byref(s))
        return CaptureStats(s)

    def finish(self) -> CaptureStats:
        """Runs the last batch, marks the file complete, closes the session."""
        self._call(self._lib.strata_capture_finish)
        st = self.stats()
        self.close()
        return st

    def __exit__(self, exc_type, *exc):
        if exc_type is None and self._h:
            self.finish()
        else:
            self.close()   # the file keeps every committed batch, complete = false
