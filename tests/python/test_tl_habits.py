"""TransformerLens habits in the Python bindings, each checked against a
computation from first principles in numpy (never against strata's own output
of the same quantity):

* model(x, return_type="loss"/"both", loss_per_token=True): -log softmax by hand
  from the logits of model.run, float64 log-sum-exp; tolerance 1e-9 (same
  logits, only the reduction differs);
* left padding: the same numbers as one sequence at a time, moved to the end;
* weight views W_E, W_pos, W_U, W_Q/W_K/W_V/W_O[l], b_*, W_in/W_gate/W_out:
  equal (exactly) to the tensors written into random GPT-2 (Conv1D), NeoX
  (fused qkv) and Llama (GQA, gated MLP) checkpoints, rearranged by hand; and
  the forward pass agrees with them: hook_q = ln1.hook_normalized @ W_Q + b_Q,
  hook_attn_out = sum_h z_h @ W_O[h] + b_O, logits = ln_final.hook_normalized @
  W_U (+ b_U), to 2e-4 relative (float32 products of width <= 192);
* cache analysis: decompose_resid sums to the residual stream,
  accumulated_resid stacks resid_pre, stack_head_results equals z @ W_O per head
  (and + remainder sums to the stream), apply_ln_to_stack of the full stream is
  ln_final's normalised input, and logit_attrs over decompose_resid plus the
  bias terms equals the model's logits;
* act_name / hook names: "did you mean" on typos;
* generate: greedy default unchanged, seeded sampling reproducible, top-k /
  top-p restrict to the sets computed in numpy, stop tokens stop;
* short reprs.
"""
import math
import os
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

import strata  # noqa: E402
from test_engine_parity import make_gpt2, make_llama, make_neox, write_model  # noqa: E402

SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K", "hf")
need_stories = pytest.mark.skipif(not os.path.isdir(STORIES), reason=f"{STORIES} not present")


def lse(z):
    z = np.asarray(z, np.float64)
    m = z.max(-1, keepdims=True)
    return (np.log(np.exp(z - m).sum(-1, keepdims=True)) + m)[..., 0]


@pytest.fixture(scope="module")
def stories():
    if not os.path.isdir(STORIES):
        pytest.skip("stories260K absent")
    m = strata.Model.open(STORIES)
    yield m
    m.close()


# ------------------------------------------------------------------ loss, tokens, padding

@need_stories
def test_loss_is_minus_log_softmax_by_hand(stories):
    m = stories
    texts = ["Once upon a time there was a little dog.", "Lily saw a bird", "Hi"]
    logits = m.run(texts)                                  # [B, T, V] right-padded
    toks, lens = m.tokens_and_lengths(texts)
    per_hand = np.full((3, toks.shape[1] - 1), np.nan)
    for b in range(3):
        n = lens[b] - 1
        z = logits[b, :n]
        per_hand[b, :n] = lse(z) - z[np.arange(n), toks[b, 1:n + 1]].astype(np.float64)
    per = m(texts, return_type="loss", loss_per_token=True)
    np.testing.assert_allclose(per, per_hand, rtol=0, atol=1e-9)
    assert np.isnan(per[2, lens[2] - 1:]).all()
    mean = m(texts, return_type="loss")
    assert mean == pytest.approx(np.nanmean(per_hand), abs=1e-9)
    lg, loss = m(texts, return_type="both")
    np.testing.assert_array_equal(lg, logits)
    assert loss == pytest.approx(mean, abs=1e-12)
    assert m(texts, return_type=None) is None
    with pytest.raises(strata.ArgumentError, match="return_type"):
        m(texts, return_type="logit")


@need_stories
def test_tokens_strings_and_left_padding(stories):
    m = stories
    texts = ["Once upon a time", "The cat"]
    right = m.to_tokens(texts)
    left = m.to_tokens(texts, padding_side="left")
    _, lens = m.tokens_and_lengths(texts)
    for b in range(2):
        n = lens[b]
        np.testing.assert_array_equal(left[b, -n:], right[b, :n])
        assert (left[b, :-n] == 0).all() if n < left.shape[1] else True
    assert m.to_tokens("Once upon a time").shape == (1, lens[0])
    strs = m.to_str_tokens("Once upon a time")
    assert len(strs) == lens[0] and "".join(s.strip() for s in strs[1:]) == "Onceuponatime"
    assert m.to_string(right[0]) == m.decode(right[0])
    assert m.to_string(right[:1]) == [m.decode(right[0])]
    # left-padded run == each sequence alone, at the end of its row
    lg = m.run(texts, padding_side="left")
    for b, t in enumerate(texts):
        alone = m.run(t)[0]
        n = alone.shape[0]
        np.testing.assert_allclose(lg[b, -n:], alone, atol=1e-4)
        assert (lg[b, :-n] == 0).all()
    # a left-padded 2-D array with lengths is the same batch
    lg2 = m.run(left, lengths=lens, padding_side="left")
    np.testing.assert_array_equal(lg2, lg)
    # per-token loss, left layout
    per_r = m(texts, return_type="loss", loss_per_token=True)
    per_l = m(texts, return_type="loss", loss_per_token=True, padding_side="left")
    for b in range(2):
        k = lens[b] - 1
        np.testing.assert_allclose(per_l[b, -k:], per_r[b, :k], atol=1e-9)
    # cache: both position axes of patterns move
    _, c = m.run_with_cache(texts, names=["blocks.0.attn.hook_pattern", "blocks.1.hook_resid_post"],
                            padding_side="left")
    _, c1 = m.run_with_cache(texts[1], names=["blocks.0.attn.hook_pattern",
                                              "blocks.1.hook_resid_post"])
    n = lens[1]
    np.testing.assert_allclose(c["pattern", 0][1, :, -n:, -n:], c1["pattern", 0][0], atol=1e-5)
    np.testing.assert_allclose(c.valid(("resid_post", 1), 1), c1["resid_post", 1][0], atol=1e-4)
    assert c.padding_side == "left" and (c.tokens[1, -n:] == left[1, -n:]).all()
    with pytest.raises(strata.ArgumentError, match="lengths"):
        m.run(left, padding_side="left")


# ------------------------------------------------------------------ weights

def open_random(tmp_path, arch, seed=0):
    rng = np.random.default_rng(seed)
    make = {"gpt2": make_gpt2, "neox": make_neox, "llama": make_llama}[arch]
    cfg, t = make(rng)
    d = tmp_path / arch
    write_model(str(d), cfg, t)
    return strata.Model.open(str(d)), cfg, t


def by_hand(arch, cfg, t, l):
    """TransformerLens layouts rearranged from the checkpoint tensors."""
    if arch == "gpt2":
        d, H = cfg["n_embd"], cfg["n_head"]
        dh = d // H
        p = f"h.{l}."
        W = t[p + "attn.c_attn.weight"]                     # [d, 3d] Conv1D (in, out)
        b = t[p + "attn.c_attn.bias"]
        Wq, Wk, Wv = (W[:, i * d:(i + 1) * d].reshape(d, H, dh).transpose(1, 0, 2) for i in range(3))
        bq, bk, bv = (b[i * d:(i + 1) * d].reshape(H, dh) for i in range(3))
        Wo = t[p + "attn.c_proj.weight"].reshape(H, dh, d)  # [in = H*dh, out = d]
        return dict(W_Q=Wq, W_K=Wk, W_V=Wv, b_Q=bq, b_K=bk, b_V=bv, W_O=Wo,
                    b_O=t[p + "attn.c_proj.bias"], W_in=t[p + "mlp.c_fc.weight"],
                    W_out=t[p + "mlp.c_proj.weight"], b_in=t[p + "mlp.c_fc.bias"],
                    b_out=t[p + "mlp.c_proj.bias"])
    if arch == "neox":
        d, H = cfg["hidden_size"], cfg["num_attention_heads"]
        dh = d // H
        p = f"gpt_neox.layers.{l}."
        W = t[p + "attention.query_key_value.weight"].reshape(H, 3, dh, d)  # rows h: q|k|v
        b = t[p + "attention.query_key_value.bias"].reshape(H, 3, dh)
        Wo = t[p + "attention.dense.weight"]                # [d, H*dh] (out, in)
        return dict(W_Q=W[:, 0].transpose(0, 2, 1), W_K=W[:, 1].transpose(0, 2, 1),
                    W_V=W[:, 2].transpose(0, 2, 1), b_Q=b[:, 0], b_K=b[:, 1], b_V=b[:, 2],
                    W_O=Wo.T.reshape(H, dh, d), b_O=t[p + "attention.dense.bias"],
                    W_in=t[p + "mlp.dense_h_to_4h.weight"].T, W_out=t[p + "mlp.dense_4h_to_h.weight"].T)
    d, H, Hkv = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_key_value_heads"]
    dh = d // H
    p = f"model.layers.{l}."
    q, k, v = (t[p + f"self_attn.{x}_proj.weight"] for x in "qkv")   # [heads*dh, d]
    return dict(W_Q=q.reshape(H, dh, d).transpose(0, 2, 1), W_K=k.reshape(Hkv, dh, d).transpose(0, 2, 1),
                W_V=v.reshape(Hkv, dh, d).transpose(0, 2, 1),
                W_O=t[p + "self_attn.o_proj.weight"].T.reshape(H, dh, d),
                W_in=t[p + "mlp.up_proj.weight"].T, W_gate=t[p + "mlp.gate_proj.weight"].T,
                W_out=t[p + "mlp.down_proj.weight"].T)


@pytest.mark.parametrize("arch", ["gpt2", "neox", "llama"])
def test_weight_views_equal_the_checkpoint(tmp_path, arch):
    m, cfg, t = open_random(tmp_path, arch)
    emb = {"gpt2": "wte.weight", "neox": "gpt_neox.embed_in.weight",
           "llama": "model.embed_tokens.weight"}[arch]
    np.testing.assert_array_equal(m.W_E, t[emb])
    unemb = {"gpt2": "wte.weight", "neox": "embed_out.weight", "llama": "lm_head.weight"}[arch]
    np.testing.assert_array_equal(m.W_U, t[unemb].T)
    if arch == "gpt2":
        np.testing.assert_array_equal(m.W_pos, t["wpe.weight"])
    else:
        with pytest.raises(strata.NotFoundError):
            m.W_pos
    for l in range(m.config.n_layers):
        want = by_hand(arch, cfg, t, l)
        for name, arr in want.items():
            got = getattr(m, name)[l]
            assert got.shape == arr.shape, (name, got.shape, arr.shape)
            np.testing.assert_array_equal(got, arr, err_msg=f"{arch} {name}[{l}]")
            assert not got.flags.writeable
    assert np.asarray(m.W_Q).shape == (m.config.n_layers,) + m.W_Q[0].shape
    with pytest.raises(strata.NotFoundError, match="did you mean 'blocks.0.attn.W_Q'"):
        m.weight("blocks.0.attn.W_q")
    # views outlive close(): the memory is freed when the last view goes
    W = m.W_Q[0]
    expect = W.copy()
    m.close()
    np.testing.assert_array_equal(W, expect)
    del W


@pytest.mark.parametrize("arch", ["gpt2", "neox", "llama"])
def test_forward_agrees_with_the_weights(tmp_path, arch):
    m, cfg, t = open_random(tmp_path, arch, seed=1)
    ids = [[1, 5, 9, 2, 7, 3], [4, 4, 8]]
    logits, c = m.run_with_cache(ids)
    H, dh = m.config.n_heads, m.config.d_head
    for l in range(m.config.n_layers):
        x = c["ln1_normalized", l].astype(np.float64)                 # [B, T, d]
        q = np.einsum("btd,hde->bthe", x, m.W_Q[l])
        if m.config.has_bias:
            q = q + m.b_Q[l]
        np.testing.assert_allclose(c["q", l], q, rtol=2e-4, atol=2e-4 * np.abs(q).max())
        out = np.einsum("bthe,hed->btd", c["z", l].astype(np.float64), m.W_O[l])
        if m.config.has_bias:
            out = out + m.b_O[l]
        np.testing.assert_allclose(c["attn_out", l], out, rtol=2e-4, atol=2e-4 * np.abs(out).max())
        pre = c["ln2_normalized", l].astype(np.float64) @ (m.W_gate[l] if m.config.gated_mlp
                                                            else m.W_in[l])
        if m.config.has_bias:
            pre = pre + m.b_in[l]
        np.testing.assert_allclose(c["pre", l], pre, rtol=2e-4, atol=2e-4 * np.abs(pre).max())
    z = c["ln_final"].astype(np.float64) @ m.W_U
    np.testing.assert_allclose(logits, z, rtol=2e-4, atol=2e-4 * np.abs(z).max())


# ------------------------------------------------------------------ cache analysis

@pytest.mark.parametrize("arch", ["gpt2", "llama"])
def test_cache_decompositions_from_first_principles(tmp_path, arch):
    m, cfg, t = open_random(tmp_path, arch, seed=2)
    ids = [[1, 5, 9, 2, 7, 3, 11], [4, 4, 8, 6, 2, 2, 9]]
    logits, c = m.run_with_cache(ids)
    L = m.config.n_layers
    final = c["resid_post", L - 1].astype(np.float64)
    tol = 1e-4 * np.abs(final).max()
    # decompose_resid sums to the stream, at every layer
    comps, labels = c.decompose_resid(return_labels=True)
    np.testing.assert_allclose(comps.sum(0), final, atol=tol)
    assert labels[0] == "embed" and labels[-1] == f"{L - 1}_mlp_out"
    assert ("pos_embed" in labels) == (arch == "gpt2")
    for l in range(L):
        np.testing.assert_allclose(c.decompose_resid(l).sum(0), c["resid_pre", l], atol=tol)
        np.testing.assert_allclose(c.decompose_resid(l, mlp_input=True).sum(0), c["resid_mid", l],
                                   atol=tol)
    # accumulated_resid: the resid_pre of every layer, then the final stream
    acc, lab = c.accumulated_resid(return_labels=True, incl_mid=True)
    assert lab[:3] == ["0_pre", "0_mid", "1_pre"] and lab[-1] == "final_post"
    np.testing.assert_array_equal(acc[0], c["resid_pre", 0])
    np.testing.assert_array_equal(acc[-1], c["resid_post", L - 1])
    assert c.accumulated_resid(1).shape[0] == 2
    # stack_head_results: z_h @ W_O[h] per head, by hand; with the remainder it sums to the stream
    heads, hl = c.stack_head_results(return_labels=True)
    H = m.config.n_heads
    assert heads.shape[0] == L * H and hl[H + 1] == "L1H1"
    z = c["z", 1].astype(np.float64)
    np.testing.assert_allclose(heads[H + 1], z[:, :, 1] @ m.W_O[1][1], atol=1e-5)
    withrem = c.stack_head_results(incl_remainder=True)
    np.testing.assert_allclose(withrem.sum(0), final, atol=tol)
    # apply_ln_to_stack: the full stream maps to the final norm's normalised input
    x = final
    mu = x.mean(-1, keepdims=True) if m.config.norm == "layernorm" else 0
    scale = np.sqrt(((x - mu) ** 2).mean(-1, keepdims=True) + m.config.norm_eps)
    normed = c.apply_ln_to_stack(final[None])[0]
    np.testing.assert_allclose(normed, (x - mu) / scale, rtol=1e-4, atol=1e-4)
    g = m.weight("ln_final.w")
    bias = m.weight("ln_final.b") if "ln_final.b" in m.weight_names() else 0
    np.testing.assert_allclose(normed * g + bias, c["ln_final"], rtol=2e-4, atol=2e-4)
    # logit_attrs: attributions over the decomposition + bias terms = the logit
    tok = 7
    attrs = c.logit_attrs(comps, tok)                                   # [C, B, T]
    const = (bias @ m.W_U[:, tok] if np.ndim(bias) else 0.0) + \
        (m.b_U[tok] if "b_U" in m.weight_names() else 0.0)
    np.testing.assert_allclose(attrs.sum(0) + const, logits[..., tok],
                               rtol=1e-3, atol=1e-3 * np.abs(logits[..., tok]).max())
    # by hand for one component: (c - mean(c)) / scale . (g * W_U[:, tok])
    comp = comps[1]
    cm = comp - (comp.mean(-1, keepdims=True) if m.config.norm == "layernorm" else 0)
    np.testing.assert_allclose(attrs[1], ((cm / scale) * (g * m.W_U[:, tok])).sum(-1), atol=1e-5)
    # per-batch tokens and a difference of tokens, at the last position
    last = comps[:, :, -1]                                              # [C, B, d]
    diff = c.logit_attrs(last, np.array([3, 5]), incorrect_tokens=np.array([4, 4]), pos_slice=-1)
    want = attrs_for(c, last, [3, 5], m, scale[:, -1]) - attrs_for(c, last, [4, 4], m, scale[:, -1])
    np.testing.assert_allclose(diff, want, atol=1e-5)


def attrs_for(c, last, toks, m, scale):
    g = m.weight("ln_final.w")
    x = last - (last.mean(-1, keepdims=True) if m.config.norm == "layernorm" else 0)
    x = x / scale
    return np.stack([(x[:, b] * (g * m.W_U[:, toks[b]])).sum(-1) for b in range(len(toks))], 1)


# ------------------------------------------------------------------ names

def test_act_name_did_you_mean():
    assert strata.get_act_name("resid_post", 3) == "blocks.3.hook_resid_post"
    assert strata.act_name("scale", 2, "ln1") == "blocks.2.ln1.hook_scale"
    assert strata.act_name("normalized", 0, "ln2") == "blocks.0.ln2.hook_normalized"
    assert strata.act_name("ln1_scale", 1) == "blocks.1.ln1.hook_scale"
    assert strata.act_name("scale", None, "ln_final") == "ln_final.hook_scale"
    with pytest.raises(strata.ArgumentError, match="did you mean 'resid_post'"):
        strata.act_name("resid_pots", 2)
    with pytest.raises(strata.ArgumentError, match="did you mean 'ln1'"):
        strata.act_name("scale", 2, "ln_1")


@need_stories
def test_hook_and_cache_typos_suggest(stories):
    with pytest.raises(strata.NotFoundError, match="did you mean 'blocks.0.hook_resid_post'"):
        stories.run("Hi", hooks={"blocks.0.hook_resid_pots": lambda a, c: None})
    with pytest.raises(strata.NotFoundError, match=r"did you mean 'blocks.\*.attn.hook_z\[2\]'"):
        stories.run("Hi", hooks={"blocks.*.attn.hook_zz[2]": lambda a, c: None})
    _, c = stories.run_with_cache("Hi", names="blocks.*.hook_resid_post")
    with pytest.raises(KeyError, match="did you mean 'blocks.1.hook_resid_post'"):
        c["blocks.1.hook_resid_pst"]


# ------------------------------------------------------------------ generate

@need_stories
def test_generate_sampling(stories):
    m = stories
    ids = m.tokenize("Once upon a time")
    greedy = m.generate(ids, 12)
    np.testing.assert_array_equal(m.generate(ids, 12, stop_tokens=[]), greedy)
    a = m.generate(ids, 12, temperature=1.0, seed=7)
    np.testing.assert_array_equal(m.generate(ids, 12, temperature=1.0, seed=7), a)
    assert any((m.generate(ids, 12, temperature=1.0, seed=s) != a).any() for s in range(8, 12))
    # top-k / top-p: every sampled token lies in the set numpy computes from the logits
    # of its own prefix (teacher-forced run of the sampled sequence)
    for kw in (dict(top_k=3), dict(top_p=0.6), dict(top_k=5, top_p=0.9)):
        for seed in range(4):
            out = m.generate(ids, 10, temperature=1.3, seed=seed, **kw)
            seq = np.concatenate([ids, out])
            z = m.run(seq)[0, len(ids) - 1: len(seq) - 1].astype(np.float64) / 1.3
            for i, tok in enumerate(out):
                p = np.exp(z[i] - lse(z[i]))
                order = np.lexsort((np.arange(len(p)), -p))
                keep = len(p) if "top_k" not in kw else kw["top_k"]
                if "top_p" in kw:
                    cum = np.cumsum(p[order][:keep])
                    keep = min(keep, int(np.searchsorted(cum, kw["top_p"]) + 1))
                assert tok in order[:keep], (kw, seed, i, tok, order[:keep])
    # temperature -> 0+ with top_k=1 is greedy
    np.testing.assert_array_equal(m.generate(ids, 12, temperature=0.5, top_k=1, seed=3), greedy)
    # stop tokens: stops right after the first stop id, which is returned
    stop = int(greedy[4])
    got = m.generate(ids, 12, stop_tokens=[stop])
    first = int(np.argmax(greedy == stop))
    np.testing.assert_array_equal(got, greedy[: first + 1])
    with pytest.raises(strata.ArgumentError, match="temperature > 0"):
        m.generate(ids, 3, top_k=4)
    with pytest.raises(strata.ArgumentError, match="top_p"):
        m.generate(ids, 3, temperature=1, top_p=1.5)


@need_stories
def test_sampling_frequencies_follow_softmax(stories):
    """First sampled token over 600 seeds vs softmax(z / T): chi-square on the
    tokens with expected count >= 5 (the rest pooled), p > 1e-4."""
    m = stories
    ids = m.tokenize("Once upon a time there was")
    T = 1.5
    z = m.run(ids)[0, -1].astype(np.float64) / T
    p = np.exp(z - lse(z))
    n = 600
    counts = np.bincount([int(m.generate(ids, 1, temperature=T, seed=s)[0]) for s in range(n)],
                         minlength=len(p))
    big = p * n >= 5
    obs = np.append(counts[big], counts[~big].sum())
    exp = np.append(p[big] * n, p[~big].sum() * n)
    keep = exp > 0
    chi2 = (((obs - exp) ** 2)[keep] / exp[keep]).sum()
    dof = keep.sum() - 1
    # Wilson-Hilferty normal approximation of the chi-square upper tail
    zval = ((chi2 / dof) ** (1 / 3) - (1 - 2 / (9 * dof))) / math.sqrt(2 / (9 * dof))
    assert zval < 3.7, (chi2, dof)                                      # p > ~1e-4


# ------------------------------------------------------------------ reprs

@need_stories
def test_short_reprs(stories):
    X = np.random.default_rng(0).normal(size=(200, 4)).astype(np.float32)
    y = (X[:, 0] > 0).astype(np.float32)
    r = strata.probe.evaluate(X, y)
    assert len(repr(r)) < 160 and "test_acc=" in repr(r) and "majority=" in repr(r), repr(r)
    assert len(repr(stories.W_Q)) < 80
    res = strata.logit_lens(stories, "Once upon a time") if hasattr(strata, "logit_lens") else None
    if res is not None:
        assert len(repr(res)) < 100, repr(res)
    for obj in (stories, stories.config, stories.tokenizer):
        assert len(repr(obj)) < 400, repr(obj)
