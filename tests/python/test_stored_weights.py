"""Weights kept in their stored type (issue 17, point 3): F16 / BF16 safetensors and
F16 / BF16 / Q8_0 GGUF matrices stay in the file's mapping and are converted tile by tile
inside each product; weights_f32 forces the float32 copy.

Both paths convert the same stored values exactly (F16/BF16 -> float32 is exact, Q8_0 is
f16(d) * q in float32 in both), so they differ only in the order sgemm sums: logits must agree
within 1e-5 * max(1, max|logit|) and every hook (q/k/v, z, per-head results through a column
block of a stored W_O, MLP, residual) within 2e-5 relative; measured differences are ~1e-7
relative.  The stored path must also match the numpy reference on the rounded weights, and
its weights must take about half (BF16/F16) or 34/128 (Q8_0) of the float32 copy's bytes.
"""
import os

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB or not os.path.exists(LIB):
    pytest.skip("STRATA_LIBRARY is not set (run through ctest)", allow_module_level=True)

import strata  # noqa: E402
import hf_models as hm  # noqa: E402


def compare_paths(path, seqs, ratio):
    with strata.Model.open(path) as s, strata.Model.open(path, weights_f32=True) as f:
        ls, cs = s.run_with_cache(seqs, lambda n: True)
        lf, cf = f.run_with_cache(seqs, lambda n: True)
        assert np.abs(ls - lf).max() <= 1e-5 * max(1.0, np.abs(lf).max())
        for name in cf:
            a, b = np.asarray(cs[name]), np.asarray(cf[name])
            fin = np.isfinite(b)
            assert np.array_equal(fin, np.isfinite(a)), name
            assert np.abs(a[fin] - b[fin]).max(initial=0) <= 2e-5 * max(1.0, np.abs(b[fin]).max(initial=0)), name
        ms, os_ = s.weight_memory
        mf, of = f.weight_memory
        assert s.n_params == f.n_params
        total_s, total_f = ms + os_, mf + of
        assert total_s <= ratio * total_f, (ms, os_, mf, of)
        return ls, (ms, os_), (mf, of)


@pytest.mark.parametrize("dtype", ["BF16", "F16"])
def test_safetensors_half_stored(tmp_path, dtype):
    rng = np.random.default_rng(50)
    cfg, t = hm.make_llama_family(rng, "qwen2", d=64, L=2, H=4, Hkv=2, V=97, n_ctx=64, F=128)
    W = hm.write_model(tmp_path / "m", cfg, t, float_dtype=dtype)
    seqs = [rng.integers(0, 97, 19).tolist(), rng.integers(0, 97, 6).tolist()]
    logits, (ms, os_), (mf, of) = compare_paths(tmp_path / "m", seqs, ratio=0.55)
    assert of > 0 and ms > 0.9 * (ms + os_)   # stored: almost everything in place
    for b, s in enumerate(seqs):
        want = hm.forward(cfg, W, s)["logits"]
        assert np.abs(logits[b, :len(s)] - want).max() <= hm.tol_for("logits", want)


@pytest.mark.parametrize("qtype,ratio", [("Q8_0", 0.3), ("BF16", 0.55), ("F16", 0.55)])
def test_gguf_stored(tmp_path, qtype, ratio):
    rng = np.random.default_rng(51)
    cfg, t = hm.make_llama_family(rng, "gemma", d=64, L=2, H=4, Hkv=1, V=96, n_ctx=64, F=128,
                                  head_dim=32, tied=True)
    W = hm.write_model(tmp_path / "hf", cfg, t)
    hm.llama_family_to_gguf(tmp_path / "m.gguf", cfg, W, qtype=qtype)
    seqs = [rng.integers(0, 96, 21).tolist(), rng.integers(0, 96, 4).tolist()]
    logits, _, _ = compare_paths(tmp_path / "m.gguf", seqs, ratio)
    # the reference on the values the file holds (matrices rounded / quantised as written)
    def held(a):
        a = np.asarray(a, np.float32)
        if a.ndim != 2:
            return a
        if qtype == "Q8_0":
            return hm.q8_0(a)[1] if a.shape[1] % 32 == 0 else a
        if qtype == "BF16":
            return hm.bf16_round(a)[1]
        return a.astype(np.float16).astype(np.float32)
    Wq = {k: held(v) for k, v in W.items()}
    assert any(np.any(Wq[k] != W[k]) for k in W)
    for b, sq in enumerate(seqs):
        want = hm.forward(cfg, Wq, sq)["logits"]
        assert np.abs(logits[b, :len(sq)] - want).max() <= hm.tol_for("logits", want)


def test_generation_and_lens_stored(tmp_path):
    rng = np.random.default_rng(52)
    cfg, t = hm.make_llama_family(rng, "llama", d=64, L=2, H=4, Hkv=2, V=80, n_ctx=64, F=96, tied=True)
    hm.write_model(tmp_path / "m", cfg, t, float_dtype="BF16")
    prompt = rng.integers(0, 80, 5).tolist()
    with strata.Model.open(tmp_path / "m") as s, strata.Model.open(tmp_path / "m", weights_f32=True) as f:
        assert list(s.generate(prompt, 8)) == list(f.generate(prompt, 8))
        with strata.Lens(s) as ls, strata.Lens(f) as lf:
            ls.run(prompt)
            lf.run(prompt)
            for p in range(3):
                a, b = ls.logits(p), lf.logits(p)
                assert np.abs(a - b).max() <= 1e-5 * max(1.0, np.abs(b).max())


def test_weight_views_need_f32(tmp_path):
    """A matrix kept in its stored type has no float32 view: a clear error, and the
    float32 copy gives the view (equal to the BF16 values)."""
    rng = np.random.default_rng(53)
    cfg, t = hm.make_llama_family(rng, "llama", d=32, L=1, H=2, Hkv=2, V=40, n_ctx=16, F=64)
    W = hm.write_model(tmp_path / "m", cfg, t, float_dtype="BF16")
    with strata.Model.open(tmp_path / "m") as s:
        with pytest.raises(strata.UnsupportedError, match="weights_f32"):
            s.weight("blocks.0.attn.W_Q")
        with pytest.raises(strata.UnsupportedError, match="weights_f32"):
            s.weight("W_E")
        np.testing.assert_array_equal(s.weight("blocks.0.ln1.w"), W["model.layers.0.input_layernorm.weight"])
    with strata.Model.open(tmp_path / "m", weights_f32=True) as f:
        np.testing.assert_array_equal(f.weight("W_E"), W["model.embed_tokens.weight"])
