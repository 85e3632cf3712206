"""Analysis wrappers of the Python bindings: probes and PCA against
scikit-learn on the same arrays, CKA against its formula in numpy, capture
files round-trip, attention statistics and the logit lens against numpy on
run_with_cache activations.  Skipped (visibly) without STRATA_LIBRARY, and
per module when the library lacks it."""

import os

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB or not os.path.exists(LIB):
    pytest.skip("STRATA_LIBRARY is not set or missing (the ctest `pytest` entry sets it)",
                allow_module_level=True)

import strata  # noqa: E402

SHARED = os.environ.get("STRATA_SHARED_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
HF = os.path.join(SHARED, "models", "stories260K", "hf")
REF_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
           401, 396, 267, 337]


def need(*names):
    lib = strata.library()
    missing = [n for n in names if getattr(lib, n, None) is None]
    if missing:
        pytest.skip(f"this libstrata lacks {missing}")


@pytest.fixture(scope="module")
def model():
    if not os.path.isdir(HF):
        pytest.skip(f"stories260K not found under {HF}")
    m = strata.Model.open(HF, n_threads=1)
    yield m
    m.close()


@pytest.fixture(scope="module")
def acts(model):
    """Residual-stream rows of layer 2 for a few hundred positions, with token ids."""
    rng = np.random.default_rng(0)
    docs = [[1] + rng.integers(3, 512, 40).tolist() for _ in range(12)]
    _, cache = model.run_with_cache(docs, names=["blocks.2.hook_resid_post"])
    X = np.concatenate([cache.valid(("resid_post", 2), b) for b in range(len(docs))])
    tok = np.concatenate([np.asarray(d) for d in docs]).astype(np.int32)
    return X.astype(np.float32), tok


# ------------------------------------------------------------------ probes

def sk():
    return pytest.importorskip("sklearn.linear_model")


def test_logistic_binary_equals_sklearn(acts):
    need("strata_probe_fit")
    lm = sk()
    X, tok = acts
    y = (tok % 2).astype(np.float32)
    p = strata.probe.fit(X, y, kind="logistic", C=0.5, standardize=False, tol=1e-8,
                         max_iter=5000)
    ref = lm.LogisticRegression(C=0.5, solver="lbfgs", tol=1e-10, max_iter=10000).fit(X, y)
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(p.coef_, ref.coef_, atol=2e-3 * scale)
    np.testing.assert_allclose(p.intercept_, ref.intercept_, atol=2e-3 * max(1, scale))
    np.testing.assert_allclose(p.predict_proba(X), ref.predict_proba(X), atol=2e-3)
    assert np.mean(p.predict(X) == ref.predict(X)) > 0.99
    np.testing.assert_array_equal(p.classes_, [0.0, 1.0])
    assert p.decision_function(X).shape == (len(X),)
    d = p.direction()
    np.testing.assert_allclose(np.linalg.norm(d), 1, atol=1e-5)


def test_logistic_multinomial_equals_sklearn(acts):
    need("strata_probe_fit")
    lm = sk()
    X, tok = acts
    y = (tok % 3).astype(np.float32)
    p = strata.probe.fit(X, y, C=1.0, standardize=False, tol=1e-8, max_iter=5000)
    ref = lm.LogisticRegression(C=1.0, solver="lbfgs", tol=1e-10, max_iter=10000).fit(X, y)
    assert p.coef_.shape == (3, X.shape[1])
    scale = np.abs(ref.coef_).max()
    np.testing.assert_allclose(p.coef_, ref.coef_, atol=2e-3 * scale)
    np.testing.assert_allclose(p.predict_proba(X), ref.predict_proba(X), atol=2e-3)


def test_ridge_equals_sklearn(acts):
    need("strata_probe_fit")
    lm = sk()
    X, tok = acts
    y = (tok / 512.0).astype(np.float32)
    p = strata.probe.fit(X, y, kind="ridge", alpha=3.0, standardize=False)
    ref = lm.Ridge(alpha=3.0).fit(X.astype(np.float64), y.astype(np.float64))
    np.testing.assert_allclose(p.coef_[0], ref.coef_, atol=1e-4 * max(1, np.abs(ref.coef_).max()))
    np.testing.assert_allclose(p.predict(X), ref.predict(X), atol=1e-4)


def test_probe_evaluate_save_load_and_errors(acts, tmp_path):
    need("strata_probe_evaluate", "strata_probe_save")
    X, tok = acts
    y = (tok % 2).astype(np.float32)
    rep = strata.probe.evaluate(X, y, cv_folds=3, control=True, tokens=tok, seed=1)
    assert rep.kind == "logistic" and rep.n_classes == 2 and rep.n_train + rep.n_test == len(X)
    assert 0 <= rep.test_accuracy <= 1 and rep.cv_folds == 3 and not np.isnan(rep.control_score)
    p = strata.probe.fit(X, y, standardize=False)
    path = tmp_path / "probes.h5"
    p.save(path, "parity")
    q = strata.probe.load(path, "parity")
    np.testing.assert_array_equal(p.coef_, q.coef_)
    with pytest.raises(strata.ArgumentError, match="rows"):
        strata.probe.fit(X, y[:-1])
    with pytest.raises(strata.ArgumentError, match="features"):
        p.predict(X[:, :10])
    with pytest.raises(strata.StrataError):
        strata.probe.fit(X, np.full(len(X), np.nan, np.float32))
    p.close()
    with pytest.raises(strata.ClosedError):
        p.predict(X)


# ------------------------------------------------------------------ PCA / CKA

def test_pca_equals_sklearn(acts):
    need("strata_pca_fit")
    dec = pytest.importorskip("sklearn.decomposition")
    X, _ = acts
    p = strata.pca.fit(X, k=8)
    ref = dec.PCA(n_components=8, svd_solver="full").fit(X.astype(np.float64))
    comps = ref.components_.copy()
    for i in range(len(comps)):        # strata's sign convention: largest |entry| positive
        j = np.argmax(np.abs(comps[i]))
        comps[i] *= np.sign(comps[i, j])
    np.testing.assert_allclose(p.explained_variance_, ref.explained_variance_, rtol=1e-4)
    np.testing.assert_allclose(p.explained_variance_ratio_, ref.explained_variance_ratio_,
                               rtol=1e-4)
    np.testing.assert_allclose(p.components_, comps, atol=1e-3)
    np.testing.assert_allclose(p.mean_, X.astype(np.float64).mean(0), atol=1e-5)
    lam = np.linalg.eigvalsh(np.cov(X.astype(np.float64), rowvar=False))
    np.testing.assert_allclose(p.participation_ratio, lam.sum() ** 2 / (lam ** 2).sum(),
                               rtol=1e-4)
    np.testing.assert_allclose(strata.pca.participation_ratio(lam), p.participation_ratio,
                               rtol=1e-4)
    Z = p.transform(X)
    np.testing.assert_allclose(Z, (X - p.mean_) @ p.components_.T, atol=1e-3)
    with pytest.raises(strata.ArgumentError):
        strata.pca.fit(X, k=X.shape[1] + 1)


def test_cka_equals_numpy(acts):
    need("strata_cka_fit")
    X, _ = acts
    rng = np.random.default_rng(1)
    Q, _ = np.linalg.qr(rng.standard_normal((64, 64)))
    Y = (X @ Q * 3).astype(np.float32)       # orthogonal + isotropic scaling: CKA 1
    Z = rng.standard_normal((len(X), 10)).astype(np.float32)

    def lin_cka(a, b):
        a = a - a.mean(0)
        b = b - b.mean(0)
        return np.linalg.norm(a.T @ b) ** 2 / (np.linalg.norm(a.T @ a) * np.linalg.norm(b.T @ b))

    M = strata.pca.cka([X, Y, Z])
    assert M.shape == (3, 3)
    np.testing.assert_allclose(np.diag(M), 1, atol=1e-6)
    np.testing.assert_allclose(M[0, 1], 1, atol=1e-4)
    np.testing.assert_allclose(M[0, 2], lin_cka(X.astype(np.float64), Z.astype(np.float64)),
                               atol=1e-5)


# ------------------------------------------------------------------ capture

def test_capture_round_trip(model, tmp_path):
    need("strata_capture_open", "strata_acts_open")
    path = tmp_path / "acts.h5"
    docs = [REF_IDS[:9], REF_IDS[:15]]
    with strata.Capture(model, path, hooks=["blocks.1.hook_resid_post", "blocks.0.attn.hook_z"],
                        labels={"pos": float}) as cap:
        for d in docs:
            cap.add(d, labels={"pos": 2.5})
    with strata.Activations.open(path) as a:
        assert a.complete and a.n_rows == 24
        assert set(a.hooks) == {"blocks.1.hook_resid_post", "blocks.0.attn.hook_z"}
        X = a.read("blocks.1.hook_resid_post")
        Z = a.read("blocks.0.attn.hook_z")
        assert X.shape == (24, 64) and Z.shape == (24, 8, 8)
        np.testing.assert_array_equal(a.row_tokens(), np.concatenate(docs))
        np.testing.assert_array_equal(a.label("pos"), np.full(24, 2.5, np.float32))
    _, cache = model.run_with_cache(docs, names=["blocks.1.hook_resid_post",
                                                 "blocks.0.attn.hook_z"])
    want = np.concatenate([cache.valid(("resid_post", 1), b) for b in range(2)])
    np.testing.assert_allclose(X, want, atol=1e-4)
    with pytest.raises(strata.ExistsError):
        strata.Capture(model, path, hooks="blocks.1.hook_resid_post")
    with pytest.raises(strata.NotFoundError):
        strata.Capture(model, tmp_path / "b.h5", hooks="blocks.77.hook_resid_post")
    with pytest.raises(strata.StrataError):
        strata.Activations.open(tmp_path / "missing.h5")


def test_capture_with_python_hook_and_exception(model, tmp_path):
    need("strata_capture_open")
    with model.hooks({"blocks.0.hook_resid_post": lambda x, c: x.fill(0)}):
        with strata.Capture(model, tmp_path / "z.h5", hooks="blocks.0.hook_resid_post") as cap:
            cap.add(REF_IDS[:5])
    with strata.Activations.open(tmp_path / "z.h5") as a:
        assert np.all(a.read("blocks.0.hook_resid_post") == 0)
    with pytest.raises(RuntimeError, match="hook failed"):
        with model.hooks({"hook_embed": lambda x, c: (_ for _ in ()).throw(
                RuntimeError("hook failed"))}):
            with strata.Capture(model, tmp_path / "e.h5", hooks="hook_embed", batch=1) as cap:
                cap.add(REF_IDS[:5])
    model.run([1, 2])      # the model is fine


# ------------------------------------------------------------------ attention, lens

def test_attention_stats_equal_numpy(model):
    need("strata_attn_stats_new")
    rng = np.random.default_rng(3)
    docs = [[1] + rng.integers(3, 512, 12).tolist() for _ in range(4)]
    with strata.AttentionStats(model) as st:
        st.run(docs)
        res = st.results()
        sc = st.scores()
    c = model.config
    assert len(res) == c.n_layers * c.n_heads and res[0].layer == 0 and res[0].head == 0
    _, cache = model.run_with_cache(docs, names=["blocks.*.attn.hook_pattern"])
    P = cache.stack("pattern")                     # [L, B, H, T, T]
    prev = np.mean([[P[:, b, :, q, q - 1] for q in range(1, 13)] for b in range(4)],
                   axis=(0, 1))                    # [L, H]
    np.testing.assert_allclose(sc["prev_token"], prev, atol=1e-5)
    first = np.mean([[P[:, b, :, q, 0] for q in range(1, 13)] for b in range(4)], axis=(0, 1))
    np.testing.assert_allclose(sc["first_token"], first, atol=1e-5)
    assert np.all(np.isnan(sc["induction"]))
    # induction documents
    docs = strata.attn.induction_docs(model, n_docs=6, R=8, seed=1)
    assert docs.shape == (6, 17) and np.all(docs[:, 0] == c.bos_token_id)
    np.testing.assert_array_equal(docs[:, 1:9], docs[:, 9:])
    with strata.AttentionStats(model) as st:
        st.set_induction(8)
        st.run(docs)
        ind = st.scores()["induction"]
    _, cache = model.run_with_cache(docs, names=["blocks.*.attn.hook_pattern"])
    P = cache.stack("pattern")
    want = np.mean([[P[:, b, :, q, q - 8 + 1] for q in range(9, 17)] for b in range(6)],
                   axis=(0, 1))
    np.testing.assert_allclose(ind, want, atol=1e-5)
    # runs of the model no longer feed a closed accumulator; the model is fine
    model.run([1, 2, 3])


def test_logit_lens_last_point_is_the_model(model):
    need("strata_lens_new")
    r = strata.logit_lens(model, REF_IDS, top_k=3)
    c = model.config
    assert len(r.points) == c.n_layers + 1 and r.points[0] == "blocks.0.hook_resid_pre"
    assert r.top_ids.shape == (c.n_layers + 1, 21, 3)
    logits = model.run(REF_IDS)[0]
    np.testing.assert_allclose(r.model_logits, logits, atol=1e-4)
    np.testing.assert_array_equal(r.top_ids[-1, :, 0], logits.argmax(-1))
    rank = (logits[:-1] > logits[np.arange(20), REF_IDS[1:]][:, None]).sum(-1)
    np.testing.assert_array_equal(r.next_rank[-1, :-1], rank)
    assert r.next_rank[-1, -1] == -1
    with strata.Lens(model) as lens:
        lens.run(REF_IDS[:6])
        np.testing.assert_allclose(lens.logits(c.n_layers), logits[:6], atol=1e-4)


def test_file_based_analyses_and_dependents(tmp_path):
    """probe.sweep, pca.fit_acts and cka_acts on a capture file agree with the
    in-memory calls on the same rows; closing a model closes what hangs on it."""
    need("strata_capture_open", "strata_probe_sweep", "strata_pca_fit_acts",
         "strata_cka_fit_acts", "strata_attn_stats_new")
    if not os.path.isdir(HF):
        pytest.skip(f"stories260K not found under {HF}")
    m = strata.Model.open(HF, n_threads=1)
    rng = np.random.default_rng(0)
    path = tmp_path / "sw.h5"
    with strata.Capture(m, path, hooks="blocks.*.hook_resid_post", labels={"odd": int}) as cap:
        for i in range(16):
            cap.add([1] + rng.integers(3, 512, 20).tolist(), labels={"odd": float(i % 2)})
    with strata.Activations.open(path) as a:
        seen = []
        reps = strata.probe.sweep(a, "odd", glob="blocks.[01].*",
                                  progress=lambda i, n, h: seen.append((i, n, h)))
        assert [r.hook for r in reps] == ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
        assert seen[0] == (0, 2, "blocks.0.hook_resid_post")
        X = a.read("blocks.2.hook_resid_post")
        p1 = strata.pca.fit_acts(a, "blocks.2.hook_resid_post", k=4)
        p2 = strata.pca.fit(X, k=4)
        np.testing.assert_allclose(p1.explained_variance_, p2.explained_variance_, rtol=1e-6)
        M = strata.pca.cka_acts(a, a.hooks[:3])
        np.testing.assert_allclose(M, strata.pca.cka([a.read(h) for h in a.hooks[:3]]),
                                   atol=1e-9)
    st = strata.AttentionStats(m)
    lens = strata.Lens(m)
    m.close()
    with pytest.raises(strata.ClosedError):
        st.results()
    with pytest.raises(strata.ClosedError):
        lens.run([1, 2])


def test_reader_accepts_ascii_string_attributes(tmp_path):
    """A capture file whose string attributes were rewritten as ASCII (as h5py
    does for some str values, or another tool might) still opens."""
    h5py = pytest.importorskip("h5py")
    if not os.path.isdir(HF):
        pytest.skip(f"stories260K not found under {HF}")
    m = strata.Model.open(HF, n_threads=1)
    path = tmp_path / "ascii.h5"
    with strata.Capture(m, path, hooks="blocks.0.hook_resid_post") as cap:
        cap.add([1, 5, 9, 13])
    m.close()
    with h5py.File(path, "r+") as f:
        for k, v in list(f.attrs.items()):
            if isinstance(v, str) and v.isascii():
                del f.attrs[k]
                f.attrs.create(k, v, dtype=h5py.string_dtype("ascii"))
        assert f.attrs.get_id("format").get_type().get_cset() == h5py.h5t.CSET_ASCII
    with strata.Activations.open(path) as a:
        assert a.n_rows == 4
        assert a.read("blocks.0.hook_resid_post").shape == (4, 64)
