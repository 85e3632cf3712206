"""GPT-Neo, Gemma, Gemma-2 and Qwen2 against the independent numpy forward of hf_models.py
(written from the Hugging Face modeling code), on small random models generated here:
logits and every hook point, right-padded batches (lengths 17, 9, 1), sequences longer than
the sliding / local windows.  Tolerances: hf_models.tol_for (2e-5 relative on activations,
1e-5 on patterns, max(1e-4, 1e-5 * max|logit|) on logits) -- float32 rounding measures
~1e-6 relative; a wrong mask, scale, norm offset or layout moves values by O(0.1..1), and
each test also checks that the feature it exercises changes the result by far more.
"""
import os

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB or not os.path.exists(LIB):
    pytest.skip("STRATA_LIBRARY is not set (run through ctest)", allow_module_level=True)

import strata  # noqa: E402
import hf_models as hm  # noqa: E402


def seqs_for(rng, V, lens=(17, 9, 1)):
    a = rng.integers(0, V, lens[0])
    a[10:14] = a[2:6]  # a repeat, so induction-like patterns appear
    return [a.tolist()] + [rng.integers(0, V, n).tolist() for n in lens[1:]]


def n_params(W):
    """Parameters: every float tensor but the causal-mask buffers (masked_bias)."""
    return int(sum(np.asarray(v).size for k, v in W.items() if not k.endswith(".masked_bias")))


def run_family(tmp_path, name, cfg, t, rng, float_dtype="F32", expect_hooks=()):
    W = hm.write_model(tmp_path / name, cfg, t, float_dtype)
    with strata.Model.open(tmp_path / name) as m:
        assert m.n_params == n_params(W), (m.n_params, n_params(W))
        names = m.hook_names()
        for h in expect_hooks:
            assert h in names, h
        seqs = seqs_for(rng, cfg["vocab_size"])
        err = hm.check_parity(m, cfg, W, seqs)
        # the fused attention path (no score/pattern hooks) gives the same logits
        plain = m.run(seqs)
        for b, s in enumerate(seqs):
            want = hm.forward(cfg, W, s)["logits"]
            assert np.abs(plain[b, :len(s)] - want).max() <= hm.tol_for("logits", want)
        assert np.abs(plain[0, :17]).max() > 2.0  # logits big enough for the tolerance to bite
        return m.config, W, seqs, plain, err


def test_gpt_neo_local_attention(tmp_path):
    rng = np.random.default_rng(40)
    cfg, t = hm.make_gpt_neo(rng, d=48, L=4, H=4, V=97, n_ctx=48, window=5)
    t.update(hm.gpt_neo_buffers(cfg))  # real checkpoints carry the BOOL masks
    c, W, seqs, plain, _ = run_family(tmp_path, "neo", cfg, t, rng)
    assert c.arch == "gpt_neo" and c.sliding_window == 5 and c.attn_scale == 1.0
    # the local window and the missing 1/sqrt(d) really matter
    assert np.abs(hm.forward(dict(cfg, attention_layers=["global"] * 4), W, seqs[0])["logits"]
                  - plain[0, :17]).max() > 0.5


def test_gpt_neo_tinystories_config(tmp_path):
    """The config.json shape of the TinyStories-1M..33M models (attention_types and
    attention_layers both present, intermediate_size null, window 256)."""
    rng = np.random.default_rng(41)
    cfg, t = hm.make_gpt_neo(rng, d=64, L=8, H=16, V=101, n_ctx=300, window=256)
    cfg.update(intermediate_size=None, attention_types=[[["global", "local"], 4]], bos_token_id=50256,
               eos_token_id=50256, architectures=["GPTNeoForCausalLM"], torch_dtype="float32")
    W = hm.write_model(tmp_path / "ts", cfg, t)
    ids = rng.integers(0, 101, 270).tolist()  # past the window
    with strata.Model.open(tmp_path / "ts") as m:
        assert (m.config.d_mlp, m.config.n_heads, m.config.d_head) == (256, 16, 4)
        got = m.run([ids])[0]
    want = hm.forward(cfg, W, ids)["logits"]
    assert np.abs(got - want).max() <= hm.tol_for("logits", want)
    # contradicting attention_layers / num_layers is an error naming the field
    hm.write_model(tmp_path / "bad", dict(cfg, attention_layers=["global"] * 3), t)
    with pytest.raises(strata.FormatError, match="attention_layers"):
        strata.Model.open(tmp_path / "bad")
    hm.write_model(tmp_path / "bad2", dict(cfg, attention_layers=["global", "sparse"] * 4), t)
    with pytest.raises(strata.StrataError, match="sparse"):
        strata.Model.open(tmp_path / "bad2")


def test_gemma2(tmp_path):
    rng = np.random.default_rng(42)
    # head_dim 16 with d 48 and 4 heads (q width 64 != d); query_pre_attn_scalar != head_dim;
    # soft caps small enough to bend the scores (|s| ~ 3) and logits
    cfg, t = hm.make_llama_family(rng, "gemma2", d=48, L=4, H=4, Hkv=2, V=83, n_ctx=64, F=96,
                                  head_dim=16, tied=True, sliding_window=4, query_pre_attn_scalar=24,
                                  attn_logit_softcapping=2.5, final_logit_softcapping=3.0)
    c, W, seqs, plain, _ = run_family(
        tmp_path, "g2", cfg, t, rng,
        expect_hooks=("blocks.0.ln1_post.hook_normalized", "blocks.3.ln2_post.hook_scale"))
    assert c.arch == "gemma2" and c.sliding_window == 4
    assert abs(c.attn_softcap - 2.5) < 1e-6 and abs(c.final_softcap - 3.0) < 1e-6
    assert np.abs(plain).max() <= 3.0  # final soft cap
    for change in (dict(sliding_window=64), dict(attn_logit_softcapping=None),
                   dict(query_pre_attn_scalar=16)):
        other = hm.forward(dict(cfg, **change), W, seqs[0])["logits"]
        assert np.abs(other - plain[0, :17]).max() > 0.05, change


def test_gemma2_layer_types_and_bf16(tmp_path):
    """layer_types (newer configs) chooses the windowed layers; BF16 weights."""
    rng = np.random.default_rng(43)
    cfg, t = hm.make_llama_family(rng, "gemma2", d=32, L=3, H=2, Hkv=1, V=61, n_ctx=32, F=64,
                                  head_dim=16, tied=True, sliding_window=3, query_pre_attn_scalar=16,
                                  attn_logit_softcapping=50.0, final_logit_softcapping=30.0,
                                  layer_types=["full_attention", "sliding_attention", "sliding_attention"])
    run_family(tmp_path, "g2t", cfg, t, rng, float_dtype="BF16")


def test_gemma(tmp_path):
    rng = np.random.default_rng(44)
    cfg, t = hm.make_llama_family(rng, "gemma", d=48, L=3, H=4, Hkv=1, V=79, n_ctx=32, F=96,
                                  head_dim=8, tied=True)
    c, W, seqs, plain, _ = run_family(tmp_path, "g1", cfg, t, rng)
    assert c.arch == "gemma" and c.sliding_window == 0


def test_qwen2(tmp_path):
    rng = np.random.default_rng(45)
    cfg, t = hm.make_llama_family(rng, "qwen2", d=48, L=3, H=4, Hkv=2, V=89, n_ctx=64, F=80,
                                  tied=False, use_sliding_window=False, sliding_window=4,
                                  max_window_layers=1)
    c, W, seqs, plain, _ = run_family(tmp_path, "q", cfg, t, rng)
    assert c.arch == "qwen2" and c.sliding_window == 0  # use_sliding_window false: no window
    # the q/k/v biases matter
    nob = {k: v for k, v in W.items() if not k.endswith("_proj.bias")}
    assert np.abs(hm.forward(cfg, nob, seqs[0])["logits"] - plain[0, :17]).max() > 0.1


def test_qwen2_tied_sliding_window(tmp_path):
    rng = np.random.default_rng(46)
    cfg, t = hm.make_llama_family(rng, "qwen2", d=32, L=3, H=4, Hkv=4, V=67, n_ctx=64, F=64,
                                  tied=True, use_sliding_window=True, sliding_window=4,
                                  max_window_layers=1)
    c, W, seqs, plain, _ = run_family(tmp_path, "qt", cfg, t, rng)
    assert c.sliding_window == 4
    assert np.abs(hm.forward(dict(cfg, use_sliding_window=False), W, seqs[0])["logits"]
                  - plain[0, :17]).max() > 0.1


@pytest.mark.parametrize("mt", ["qwen2", "gemma", "gemma2"])
def test_gguf_files(tmp_path, mt):
    """The same weights through llama.cpp's GGUF layout (hf_models.llama_family_to_gguf):
    same reference, same tolerance.  Gemma-2 GGUF files carry no query_pre_attn_scalar:
    llama.cpp scales by 1/sqrt(head_dim) (1/sqrt(d/H) for the 46-layer 27B), so the model
    here uses query_pre_attn_scalar = head_dim."""
    rng = np.random.default_rng(47)
    extra = dict(gemma2=dict(sliding_window=4, query_pre_attn_scalar=16, attn_logit_softcapping=2.5,
                             final_logit_softcapping=3.0)).get(mt, {})
    cfg, t = hm.make_llama_family(rng, mt, d=48, L=3, H=4, Hkv=2, V=73, n_ctx=64, F=80,
                                  head_dim=16 if mt != "qwen2" else None, tied=mt != "qwen2", **extra)
    W = hm.write_model(tmp_path / "hf", cfg, t)
    hm.llama_family_to_gguf(tmp_path / "m.gguf", cfg, W)
    seqs = seqs_for(rng, cfg["vocab_size"])
    with strata.Model.open(tmp_path / "m.gguf") as g, strata.Model.open(tmp_path / "hf") as h:
        assert g.format == "gguf" and g.config.arch == mt
        assert g.n_params == h.n_params
        hm.check_parity(g, cfg, W, seqs)


def test_logit_lens_gemma2(tmp_path):
    """The logit lens applies the model's own read-out: Gemma's (1 + w) final norm and the
    final soft cap; its last point equals the reference logits, each point equals the
    reference read-out of that residual stream."""
    rng = np.random.default_rng(48)
    cfg, t = hm.make_llama_family(rng, "gemma2", d=32, L=2, H=2, Hkv=1, V=53, n_ctx=32, F=64,
                                  head_dim=16, tied=True, sliding_window=4, query_pre_attn_scalar=16,
                                  attn_logit_softcapping=2.5, final_logit_softcapping=3.0)
    W = hm.write_model(tmp_path / "g2", cfg, t)
    ids = rng.integers(0, 53, 9).tolist()
    ref = hm.forward(cfg, W, ids)
    Wd = {k: np.asarray(v, np.float64) for k, v in W.items()}
    with strata.Model.open(tmp_path / "g2") as m, strata.Lens(m) as lens:
        lens.run(ids)
        for p, name in enumerate(["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post",
                                  "blocks.1.hook_resid_post"]):
            x = ref[name]
            nf = hm.rms_norm(x, Wd["model.norm.weight"], cfg["rms_norm_eps"], plus_one=True)
            want = 3.0 * np.tanh(nf @ Wd["model.embed_tokens.weight"].T / 3.0)
            got = lens.logits(p)
            assert np.abs(got - want).max() <= hm.tol_for("logits", want), name
        assert np.abs(lens.logits(2) - ref["logits"]).max() <= hm.tol_for("logits", ref["logits"])


@pytest.mark.skipif(not os.path.exists(os.environ.get("STRATA_CLI", "")), reason="STRATA_CLI not built")
def test_info_shows_attention_variations(tmp_path):
    import json
    import subprocess
    rng = np.random.default_rng(49)
    cfg, t = hm.make_llama_family(rng, "gemma2", d=32, L=2, H=2, Hkv=1, V=53, n_ctx=32, F=64,
                                  head_dim=16, tied=True, sliding_window=4, query_pre_attn_scalar=16,
                                  attn_logit_softcapping=2.5, final_logit_softcapping=3.0)
    hm.write_model(tmp_path / "g2", cfg, t, float_dtype="BF16")
    r = subprocess.run([os.environ["STRATA_CLI"], "info", "--json", str(tmp_path / "g2")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    d = json.loads(r.stdout)
    assert (d["arch"], d["sliding_window"], d["window_layers"]) == ("gemma2", 4, "even")
    assert (d["attn_scale"], d["attn_softcap"], d["final_softcap"]) == (0.25, 2.5, 3.0)
    assert d["weights_owned_bytes"] < d["weights_mapped_bytes"] < 0.6 * d["weights_f32_bytes"]
    names = [h["name"] for h in d["hooks"]]
    i = names.index("blocks.0.ln1_post.hook_normalized")
    assert names[i + 1] == "blocks.0.hook_attn_out"   # forward order
