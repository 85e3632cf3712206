"""Activation files whose ranks and shapes the format does not allow
(issue: reliability, defects 5, 6 and the "declared but never written" probe).

Before the checks:
- a label dataset of rank 2-4 made strata_acts_read_label read R*k values into
  an R-value buffer: `strata probe` overflowed the heap, Python
  Activations.label() segfaulted;
- a dataset of rank > 4 overflowed `hsize_t dims[4]` on `capture --resume`;
- a hook declaring 2678 rows x 2^28 columns that were never written was read as
  2.9 TB of fill values (a logistic probe ran for minutes).
Now each is a FORMAT error naming the file and dataset, exit 1, no crash.

The Python cases run in a child interpreter so that a crash is a failure of
this test, not of the pytest process.
"""
import os
import subprocess
import sys

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from probe_h5util import write_acts  # noqa: E402

CLI = os.environ.get("STRATA_CLI", "")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
BINDINGS = os.path.join(HERE, "..", "..", "bindings", "python")

need_cli = pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")


def cli(*args, timeout=60):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=timeout)


def py_child(code):
    env = dict(os.environ)
    env["PYTHONPATH"] = BINDINGS + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60, env=env)


def small_file(path, R=40, d=6):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(R, d)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    write_acts(path, {"h": X}, {"y": y})
    return R


def replace(path, name, data=None, shape=None, dtype=np.float32):
    with h5py.File(path, "a") as f:
        del f[name]
        if data is not None:
            f.create_dataset(name, data=data)
        else:
            f.create_dataset(name, shape=shape, dtype=dtype)


@need_cli
@pytest.mark.parametrize("extra", [(3,), (2, 2), (2, 2, 2)])
def test_label_of_rank_2_to_4_is_a_format_error(tmp_path, extra):
    p = str(tmp_path / "a.h5")
    R = small_file(p)
    replace(p, "labels/y", data=np.ones((R,) + extra, np.float32))
    r = cli("probe", p, "--label", "y", "--quiet")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "/labels/y is not a 1-D numeric dataset" in r.stderr, r.stderr
    c = py_child(f"""
import strata
try:
    a = strata.Activations.open({p!r})
    a.label("y")
    print("NO ERROR")
except strata.errors.FormatError as e:
    print("FormatError:", e)
""")
    assert c.returncode == 0, (c.returncode, c.stderr[-2000:])
    assert "FormatError:" in c.stdout and "/labels/y" in c.stdout, c.stdout


@need_cli
@pytest.mark.parametrize("name,shape", [
    ("acts/h", (40, 1, 1, 1, 6)),            # rank 5
    ("acts/h", (40, 1, 1, 1, 1, 1, 1, 1, 1, 6)),  # rank 10 (> the reader's old 8)
    ("labels/y", (40, 1, 1, 1, 1)),
    ("tokens", (40, 1, 1, 1, 1)),
    ("rows", (40, 2)),
])
def test_rank_beyond_the_format_is_refused_by_the_reader(tmp_path, name, shape):
    p = str(tmp_path / "a.h5")
    small_file(p)
    dt = np.int64 if name in ("tokens", "rows") else np.float32
    replace(p, name, data=np.zeros(shape, dt))
    for args in (["pca", p, "--quiet"], ["probe", p, "--label", "y", "--quiet"]):
        r = cli(*args)
        assert r.returncode == 1, (args, r.returncode, r.stderr)
        assert p in r.stderr and "/" + name in r.stderr, r.stderr
        assert ("rank outside 1..4" in r.stderr or "is not a 1-D numeric dataset" in r.stderr
                or "must be 1-D integer datasets" in r.stderr), r.stderr


@need_cli
def test_declared_but_never_written_rows_are_refused_up_front(tmp_path):
    p = str(tmp_path / "wide.h5")
    R, d = 2678, 1 << 28
    with h5py.File(p, "w") as f:
        f.attrs.update({"format": "strata-activations", "format_version": "1.0",
                        "model_name": "synthetic", "complete": True, "hooks": ["h"],
                        "labels": ["y"], "n_rows": np.int64(R), "n_tokens": np.int64(R),
                        "n_docs": np.int64(1)})
        f.create_dataset("tokens", data=np.arange(R, dtype=np.int32))
        f.create_dataset("rows", data=np.arange(R, dtype=np.int64))
        f.create_dataset("docs/offsets", data=np.array([0, R], np.int64))
        f.create_dataset("acts/h", shape=(R, d), dtype=np.float32, chunks=(1, 1 << 20))
        f.create_dataset("labels/y", data=(np.arange(R) % 2).astype(np.float32))
    assert os.path.getsize(p) < 1 << 20
    for args in (["probe", p, "--label", "y", "--quiet"], ["pca", p, "--quiet"],
                 ["cka", p, "--quiet"]):
        r = cli(*args, timeout=120)  # hang detector; the assertions catch the old 2.8 TB read
        assert r.returncode == 1, (args, r.returncode, r.stderr)
        assert "/acts/h declares 2678 rows" in r.stderr and "never written" in r.stderr, r.stderr


@pytest.fixture(scope="module")
def captured(tmp_path_factory):
    if not os.path.exists(CLI) or not os.path.isdir(MODEL):
        pytest.skip("needs STRATA_CLI and the stories260K model")
    d = tmp_path_factory.mktemp("cap")
    txt = d / "in.txt"
    txt.write_text("Once upon a time there was a cat.\nThe cat sat.\nA dog ran far away.\n")
    out = d / "acts.h5"
    r = cli("capture", MODEL, "--hooks", "blocks.0.hook_resid_post,blocks.1.attn.hook_pattern",
            "--text-file", str(txt), "--out", str(out), "--quiet", "--max-tokens", "8")
    assert r.returncode == 0, r.stderr
    return str(txt), str(out)


@pytest.mark.parametrize("name,rank", [
    ("acts/blocks.0.hook_resid_post", 5),
    ("acts/blocks.1.attn.hook_pattern", 7),
    ("tokens", 5),
    ("docs/offsets", 6),
    ("docs/text_offsets", 5),
])
def test_resume_refuses_ranks_beyond_the_format(tmp_path, captured, name, rank):
    txt, src = captured
    p = str(tmp_path / "acts.h5")
    with open(src, "rb") as f, open(p, "wb") as g:
        g.write(f.read())
    with h5py.File(p, "a") as f:
        old = f[name]
        n = old.shape[0]
        dt = old.dtype
        del f[name]
        f.create_dataset(name, shape=(n,) + (1,) * (rank - 1), maxshape=(None,) + (1,) * (rank - 1),
                         dtype=dt, chunks=True)
    r = cli("capture", MODEL, "--hooks", "blocks.0.hook_resid_post,blocks.1.attn.hook_pattern",
            "--text-file", txt, "--out", p, "--quiet", "--max-tokens", "8", "--resume")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "/" + name in r.stderr, r.stderr
    assert "has a rank outside 1..4" in r.stderr or "is not a 1-D dataset" in r.stderr, r.stderr
    with h5py.File(p, "r") as f:  # still a readable HDF5 file, the dataset untouched
        assert len(f[name].shape) == rank
