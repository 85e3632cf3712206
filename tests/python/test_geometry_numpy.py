"""PCA and CKA of strata against numpy / scikit-learn on the same data.

Two routes, both compared with a direct numpy/sklearn computation:
  * the C API through ctypes (env STRATA_LIBRARY = path of libstrata.so):
    strata_pca_fit / strata_cka_fit on in-memory float32 arrays;
  * the CLI (env STRATA_CLI = path of the `strata` binary) on an activation
    file written here with h5py in the docs/FORMAT.md layout: `strata pca
    --json`, `strata pca --write-projections`, `strata cka --json`.

Tolerances (the data are float32; both sides compute in float64 from the same
float32 values, so the differences are float64 round-off of two algorithms):
  eigenvalues / explained variance / explained variance ratio: rel 1e-9
  components: |cos| >= 1 - 1e-9 (equal up to sign), and strata's sign
  convention (largest-|entry| positive) checked exactly
  participation ratio: rel 1e-9;  CKA: abs 1e-10
  randomized solver (rsvd) against sklearn's full PCA on a decaying spectrum:
  eigenvalues rel 1e-6, components |cos| >= 1 - 1e-6, PR (Hutch++ estimate) rel 2e-2
Missing packages or binaries skip visibly (pytest -rs shows why).
"""
import ctypes
import glob
import json
import os
import subprocess

import pytest

np = pytest.importorskip("numpy")

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _find(env, pattern):
    p = os.environ.get(env)
    if p:
        return p if os.path.exists(p) else None
    hits = sorted(glob.glob(os.path.join(ROOT, pattern)), key=os.path.getmtime)
    return hits[-1] if hits else None


LIB_PATH = _find("STRATA_LIBRARY", "build*/libstrata.so")
CLI_PATH = _find("STRATA_CLI", "build*/strata")


# ---------------------------------------------------------------- data

def decaying(n, d, seed, scale=3.0, ratio=0.8, offset=40.0):
    """Rows z * s_j rotated by a random orthogonal matrix, s_j = scale * ratio^j, plus an offset."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, d)))
    z = rng.standard_normal((n, d)) * (scale * ratio ** np.arange(d))
    return (z @ q.T + offset + 0.1 * np.arange(d)).astype(np.float32)


def numpy_pca(x):
    """Eigen-decomposition of np.cov (ddof 1) in float64: descending (lam, vecs as rows)."""
    c = np.cov(x.astype(np.float64), rowvar=False)
    lam, v = np.linalg.eigh(c)
    return lam[::-1], v[:, ::-1].T, c


def numpy_cka(x, y):
    """Linear CKA, Kornblith et al. 2019: ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)."""
    xc = x.astype(np.float64) - x.astype(np.float64).mean(0)
    yc = y.astype(np.float64) - y.astype(np.float64).mean(0)
    return (np.linalg.norm(xc.T @ yc) ** 2
            / (np.linalg.norm(xc.T @ xc) * np.linalg.norm(yc.T @ yc)))


def participation_ratio(lam):
    return lam.sum() ** 2 / (lam ** 2).sum()


def check_sign_convention(comps):
    for v in comps:
        i = int(np.argmax(np.abs(v)))
        assert v[i] > 0, "largest-|entry| of each component must be positive"


# ---------------------------------------------------------------- ctypes

class PcaParams(ctypes.Structure):
    _fields_ = [("k", ctypes.c_int32), ("center", ctypes.c_int32), ("whiten", ctypes.c_int32),
                ("solver", ctypes.c_int32), ("rsvd_oversample", ctypes.c_int32),
                ("rsvd_iters", ctypes.c_int32), ("rsvd_probes", ctypes.c_int32),
                ("reserved", ctypes.c_int32), ("seed", ctypes.c_uint64),
                ("block_rows", ctypes.c_int64), ("reserved_end", ctypes.c_int64 * 4)]


class CkaParams(ctypes.Structure):
    _fields_ = [("block_rows", ctypes.c_int64), ("max_bytes", ctypes.c_int64),
                ("reserved", ctypes.c_int64 * 4)]


@pytest.fixture(scope="module")
def lib():
    if not LIB_PATH:
        pytest.skip("libstrata.so not found (set STRATA_LIBRARY)")
    L = ctypes.CDLL(LIB_PATH)
    P = ctypes.c_void_p
    dp = ctypes.POINTER(ctypes.c_double)
    L.strata_pca_default_params.argtypes = [ctypes.POINTER(PcaParams)]
    L.strata_pca_fit.argtypes = [P, ctypes.c_int64, ctypes.c_int64, ctypes.POINTER(PcaParams),
                                 ctypes.POINTER(P)]
    L.strata_pca_fit.restype = ctypes.c_int
    for name, rt in [("strata_pca_errmsg", ctypes.c_char_p), ("strata_pca_components", dp),
                     ("strata_pca_explained_variance", dp),
                     ("strata_pca_explained_variance_ratio", dp), ("strata_pca_mean", dp),
                     ("strata_pca_participation_ratio", ctypes.c_double),
                     ("strata_pca_total_variance", ctypes.c_double)]:
        getattr(L, name).argtypes = [P]
        getattr(L, name).restype = rt
    L.strata_pca_transform.argtypes = [P, P, ctypes.c_int64, P]
    L.strata_pca_free.argtypes = [P]
    L.strata_cka_default_params.argtypes = [ctypes.POINTER(CkaParams)]
    L.strata_cka_fit.argtypes = [ctypes.c_int, ctypes.POINTER(P), ctypes.POINTER(ctypes.c_int64),
                                 ctypes.c_int64, ctypes.POINTER(CkaParams), ctypes.POINTER(P)]
    L.strata_cka_matrix.argtypes = [P]
    L.strata_cka_matrix.restype = dp
    L.strata_cka_errmsg.argtypes = [P]
    L.strata_cka_errmsg.restype = ctypes.c_char_p
    L.strata_cka_free.argtypes = [P]
    return L


def c_pca(L, x, k, solver=1, seed=0, block_rows=0, whiten=0):
    x = np.ascontiguousarray(x, dtype=np.float32)
    n, d = x.shape
    p = PcaParams()
    L.strata_pca_default_params(ctypes.byref(p))
    p.k, p.solver, p.seed, p.block_rows, p.whiten = k, solver, seed, block_rows, whiten
    h = ctypes.c_void_p()
    rc = L.strata_pca_fit(x.ctypes.data, n, d, ctypes.byref(p), ctypes.byref(h))
    try:
        assert rc == 0, L.strata_pca_errmsg(h).decode()
        out = {
            "lam": np.ctypeslib.as_array(L.strata_pca_explained_variance(h), (k,)).copy(),
            "evr": np.ctypeslib.as_array(L.strata_pca_explained_variance_ratio(h), (k,)).copy(),
            "comps": np.ctypeslib.as_array(L.strata_pca_components(h), (k, d)).copy(),
            "mean": np.ctypeslib.as_array(L.strata_pca_mean(h), (d,)).copy(),
            "pr": L.strata_pca_participation_ratio(h),
            "total": L.strata_pca_total_variance(h),
        }
        proj = np.zeros((n, k), np.float32)
        assert L.strata_pca_transform(h, x.ctypes.data, n, proj.ctypes.data) == 0
        out["proj"] = proj
        return out
    finally:
        L.strata_pca_free(h)


def c_cka(L, xs, max_bytes=0, block_rows=0):
    xs = [np.ascontiguousarray(x, dtype=np.float32) for x in xs]
    m, n = len(xs), xs[0].shape[0]
    ptrs = (ctypes.c_void_p * m)(*[x.ctypes.data for x in xs])
    dims = (ctypes.c_int64 * m)(*[x.shape[1] for x in xs])
    p = CkaParams()
    L.strata_cka_default_params(ctypes.byref(p))
    if max_bytes:
        p.max_bytes = max_bytes
    p.block_rows = block_rows
    h = ctypes.c_void_p()
    rc = L.strata_cka_fit(m, ptrs, dims, n, ctypes.byref(p), ctypes.byref(h))
    try:
        assert rc == 0, L.strata_cka_errmsg(h).decode()
        return np.ctypeslib.as_array(L.strata_cka_matrix(h), (m, m)).copy()
    finally:
        L.strata_cka_free(h)


def test_pca_matches_sklearn_full(lib):
    skd = pytest.importorskip("sklearn.decomposition")
    x = decaying(4000, 48, seed=1)
    k = 10
    got = c_pca(lib, x, k, block_rows=333)
    sk = skd.PCA(n_components=k, svd_solver="full").fit(x.astype(np.float64))
    np.testing.assert_allclose(got["lam"], sk.explained_variance_, rtol=1e-9)
    np.testing.assert_allclose(got["evr"], sk.explained_variance_ratio_, rtol=1e-9)
    np.testing.assert_allclose(got["mean"], sk.mean_, rtol=1e-12, atol=1e-9)
    cos = np.abs(np.sum(got["comps"] * sk.components_, axis=1))
    assert np.all(cos >= 1 - 1e-9), cos
    check_sign_convention(got["comps"])
    lam, _, c = numpy_pca(x)
    np.testing.assert_allclose(got["pr"], participation_ratio(lam), rtol=1e-9)
    np.testing.assert_allclose(got["total"], np.trace(c), rtol=1e-12)
    # projections equal sklearn's transform up to each component's sign
    sgn = np.sign(np.sum(got["comps"] * sk.components_, axis=1))
    ref = sk.transform(x.astype(np.float64)) * sgn
    np.testing.assert_allclose(got["proj"], ref, rtol=0, atol=1e-4 * np.abs(ref).max())


def test_pca_whiten_matches_sklearn(lib):
    skd = pytest.importorskip("sklearn.decomposition")
    x = decaying(2000, 20, seed=4)
    got = c_pca(lib, x, 5, whiten=1)
    sk = skd.PCA(n_components=5, svd_solver="full", whiten=True).fit(x.astype(np.float64))
    sgn = np.sign(np.sum(got["comps"] * sk.components_, axis=1))
    ref = sk.transform(x.astype(np.float64)) * sgn
    np.testing.assert_allclose(got["proj"], ref, atol=1e-4)
    np.testing.assert_allclose(got["proj"].astype(np.float64).std(0, ddof=1), 1.0, rtol=1e-5)


def test_pca_rsvd_matches_numpy_eigh(lib):
    x = decaying(5000, 300, seed=2, ratio=0.75)
    k = 8
    got = c_pca(lib, x, k, solver=2, seed=7)
    lam, vecs, _ = numpy_pca(x)
    np.testing.assert_allclose(got["lam"], lam[:k], rtol=1e-6)
    cos = np.abs(np.sum(got["comps"] * vecs[:k], axis=1))
    assert np.all(cos >= 1 - 1e-6), cos
    check_sign_convention(got["comps"])
    np.testing.assert_allclose(got["pr"], participation_ratio(lam), rtol=2e-2)


def test_cka_matches_numpy(lib):
    rng = np.random.default_rng(3)
    n = 3000
    z = rng.standard_normal((n, 6))
    xs = [(z @ rng.standard_normal((6, d)) + s * rng.standard_normal((n, d)) + 10).astype(np.float32)
          for d, s in [(32, 0.5), (16, 1.0), (40, 3.0), (8, 0.1)]]
    got = c_cka(lib, xs, block_rows=512)
    want = np.array([[numpy_cka(a, b) for b in xs] for a in xs])
    np.testing.assert_allclose(got, want, atol=1e-10)
    # tiled under a small memory budget: same numbers
    tiled = c_cka(lib, xs, max_bytes=8 * 48 * 48)
    np.testing.assert_allclose(tiled, got, atol=1e-12)
    # invariance to an orthogonal transform and isotropic scaling
    q, _ = np.linalg.qr(rng.standard_normal((32, 32)))
    rot = (2.5 * (xs[0].astype(np.float64) @ q)).astype(np.float32)
    got2 = c_cka(lib, [rot] + xs[1:])
    np.testing.assert_allclose(got2[0, 1:], got[0, 1:], atol=1e-6)


# ---------------------------------------------------------------- CLI

def write_acts(path, hooks, dtype=np.float32):
    h5py = pytest.importorskip("h5py")
    n = next(iter(hooks.values())).shape[0]
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["complete"] = True
        f.attrs["hooks"] = list(hooks)
        f.attrs["n_rows"] = np.int64(n)
        f["tokens"] = np.zeros(n, np.int32)
        f["rows"] = np.arange(n, dtype=np.int64)
        for name, x in hooks.items():
            f.create_dataset("acts/" + name, data=x.astype(dtype), chunks=(min(n, 1024), x.shape[1]))


def run_cli(*args):
    if not CLI_PATH:
        pytest.skip("strata binary not found (set STRATA_CLI)")
    r = subprocess.run([CLI_PATH, *args], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, f"strata {' '.join(args)} -> {r.returncode}\n{r.stderr}"
    return r.stdout


@pytest.fixture(scope="module")
def acts_file(tmp_path_factory):
    pytest.importorskip("h5py")
    rng = np.random.default_rng(5)
    n = 6000
    base = decaying(n, 64, seed=6)
    hooks = {"hook_embed": base}
    for l in range(3):
        mix = np.eye(64) + 0.3 * rng.standard_normal((64, 64))
        hooks[f"blocks.{l}.hook_resid_post"] = (hooks[list(hooks)[-1]].astype(np.float64) @ mix
                                                + rng.standard_normal((n, 64))).astype(np.float32)
    path = str(tmp_path_factory.mktemp("geom") / "acts.h5")
    write_acts(path, hooks)
    return path, hooks


def test_cli_pca_json(acts_file):
    skd = pytest.importorskip("sklearn.decomposition")
    path, hooks = acts_file
    out = json.loads(run_cli("pca", path, "-k", "6", "--json"))
    assert [r["hook"] for r in out["results"]] == list(hooks)
    for r in out["results"]:
        x = hooks[r["hook"]].astype(np.float64)
        sk = skd.PCA(n_components=6, svd_solver="full").fit(x)
        assert r["n_rows"] == x.shape[0] and len(r["explained_variance_ratio"]) == 6
        np.testing.assert_allclose(r["explained_variance_ratio"], sk.explained_variance_ratio_, rtol=1e-9)
        np.testing.assert_allclose(r["explained_variance"], sk.explained_variance_, rtol=1e-9)
        lam, _, _ = numpy_pca(hooks[r["hook"]])
        np.testing.assert_allclose(r["participation_ratio"], participation_ratio(lam), rtol=1e-9)


def test_cli_pca_write_projections(acts_file, tmp_path):
    h5py = pytest.importorskip("h5py")
    skd = pytest.importorskip("sklearn.decomposition")
    src, hooks = acts_file
    path = str(tmp_path / "copy.h5")
    write_acts(path, hooks)
    run_cli("pca", path, "--hooks", "blocks.1.*", "-k", "4", "--write-projections", "--quiet")
    with h5py.File(path, "r") as f:
        g = f["pca/blocks.1.hook_resid_post"]
        comps, proj = g["components"][()], g["projections"][()]
        assert proj.shape == (6000, 4) and comps.shape == (4, 64)
        assert g.attrs["source"] == "/acts/blocks.1.hook_resid_post"
        assert "pca/blocks.0.hook_resid_post" not in f
    x = hooks["blocks.1.hook_resid_post"].astype(np.float64)
    sk = skd.PCA(n_components=4, svd_solver="full").fit(x)
    sgn = np.sign(np.sum(comps * sk.components_, axis=1))
    assert np.all(np.abs(np.sum(comps * sk.components_, axis=1)) >= 1 - 1e-9)
    check_sign_convention(comps)
    ref = sk.transform(x) * sgn
    np.testing.assert_allclose(proj, ref, atol=1e-4 * np.abs(ref).max())


def test_cli_cka_json(acts_file):
    path, hooks = acts_file
    out = json.loads(run_cli("cka", path, "--json"))
    assert out["hooks"] == list(hooks)
    xs = [hooks[h] for h in out["hooks"]]
    want = np.array([[numpy_cka(a, b) for b in xs] for a in xs])
    np.testing.assert_allclose(np.array(out["cka"]), want, atol=1e-10)
    small = json.loads(run_cli("cka", path, "--json", "--mem-limit", "100K", "--hooks", "blocks.*"))
    np.testing.assert_allclose(np.array(small["cka"]), want[1:, 1:], atol=1e-10)


def test_cli_rejects_nan(tmp_path):
    pytest.importorskip("h5py")
    if not CLI_PATH:
        pytest.skip("strata binary not found (set STRATA_CLI)")
    x = decaying(100, 8, seed=9)
    x[17, 3] = np.nan
    path = str(tmp_path / "nan.h5")
    write_acts(path, {"hook_embed": x})
    r = subprocess.run([CLI_PATH, "pca", path, "-k", "2"], capture_output=True, text=True)
    assert r.returncode == 1
    assert "row 17, column 3" in r.stderr and "hook_embed" in r.stderr, r.stderr
