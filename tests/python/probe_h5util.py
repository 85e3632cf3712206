"""Writes strata capture-format activation files with plain h5py (layout:
docs/FORMAT.md / DESIGN.md "HDF5 activation store"), for the probe tests
and benchmarks."""
import h5py
import numpy as np


def write_acts(path, acts, labels, tokens=None, chunk_rows=None, dtype=np.float32,
               row_offsets=None):
    """acts: {hook: array [R, d]} (or a callable (row0, n) -> block, with
    acts_shape given as ('hook', R, d) tuples); labels: {name: array [R]};
    tokens: int32 [R] token id of each row (row i is token i);
    row_offsets: int [D+1] document boundaries (default: one document)."""
    hooks = list(acts)
    R = None
    for h in hooks:
        R = acts[h].shape[0] if R is None else R
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["model_name"] = "synthetic"
        f.attrs["complete"] = True
        f.attrs["hooks"] = hooks
        f.attrs["n_rows"] = np.int64(R)
        f.attrs["n_tokens"] = np.int64(R)
        ro = np.array([0, R] if row_offsets is None else row_offsets, np.int64)
        f.attrs["n_docs"] = np.int64(len(ro) - 1)
        tok = np.arange(R, dtype=np.int32) if tokens is None else np.asarray(tokens, np.int32)
        f.create_dataset("tokens", data=tok)
        f.create_dataset("rows", data=np.arange(R, dtype=np.int64))
        f.create_dataset("docs/offsets", data=ro)
        f.create_dataset("docs/row_offsets", data=ro)
        for h in hooks:
            a = acts[h]
            d = a.shape[1]
            ch = chunk_rows or max(1, min(R, (1 << 20) // (4 * d)))
            f.create_dataset("acts/" + h, data=np.asarray(a, dtype), chunks=(ch, d))
        if labels:
            f.attrs["labels"] = list(labels)
        for k, v in labels.items():
            f.create_dataset("labels/" + k, data=np.asarray(v))
