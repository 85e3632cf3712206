"""Small random Hugging Face checkpoints and an independent float64 numpy forward for the
model families of issue 17: GPT-Neo, Llama / Mistral / Qwen2 / Gemma / Gemma-2.

Files are written with numpy only (no transformers here): config.json + model.safetensors
(u64 LE header length, JSON header, raw little-endian data), any safetensors dtype
(BOOL causal-mask buffers included).

The reference (`forward`) is written from the Hugging Face modeling code, not from strata:

  GPT-Neo (modeling_gpt_neo.py): x = wte[ids] + wpe[pos]; per block x += out_proj(attn(ln_1 x)),
      x += c_proj(gelu_new(c_fc(ln_2 x))); q/k/v_proj without bias, out_proj with bias, all
      nn.Linear [out, in]; scores = q.k^T with NO 1/sqrt(d) scaling; "local" layers
      (config.attention_layers, else attention_types expanded) keep only keys j with
      i - window_size < j <= i (bias ^ tril(bias, -window_size)); tied lm_head.
  Llama family (modeling_llama / mistral / qwen2 / gemma / gemma2.py): RMSNorm
      x / sqrt(mean(x^2) + eps) * w, Gemma's * (1 + w); Gemma scales the embedding by
      sqrt(hidden_size); rotate_half rotary over head_dim with rope_theta; repeat_kv GQA;
      MLP down(act(gate x) * up x), act silu (Llama, Mistral, Qwen2) or tanh-GELU (Gemma:
      hidden_activation gelu_pytorch_tanh); Qwen2 q/k/v carry biases.
      Scores scale 1/sqrt(head_dim), Gemma-2 query_pre_attn_scalar^-0.5; Gemma-2 soft-caps
      scores c * tanh(s / c) (attn_logit_softcapping) before the mask, and the logits
      (final_logit_softcapping).  Gemma-2 wraps attention and MLP in pre- and post-norms:
      x += post_attention_layernorm(attn(input_layernorm x));
      x += post_feedforward_layernorm(mlp(pre_feedforward_layernorm x)).
      Sliding windows (query i sees keys i - W < j <= i): Mistral every layer
      (sliding_window, null = none); Gemma-2 even layers (layer_idx % 2 == 0) or layer_types;
      Qwen2 only with use_sliding_window, layers >= max_window_layers or layer_types.

Hook names follow TransformerLens; Gemma-2's extra norms are ln1_post / ln2_post, and
hook_attn_out / hook_mlp_out are taken after them (as TransformerLens's
use_normalization_before_and_after does).
"""
import json
import os
import struct

import numpy as np

# --------------------------------------------------------------------------- files

_DT = {np.dtype(np.float32): "F32", np.dtype(np.float16): "F16", np.dtype(np.bool_): "BOOL",
       np.dtype(np.uint8): "U8", np.dtype(np.int8): "I8", np.dtype(np.int32): "I32",
       np.dtype(np.int64): "I64", np.dtype(np.float64): "F64"}


def bf16_round(a):
    """float32 -> (uint16 BF16 bits, the float32 values they hold): round to nearest even."""
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    b = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
    return b, (b.astype(np.uint32) << 16).view(np.float32).reshape(np.shape(a))


def write_safetensors(path, tensors, float_dtype="F32"):
    """tensors: name -> numpy array (float32 arrays stored as float_dtype: F32, F16 or BF16;
    other numpy dtypes stored as themselves, e.g. bool -> BOOL).  Returns name -> the
    float32 values a reader sees for the float tensors."""
    header, blobs, seen, off = {}, [], {}, 0
    for name, a in tensors.items():
        a = np.asarray(a)
        if a.dtype == np.float32 and float_dtype == "BF16":
            bits, back = bf16_round(a)
            raw, dt = bits.tobytes(), "BF16"
        elif a.dtype == np.float32 and float_dtype == "F16":
            h = a.astype(np.float16)
            raw, dt, back = h.tobytes(), "F16", h.astype(np.float32)
        else:
            raw, dt, back = np.ascontiguousarray(a).tobytes(), _DT[a.dtype], a
        header[name] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        if a.dtype == np.float32:
            seen[name] = back
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return seen


def write_model(d, config, tensors, float_dtype="F32"):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    return write_safetensors(os.path.join(d, "model.safetensors"), tensors, float_dtype)


# --------------------------------------------------------------------------- random models


def rnd(rng, *shape, std=0.2):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def gain(rng, d, mean=1.0):
    return (mean + 0.1 * rng.standard_normal(d)).astype(np.float32)


def make_gpt_neo(rng, d=48, L=3, H=4, V=97, n_ctx=48, window=5, layers=("global", "local"),
                 F=None):
    """A GPT-Neo in TinyStories' configuration shape (attention_types + attention_layers)."""
    F = F or 4 * d
    att = [layers[i % len(layers)] for i in range(L)]
    cfg = dict(model_type="gpt_neo", hidden_size=d, num_layers=L, num_heads=H, vocab_size=V,
               max_position_embeddings=n_ctx, window_size=window, intermediate_size=None if F == 4 * d else F,
               attention_types=[[list(layers), L // len(layers)]] if L % len(layers) == 0 else None,
               attention_layers=att, activation_function="gelu_new", layer_norm_epsilon=1e-5)
    t = {"transformer.wte.weight": rnd(rng, V, d, std=0.5), "transformer.wpe.weight": rnd(rng, n_ctx, d)}
    for i in range(L):
        p = "transformer.h.%d." % i
        t.update({p + "ln_1.weight": gain(rng, d), p + "ln_1.bias": rnd(rng, d, std=0.1),
                  # no 1/sqrt(d) scaling in GPT-Neo: smaller q/k keep scores O(3)
                  p + "attn.attention.q_proj.weight": rnd(rng, d, d, std=0.08),
                  p + "attn.attention.k_proj.weight": rnd(rng, d, d, std=0.08),
                  p + "attn.attention.v_proj.weight": rnd(rng, d, d),
                  p + "attn.attention.out_proj.weight": rnd(rng, d, d),
                  p + "attn.attention.out_proj.bias": rnd(rng, d),
                  p + "ln_2.weight": gain(rng, d), p + "ln_2.bias": rnd(rng, d, std=0.1),
                  p + "mlp.c_fc.weight": rnd(rng, F, d), p + "mlp.c_fc.bias": rnd(rng, F),
                  p + "mlp.c_proj.weight": rnd(rng, d, F, std=0.1), p + "mlp.c_proj.bias": rnd(rng, d)})
    t["transformer.ln_f.weight"] = gain(rng, d)
    t["transformer.ln_f.bias"] = rnd(rng, d, std=0.1)
    return cfg, t


def gpt_neo_buffers(cfg):
    """The causal-mask buffers HF GPT-Neo checkpoints carry (uint8/bool masks, -1e9)."""
    n, t = cfg["max_position_embeddings"], {}
    for i, kind in enumerate(cfg["attention_layers"]):
        m = np.tril(np.ones((n, n), np.bool_))
        if kind == "local":
            m ^= np.tril(m, -cfg["window_size"])
        t["transformer.h.%d.attn.attention.bias" % i] = m[None, None]
        t["transformer.h.%d.attn.attention.masked_bias" % i] = np.array(-1e9, np.float32)
    return t


def make_llama_family(rng, model_type="llama", d=48, L=3, H=4, Hkv=2, V=89, n_ctx=48, F=80,
                      theta=10000.0, tied=False, head_dim=None, **extra):
    """Llama, Mistral, Qwen2, Gemma or Gemma-2 (HF names; config keys as HF writes them)."""
    dh = head_dim or d // H
    gemma = model_type in ("gemma", "gemma2")
    cfg = dict(model_type=model_type, hidden_size=d, num_hidden_layers=L, num_attention_heads=H,
               num_key_value_heads=Hkv, intermediate_size=F, vocab_size=V, max_position_embeddings=n_ctx,
               rms_norm_eps=1e-6 if gemma else 1e-5, rope_theta=theta, tie_word_embeddings=tied)
    if head_dim:
        cfg["head_dim"] = head_dim
    if gemma:
        cfg["hidden_activation"] = "gelu_pytorch_tanh"
        cfg["head_dim"] = dh
    else:
        cfg["hidden_act"] = "silu"
    cfg.update(extra)
    # Gemma's norms multiply by (1 + w): weights near 0; its embedding is scaled by sqrt(d)
    norm_mean = 0.0 if gemma else 1.0
    t = {"model.embed_tokens.weight": rnd(rng, V, d, std=0.15 if gemma else 1.0)}
    for i in range(L):
        p = "model.layers.%d." % i
        t.update({p + "input_layernorm.weight": gain(rng, d, norm_mean),
                  p + "post_attention_layernorm.weight": gain(rng, d, norm_mean),
                  p + "self_attn.q_proj.weight": rnd(rng, H * dh, d),
                  p + "self_attn.k_proj.weight": rnd(rng, Hkv * dh, d),
                  p + "self_attn.v_proj.weight": rnd(rng, Hkv * dh, d),
                  p + "self_attn.o_proj.weight": rnd(rng, d, H * dh),
                  p + "mlp.gate_proj.weight": rnd(rng, F, d), p + "mlp.up_proj.weight": rnd(rng, F, d),
                  p + "mlp.down_proj.weight": rnd(rng, d, F, std=0.1)})
        if model_type == "qwen2":
            t.update({p + "self_attn.q_proj.bias": rnd(rng, H * dh, std=0.3),
                      p + "self_attn.k_proj.bias": rnd(rng, Hkv * dh, std=0.3),
                      p + "self_attn.v_proj.bias": rnd(rng, Hkv * dh, std=0.3)})
        if model_type == "gemma2":
            t.update({p + "pre_feedforward_layernorm.weight": gain(rng, d, 0.0),
                      p + "post_feedforward_layernorm.weight": gain(rng, d, 0.0)})
    t["model.norm.weight"] = gain(rng, d, norm_mean)
    if not tied:
        t["lm_head.weight"] = rnd(rng, V, d)
    return cfg, t


# --------------------------------------------------------------------------- reference


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps, plus_one=False):
    scale = np.sqrt((x * x).mean(-1, keepdims=True) + eps)
    return x / scale * ((1.0 + w) if plus_one else w)


def gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def silu(x):
    return x / (1 + np.exp(-x))


def rope(x, theta):
    """HF rotate_half rotary over the whole head: x [T, heads, dh]."""
    T, _, dh = x.shape
    inv = 1.0 / (theta ** (np.arange(0, dh, 2, dtype=np.float64) / dh))
    ang = np.outer(np.arange(T, dtype=np.float64), inv)
    emb = np.concatenate([ang, ang], -1)
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    rot = np.concatenate([-x[..., dh // 2:], x[..., :dh // 2]], -1)
    return x * cos + rot * sin


def attention(q, k, v, scale, window=0, softcap=0.0):
    """q [T,H,dh], k/v [T,Hkv,dh] -> scores (masked -inf), pattern [H,T,T], z [T,H,dh]."""
    T, H, _ = q.shape
    rep = H // k.shape[1]
    kk, vv = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)
    s = np.einsum("thd,shd->hts", q, kk) * scale
    if softcap:
        s = softcap * np.tanh(s / softcap)
    i, j = np.arange(T)[:, None], np.arange(T)[None, :]
    visible = j <= i
    if window:
        visible &= j > i - window
    s = np.where(visible[None], s, -np.inf)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    return s, p, np.einsum("hts,shd->thd", p, vv)


def layer_windows(cfg):
    """Sliding window of each layer (0: global attention), as the HF configs define it."""
    mt, L = cfg["model_type"], cfg.get("num_hidden_layers", cfg.get("num_layers"))
    if mt == "gpt_neo":
        return [cfg["window_size"] if a == "local" else 0 for a in cfg["attention_layers"]]
    if mt == "mistral":
        return [cfg.get("sliding_window") or 0] * L
    if mt == "gemma2":
        types = cfg.get("layer_types") or ["sliding_attention" if i % 2 == 0 else "full_attention"
                                           for i in range(L)]
        return [cfg["sliding_window"] if t == "sliding_attention" else 0 for t in types]
    if mt == "qwen2":
        if not cfg.get("use_sliding_window"):
            return [0] * L
        types = cfg.get("layer_types") or ["sliding_attention" if i >= cfg["max_window_layers"]
                                           else "full_attention" for i in range(L)]
        return [cfg["sliding_window"] if t == "sliding_attention" else 0 for t in types]
    return [0] * L


def forward(cfg, W, ids):
    """Float64 forward of one sequence: {hook name: [T, ...]} plus 'logits'."""
    W = {k: np.asarray(v, np.float64) for k, v in W.items() if np.asarray(v).dtype == np.float32}
    ids = np.asarray(ids)
    T, mt, out = len(ids), cfg["model_type"], {}
    wins = layer_windows(cfg)
    if mt == "gpt_neo":
        d, H, L, eps = cfg["hidden_size"], cfg["num_heads"], cfg["num_layers"], cfg["layer_norm_epsilon"]
        dh, Hkv = d // H, H
        x = W["transformer.wte.weight"][ids]
        out["hook_embed"] = x.copy()
        out["hook_pos_embed"] = W["transformer.wpe.weight"][:T]
        x = x + out["hook_pos_embed"]
    else:
        d, H, L = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"]
        Hkv, eps = cfg.get("num_key_value_heads", H), cfg["rms_norm_eps"]
        dh = cfg.get("head_dim") or d // H
        gemma = mt in ("gemma", "gemma2")
        x = W["model.embed_tokens.weight"][ids]
        if gemma:
            x = x * np.sqrt(d)
        out["hook_embed"] = x.copy()

        def norm(v, name):
            return rms_norm(v, W[name], eps, plus_one=gemma)
    for l in range(L):
        pre = "blocks.%d." % l
        out[pre + "hook_resid_pre"] = x.copy()
        if mt == "gpt_neo":
            p = "transformer.h.%d." % l
            n1 = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
            q, k, v = (n1 @ W[p + "attn.attention.%s_proj.weight" % c].T for c in "qkv")
            q, k, v = q.reshape(T, H, dh), k.reshape(T, H, dh), v.reshape(T, H, dh)
            rq, rk, scale, cap = q, k, 1.0, 0.0
            Wo, bo = W[p + "attn.attention.out_proj.weight"].T, W[p + "attn.attention.out_proj.bias"]
        else:
            p = "model.layers.%d." % l
            n1 = norm(x, p + "input_layernorm.weight")
            proj = []
            for c, heads in (("q", H), ("k", Hkv), ("v", Hkv)):
                y = n1 @ W[p + "self_attn.%s_proj.weight" % c].T
                if p + "self_attn.%s_proj.bias" % c in W:
                    y = y + W[p + "self_attn.%s_proj.bias" % c]
                proj.append(y.reshape(T, heads, dh))
            q, k, v = proj
            theta = cfg.get("rope_theta", 10000.0)
            rq, rk = rope(q, theta), rope(k, theta)
            scale = (cfg["query_pre_attn_scalar"] ** -0.5 if mt == "gemma2" else 1.0 / np.sqrt(dh))
            cap = (cfg.get("attn_logit_softcapping") or 0.0) if mt == "gemma2" else 0.0
            Wo, bo = W[p + "self_attn.o_proj.weight"].T, np.zeros(d)
        out[pre + "ln1.hook_normalized"] = n1
        out[pre + "attn.hook_q"], out[pre + "attn.hook_k"], out[pre + "attn.hook_v"] = q, k, v
        if mt != "gpt_neo":
            out[pre + "attn.hook_rot_q"], out[pre + "attn.hook_rot_k"] = rq, rk
        s, pat, z = attention(rq, rk, v, scale, wins[l], cap)
        out[pre + "attn.hook_attn_scores"], out[pre + "attn.hook_pattern"], out[pre + "attn.hook_z"] = s, pat, z
        a = z.reshape(T, H * dh) @ Wo + bo
        out[pre + "attn.hook_result"] = np.einsum("thc,hcd->thd", z, Wo.reshape(H, dh, d))
        if mt == "gemma2":
            a = norm(a, p + "post_attention_layernorm.weight")
            out[pre + "ln1_post.hook_normalized"] = a
        out[pre + "hook_attn_out"] = a
        x = x + a
        out[pre + "hook_resid_mid"] = x.copy()
        if mt == "gpt_neo":
            n2 = layer_norm(x, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
            hpre = n2 @ W[p + "mlp.c_fc.weight"].T + W[p + "mlp.c_fc.bias"]
            hpost = gelu_tanh(hpre)
            mo = hpost @ W[p + "mlp.c_proj.weight"].T + W[p + "mlp.c_proj.bias"]
        else:
            n2 = norm(x, p + ("pre_feedforward_layernorm.weight" if mt == "gemma2"
                              else "post_attention_layernorm.weight"))
            hpre = n2 @ W[p + "mlp.gate_proj.weight"].T
            up = n2 @ W[p + "mlp.up_proj.weight"].T
            out[pre + "mlp.hook_pre_linear"] = up
            hpost = (gelu_tanh(hpre) if gemma else silu(hpre)) * up
            mo = hpost @ W[p + "mlp.down_proj.weight"].T
            if mt == "gemma2":
                mo = norm(mo, p + "post_feedforward_layernorm.weight")
                out[pre + "ln2_post.hook_normalized"] = mo
        out[pre + "ln2.hook_normalized"] = n2
        out[pre + "mlp.hook_pre"], out[pre + "mlp.hook_post"] = hpre, hpost
        out[pre + "hook_mlp_out"] = mo
        x = x + mo
        out[pre + "hook_resid_post"] = x.copy()
    if mt == "gpt_neo":
        nf = layer_norm(x, W["transformer.ln_f.weight"], W["transformer.ln_f.bias"], eps)
        U = W.get("lm_head.weight", W["transformer.wte.weight"])
    else:
        nf = norm(x, "model.norm.weight")
        U = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    out["ln_final.hook_normalized"] = nf
    logits = nf @ U.T
    if mt == "gemma2" and cfg.get("final_logit_softcapping"):
        c = cfg["final_logit_softcapping"]
        logits = c * np.tanh(logits / c)
    out["logits"] = logits
    return out


# --------------------------------------------------------------------------- parity

# Tolerances (strata float32 with sgemm vs this float64 reference on the very weights
# strata sees): residual stream, q/k/v, z, norms, MLP: max abs diff <= 2e-5 * max(1, max|ref|);
# patterns (in [0, 1]) <= 1e-5; logits <= max(1e-4, 1e-5 * max|ref|).  float32 rounding over
# 2-4 layers measures 1e-6..1e-5 relative here; a wrong mask, scale, norm or layout moves
# values by O(0.1..1).
def tol_for(kind, want):
    if kind == "hook_pattern":
        return 1e-5
    if kind == "logits":
        return max(1e-4, 1e-5 * float(np.abs(want).max()))
    return 2e-5 * max(1.0, float(np.abs(want).max()))


def check_parity(model, cfg, W, seqs, names=None):
    """Runs seqs (a right-padded batch) through a strata.Model with every hook cached and
    compares each valid position with forward() on that sequence alone.  Returns
    {hook kind: max abs diff}.  Also checks masked scores are -inf and padding keys get
    no weight."""
    logits, cache = model.run_with_cache(seqs, names if names is not None else (lambda n: True))
    maxerr = {}
    T = max(map(len, seqs))
    for b, s in enumerate(seqs):
        n = len(s)
        ref = forward(cfg, W, s)
        for name, want in ref.items():
            if name == "logits":
                got = logits[b, :n]
                kind = "logits"
            else:
                assert name in cache, "hook %s missing from strata's cache" % name
                full = np.asarray(cache[name])
                kind = name.rsplit(".", 1)[-1]
                if kind in ("hook_attn_scores", "hook_pattern"):
                    got = full[b, :, :n, :n]
                    vis = np.isfinite(want)
                    if kind == "hook_attn_scores":
                        assert np.all(np.isneginf(got[~vis])), name + ": masked scores not -inf"
                        assert np.all(np.isneginf(full[b, :, :n, n:T])), name + ": padding keys visible"
                        got, want = got[vis], want[vis]
                    else:
                        assert np.all(full[b, :, :n, n:T] == 0), name + ": attends to padding"
                elif kind == "hook_pos_embed":
                    got = full[0, :n] if full.shape[0] == 1 else full[b, :n]
                else:
                    got = full[b, :n].reshape(want.shape)
            err = float(np.max(np.abs(got - want))) if np.size(got) else 0.0
            tol = tol_for(kind, want)
            assert err <= tol, "%s (seq %d): max abs diff %.3g > %.3g (got %s want %s)" % (
                name, b, err, tol, np.ravel(got)[:4], np.ravel(want)[:4])
            maxerr[kind] = max(maxerr.get(kind, 0.0), err)
    return maxerr


# --------------------------------------------------------------------------- GGUF


def q8_0(a):
    """GGML Q8_0 of a float32 array whose last dimension is a multiple of 32: per block of 32,
    d = max|x| / 127 stored as f16, q = round(x / d) as int8.  Returns (bytes, the float32
    values a reader dequantises: f16(d) * q)."""
    x = np.ascontiguousarray(a, np.float32).reshape(-1, 32)
    d = np.abs(x).max(1) / 127.0
    inv = np.where(d > 0, 1.0 / np.where(d > 0, d, 1), 0.0)
    q = np.clip(np.rint(x * inv[:, None]), -127, 127).astype(np.int8)
    d16 = d.astype(np.float16)
    raw = b"".join(d16[i:i + 1].tobytes() + q[i].tobytes() for i in range(len(q)))
    back = (d16.astype(np.float32)[:, None] * q.astype(np.float32)).reshape(np.shape(a))
    return raw, back


def write_gguf(path, arch, meta, tensors, qtype="F32"):
    """A GGUF v3 file: meta {key: value} (int -> UINT32, float -> FLOAT32, str -> STRING,
    bool -> BOOL, list of str -> ARRAY of STRING), tensors {name: float32 array} stored F32
    (or, with qtype "Q8_0" / "F16" / "BF16", every 2-D tensor in that type) with ne = the
    numpy shape reversed (ggml's fastest-first order), 32-byte aligned.  Returns name -> the
    float32 values a reader sees."""
    def s(x):
        b = x.encode()
        return struct.pack("<Q", len(b)) + b

    kv = [("general.architecture", arch)] + list(meta.items())
    out = [b"GGUF", struct.pack("<IQQ", 3, len(tensors), len(kv))]
    for k, v in kv:
        out.append(s(k))
        if isinstance(v, bool):
            out.append(struct.pack("<IB", 7, v))
        elif isinstance(v, int):
            out.append(struct.pack("<II", 4, v))
        elif isinstance(v, float):
            out.append(struct.pack("<If", 6, v))
        elif isinstance(v, str):
            out.append(struct.pack("<I", 8) + s(v))
        else:
            out.append(struct.pack("<IIQ", 9, 8, len(v)) + b"".join(s(x) for x in v))
    off, blobs, seen = 0, [], {}
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, np.float32)
        ne = a.shape[::-1]
        gt, raw, back = 0, a.tobytes(), a
        if a.ndim == 2 and qtype == "Q8_0" and a.shape[1] % 32 == 0:
            gt, (raw, back) = 8, q8_0(a)
        elif a.ndim == 2 and qtype == "F16":
            h = a.astype(np.float16)
            gt, raw, back = 1, h.tobytes(), h.astype(np.float32)
        elif a.ndim == 2 and qtype == "BF16":
            bits, back = bf16_round(a)
            gt, raw = 30, bits.tobytes()
        seen[name] = back
        out.append(s(name) + struct.pack("<I", len(ne)) + b"".join(struct.pack("<Q", n) for n in ne)
                   + struct.pack("<IQ", gt, off))
        pad = (32 - len(raw) % 32) % 32
        blobs.append(raw + b"\0" * pad)
        off += len(raw) + pad
    head = b"".join(out)
    head += b"\0" * ((32 - len(head) % 32) % 32)
    with open(path, "wb") as f:
        f.write(head)
        for b in blobs:
            f.write(b)
    return seen


_GGUF_LAYER = {"input_layernorm": "attn_norm", "self_attn.q_proj": "attn_q", "self_attn.k_proj": "attn_k",
               "self_attn.v_proj": "attn_v", "self_attn.o_proj": "attn_output",
               "mlp.gate_proj": "ffn_gate", "mlp.up_proj": "ffn_up", "mlp.down_proj": "ffn_down"}


def llama_family_to_gguf(path, cfg, W, qtype="F32"):
    """llama.cpp's converter output for qwen2 / gemma / gemma2 checkpoints: tensor names
    blk.{i}.*, q/k rows NOT permuted (these architectures use rotate_half rotary), Gemma norm
    weights stored as 1 + w, Gemma-2's post_attention_layernorm -> post_attention_norm,
    pre_feedforward_layernorm -> ffn_norm, post_feedforward_layernorm -> post_ffw_norm."""
    mt = cfg["model_type"]
    gemma = mt in ("gemma", "gemma2")
    layer = dict(_GGUF_LAYER)
    if mt == "gemma2":
        layer.update({"post_attention_layernorm": "post_attention_norm",
                      "pre_feedforward_layernorm": "ffn_norm",
                      "post_feedforward_layernorm": "post_ffw_norm"})
    else:
        layer["post_attention_layernorm"] = "ffn_norm"
    t = {}
    for name, a in W.items():
        if name.startswith("model.layers."):
            i, rest = name[len("model.layers."):].split(".", 1)
            mod, param = rest.rsplit(".", 1)
            g = "blk.%s.%s.%s" % (i, layer[mod], param)
        else:
            g = {"model.embed_tokens.weight": "token_embd.weight", "model.norm.weight": "output_norm.weight",
                 "lm_head.weight": "output.weight"}[name]
        if gemma and g.endswith("norm.weight"):
            a = np.asarray(a, np.float32) + np.float32(1.0)
        t[g] = a
    d, H = cfg["hidden_size"], cfg["num_attention_heads"]
    meta = {mt + ".context_length": cfg["max_position_embeddings"], mt + ".embedding_length": d,
            mt + ".block_count": cfg["num_hidden_layers"], mt + ".feed_forward_length": cfg["intermediate_size"],
            mt + ".attention.head_count": H, mt + ".attention.head_count_kv": cfg["num_key_value_heads"],
            mt + ".attention.layer_norm_rms_epsilon": float(cfg["rms_norm_eps"]),
            mt + ".rope.freq_base": float(cfg.get("rope_theta", 10000.0))}
    if gemma:
        meta[mt + ".attention.key_length"] = cfg["head_dim"]
        meta[mt + ".attention.value_length"] = cfg["head_dim"]
    if mt == "gemma2":
        meta[mt + ".attention.sliding_window"] = cfg["sliding_window"]
        meta[mt + ".attn_logit_softcapping"] = float(cfg["attn_logit_softcapping"])
        meta[mt + ".final_logit_softcapping"] = float(cfg["final_logit_softcapping"])
    return write_gguf(path, mt, meta, t, qtype)
