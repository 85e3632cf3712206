"""CKA across two capture files of the same tokens (`strata cka A.h5 B.h5`,
strata.pca.cka_files), against linear CKA computed from scratch in numpy on the
arrays h5py reads (float64, centred; ||Xc^T Yc||_F^2 / (||Xc^T Xc||_F ||Yc^T Yc||_F)).
Tolerance 1e-6: both sides are float64 sums of the same float32 data.

Two real models (stories260K, 5 layers; aidreams260K, 4 layers) read the same
token ids (a --tokens-file both vocabularies of 512 accept), so the check is
what the command is for: the same inputs through two models.  A capture of
other tokens is refused with the first differing row named."""
import json
import os
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")
import strata  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
M1 = os.path.join(SHARED, "models", "stories260K", "hf")
M2 = os.path.join(SHARED, "models", "aidreams260K", "hf")
CLI = os.environ.get("STRATA_CLI")
pytestmark = pytest.mark.skipif(not (CLI and os.path.exists(CLI) and os.path.isdir(M1)
                                     and os.path.isdir(M2)), reason="needs STRATA_CLI and models")


def numpy_cka(X, Y):
    X = X.reshape(len(X), -1).astype(np.float64)
    Y = Y.reshape(len(Y), -1).astype(np.float64)
    X = X - X.mean(0)
    Y = Y - Y.mean(0)
    return np.linalg.norm(X.T @ Y) ** 2 / (np.linalg.norm(X.T @ X) * np.linalg.norm(Y.T @ Y))


def capture(model, ids_file, out):
    subprocess.run([CLI, "capture", model, "--hooks", "hook_embed,blocks.*.hook_resid_post",
                    "--tokens-file", str(ids_file), "--out", str(out), "--quiet"], check=True)


def test_two_models_same_tokens(tmp_path):
    rng = np.random.default_rng(3)
    docs = [[1] + rng.integers(3, 512, rng.integers(20, 60)).tolist() for _ in range(25)]
    ids = tmp_path / "ids.txt"
    ids.write_text("\n".join(" ".join(map(str, d)) for d in docs) + "\n")
    a, b = tmp_path / "a.h5", tmp_path / "b.h5"
    capture(M1, ids, a)
    capture(M2, ids, b)
    out = subprocess.run([CLI, "cka", str(a), str(b), "--json"], capture_output=True, text=True,
                         check=True)
    r = json.loads(out.stdout)
    with h5py.File(a) as fa, h5py.File(b) as fb:
        assert r["hooks_a"] == list(fa.attrs["hooks"]) and r["hooks_b"] == list(fb.attrs["hooks"])
        K = np.array(r["cka"])
        assert K.shape == (6, 5)
        for i, ha in enumerate(r["hooks_a"]):
            for j, hb in enumerate(r["hooks_b"]):
                want = numpy_cka(fa["acts/" + ha][:], fb["acts/" + hb][:])
                assert K[i, j] == pytest.approx(want, abs=1e-6), (ha, hb)
        same = r["same_hook"]
        assert set(same) == {"hook_embed"} | {f"blocks.{l}.hook_resid_post" for l in range(4)}
        assert same["blocks.2.hook_resid_post"] == pytest.approx(K[3, 3], abs=1e-12)
    # the table names the files and lists the same hooks
    t = subprocess.run([CLI, "cka", str(a), str(b), "--hooks", "blocks.*.hook_resid_post"],
                       capture_output=True, text=True, check=True).stdout
    assert "same hook in A and B" in t and "tokens checked equal" in t
    # Python: the same numbers, hooks_b defaulting to hooks_a
    A, B = strata.Activations.open(str(a)), strata.Activations.open(str(b))
    hooks = ["hook_embed", "blocks.1.hook_resid_post"]
    P = strata.pca.cka_files(A, B, hooks)
    with h5py.File(a) as fa, h5py.File(b) as fb:
        for i, hi in enumerate(hooks):
            for j, hj in enumerate(hooks):
                assert P[i, j] == pytest.approx(numpy_cka(fa["acts/" + hi][:], fb["acts/" + hj][:]),
                                                abs=1e-6)
    # a file compared with itself: 1 on the same hook
    S = strata.pca.cka_files(A, A, hooks)
    np.testing.assert_allclose(np.diag(S), 1, atol=1e-9)
    # other tokens: refused, naming the row
    docs[3][5] = (docs[3][5] + 1) % 509 + 3
    ids2 = tmp_path / "ids2.txt"
    ids2.write_text("\n".join(" ".join(map(str, d)) for d in docs) + "\n")
    c = tmp_path / "c.h5"
    capture(M2, ids2, c)
    row = sum(len(d) for d in docs[:3]) + 5
    p = subprocess.run([CLI, "cka", str(a), str(c)], capture_output=True, text=True)
    assert p.returncode == 1 and f"row {row} is token" in p.stderr, p.stderr
    C = strata.Activations.open(str(c))
    with pytest.raises(strata.StateError, match=f"row {row}"):
        strata.pca.cka_files(A, C, hooks)
    for x in (A, B, C):
        x.close()
