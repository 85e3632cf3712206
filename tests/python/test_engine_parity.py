"""The forward engine against an independent numpy reference (GPT-2, GPT-NeoX, Llama).

Small random models are generated here, seeded, in Hugging Face layout (config.json +
model.safetensors written by numpy: u64 LE header length, JSON header, raw data), run
through libstrata via ctypes (strata_model_open / strata_hook_add / strata_run), and
compared with a float64 numpy forward written from the Hugging Face modeling code:

  GPT-2 (modeling_gpt2.py):   x = wte[ids] + wpe[pos]; per block
                              x += c_proj(attn(ln_1(x))), x += mlp(ln_2(x));
                              Conv1D weights are [in, out] (y = x @ W + b); c_attn columns
                              are q | k | v; mlp = c_proj(gelu_new(c_fc(.))); tied lm_head.
  GPT-NeoX (modeling_gpt_neox.py): query_key_value [3d, d]; its output viewed as
                              [.., H, 3*dh] so head h's rows are q_h | k_h | v_h; rotary
                              (rotate_half, inv_freq = base^(-2j/rot)) on the first
                              rot = int(dh * rotary_pct) dims; parallel residual
                              x + attn(ln1(x)) + mlp(ln2(x)) or sequential; exact gelu;
                              untied embed_out.
  Llama (modeling_llama.py):  RMSNorm x / sqrt(mean(x^2) + eps) * w; rotate_half rope with
                              rope_theta over the whole head; repeat_kv (query head h uses kv
                              head h // (H/Hkv)); down(silu(gate(x)) * up(x)).

Weights have std ~0.2 so attention is sharp (score std ~2, patterns far from uniform)
and a wrong layout, head order or rotary convention changes the result by O(1).

Tolerances.  The reference runs in float64 on the very weights strata sees (F16/BF16
checkpoints are rounded first); strata computes in float32 with sgemm, so the difference
is float32 rounding accumulated over 2-3 layers.  Measured max abs diffs: 1-6e-6 on every
hook (residual entries up to ~13), 5e-7..1e-6 on patterns, 2e-6..6e-6 on logits (entries up
to ~9).  We require
  residual stream, q/k/v, z, norms, mlp: max abs diff <= 2e-5 * max(1, max|ref|)
  patterns (in [0, 1]):                  <= 1e-5
  logits:                                <= max(1e-4, 1e-5 * max|ref|) (>= 10x margin over
                                            float32 rounding, yet far below what any real bug
                                            does: a wrong layout or rotary moves logits by O(1))
(The wider d = 128 models of test_wider_models_threaded have entries up to ~40 and
measured diffs up to 8e-5; the relative parts of the tolerances cover them.)
Batches use right padding (B = 3, lengths 11, 6, 1): each sequence must match the
reference run on that sequence alone, at its valid positions.
"""
import ctypes
import json
import os
import struct

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
pytestmark = pytest.mark.skipif(not LIB, reason="STRATA_LIBRARY is not set (run through ctest)")

# --------------------------------------------------------------------------- ctypes


class Tensor(ctypes.Structure):
    _fields_ = [("data", ctypes.POINTER(ctypes.c_float)), ("ndim", ctypes.c_int32),
                ("shape", ctypes.c_int64 * 4), ("strides", ctypes.c_int64 * 4)]


class HookCtx(ctypes.Structure):
    _fields_ = [("name", ctypes.c_char_p), ("kind", ctypes.c_int32), ("layer", ctypes.c_int32),
                ("head", ctypes.c_int32), ("batch", ctypes.c_int32), ("n_ctx", ctypes.c_int32),
                ("pos_offset", ctypes.c_int32), ("lengths", ctypes.POINTER(ctypes.c_int32)),
                ("tokens", ctypes.POINTER(ctypes.c_int32))]


class Config(ctypes.Structure):
    _fields_ = [("arch", ctypes.c_int32), ("name", ctypes.c_char * 128)] + [
        (n, ctypes.c_int32) for n in ("d_model", "n_layers", "n_heads", "n_kv_heads", "d_head",
                                      "d_mlp", "vocab_size", "n_ctx", "norm_kind")] + [
        ("norm_eps", ctypes.c_float)] + [
        (n, ctypes.c_int32) for n in ("act", "gated_mlp", "rope", "rotary_dim")] + [
        ("rope_theta", ctypes.c_float)] + [
        (n, ctypes.c_int32) for n in ("parallel_residual", "tied_embeddings", "has_bias",
                                      "bos_token_id", "eos_token_id")]


class RunOpts(ctypes.Structure):
    _fields_ = [("logits", ctypes.c_int32), ("reserved", ctypes.c_int32 * 7)]


HOOK_FN = ctypes.CFUNCTYPE(ctypes.c_int, ctypes.POINTER(Tensor), ctypes.POINTER(HookCtx),
                           ctypes.c_void_p)
STRATA_OK, STRATA_ERR_NOTFOUND = 0, -6


@pytest.fixture(scope="module")
def lib():
    L = ctypes.CDLL(LIB)
    P, I32P, F32P = ctypes.c_void_p, ctypes.POINTER(ctypes.c_int32), ctypes.POINTER(ctypes.c_float)
    L.strata_model_open.argtypes = [ctypes.c_char_p, P, ctypes.POINTER(P)]
    L.strata_model_free.argtypes = [P]
    L.strata_errmsg.argtypes = [P]
    L.strata_errmsg.restype = ctypes.c_char_p
    L.strata_model_config.argtypes = [P]
    L.strata_model_config.restype = ctypes.POINTER(Config)
    L.strata_model_n_params.argtypes = [P]
    L.strata_model_n_params.restype = ctypes.c_int64
    L.strata_hook_add.argtypes = [P, ctypes.c_char_p, HOOK_FN, P, I32P]
    L.strata_hook_clear.argtypes = [P]
    L.strata_run.argtypes = [P, I32P, I32P, ctypes.c_int, F32P]
    L.strata_run_v2.argtypes = [P, I32P, I32P, ctypes.c_int, ctypes.POINTER(RunOpts), F32P]
    return L


class Model:
    """A strata model handle with name -> captured numpy array hooks."""

    def __init__(self, lib, path):
        self.lib = lib
        self.h = ctypes.c_void_p()
        rc = lib.strata_model_open(str(path).encode(), None, ctypes.byref(self.h))
        self.msg = lib.strata_errmsg(self.h).decode()
        self.rc = rc
        self.cbs = []
        self.cache = {}

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.lib.strata_model_free(self.h)

    @property
    def cfg(self):
        return self.lib.strata_model_config(self.h).contents

    def capture(self, glob):
        def cb(t, ctx, user):
            t = t.contents
            shape = tuple(t.shape[i] for i in range(t.ndim))
            strides = tuple(t.strides[i] * 4 for i in range(t.ndim))
            span = 1 + sum((s - 1) * st for s, st in zip(shape, (x // 4 for x in strides)))
            flat = np.ctypeslib.as_array(t.data, shape=(span,))
            arr = np.lib.stride_tricks.as_strided(flat, shape=shape, strides=strides).copy()
            self.cache[ctx.contents.name.decode()] = arr
            return 0

        f = HOOK_FN(cb)
        self.cbs.append(f)
        return self.lib.strata_hook_add(self.h, glob.encode(), f, None, None)

    def run(self, seqs, logits=True):
        B, T = len(seqs), max(len(s) for s in seqs)
        toks = np.zeros((B, T), np.int32)
        for b, s in enumerate(seqs):
            toks[b, :len(s)] = s
        lens = np.array([len(s) for s in seqs], np.int32)
        V = self.cfg.vocab_size
        out = np.full((B, T, V), np.nan, np.float32) if logits else None
        self.cache = {}
        rc = self.lib.strata_run(
            self.h, toks.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
            lens.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), B,
            out.ctypes.data_as(ctypes.POINTER(ctypes.c_float)) if logits else None)
        assert rc == STRATA_OK, self.lib.strata_errmsg(self.h).decode()
        return out


# --------------------------------------------------------------------------- files


def f32_to_bf16_bits(a):
    u = np.ascontiguousarray(a, np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


def bf16_bits_to_f32(b):
    return (b.astype(np.uint32) << 16).view(np.float32)


def stored(a, dtype):
    """(bytes to write, dtype string, the float32 values strata will see)."""
    a = np.asarray(a, np.float32)
    if dtype == "F16":
        h = a.astype(np.float16)
        return h.tobytes(), "F16", h.astype(np.float32)
    if dtype == "BF16":
        b = f32_to_bf16_bits(a)
        return b.tobytes(), "BF16", bf16_bits_to_f32(b).reshape(a.shape)
    return a.tobytes(), "F32", a


def write_safetensors(path, tensors, dtype="F32"):
    """tensors: name -> float array.  Returns name -> float32 values as stored."""
    header, blobs, seen, off = {}, [], {}, 0
    for name, a in tensors.items():
        raw, dt, back = stored(a, dtype)
        header[name] = {"dtype": dt, "shape": list(np.shape(a)), "data_offsets": [off, off + len(raw)]}
        blobs.append(raw)
        seen[name] = back
        off += len(raw)
    header["__metadata__"] = {"format": "pt"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)  # data region 8-byte aligned, as HF writes it
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)
    return seen


def write_model(d, config, tensors, dtype="F32", shards=1):
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f)
    if shards == 1:
        return write_safetensors(os.path.join(d, "model.safetensors"), tensors, dtype)
    names = list(tensors)
    seen, wmap = {}, {}
    for i in range(shards):
        fn = "model-%05d-of-%05d.safetensors" % (i + 1, shards)
        part = {n: tensors[n] for n in names[i::shards]}
        seen.update(write_safetensors(os.path.join(d, fn), part, dtype))
        wmap.update({n: fn for n in part})
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": 0}, "weight_map": wmap}, f)
    return seen


# --------------------------------------------------------------------------- random models


def rnd(rng, *shape, std=0.2):
    return (rng.standard_normal(shape) * std).astype(np.float32)


def gain(rng, d):
    return (1.0 + 0.1 * rng.standard_normal(d)).astype(np.float32)


def make_gpt2(rng, d=48, L=2, H=4, V=97, n_ctx=32, prefix="", buffers=False):
    F = 4 * d
    cfg = dict(model_type="gpt2", n_embd=d, n_layer=L, n_head=H, vocab_size=V, n_positions=n_ctx,
               layer_norm_epsilon=1e-5, activation_function="gelu_new")
    t = {prefix + "wte.weight": rnd(rng, V, d, std=0.5), prefix + "wpe.weight": rnd(rng, n_ctx, d)}
    for i in range(L):
        p = "%sh.%d." % (prefix, i)
        t.update({p + "ln_1.weight": gain(rng, d), p + "ln_1.bias": rnd(rng, d, std=0.1),
                  p + "attn.c_attn.weight": rnd(rng, d, 3 * d), p + "attn.c_attn.bias": rnd(rng, 3 * d),
                  p + "attn.c_proj.weight": rnd(rng, d, d), p + "attn.c_proj.bias": rnd(rng, d),
                  p + "ln_2.weight": gain(rng, d), p + "ln_2.bias": rnd(rng, d, std=0.1),
                  p + "mlp.c_fc.weight": rnd(rng, d, F), p + "mlp.c_fc.bias": rnd(rng, F),
                  p + "mlp.c_proj.weight": rnd(rng, F, d, std=0.1), p + "mlp.c_proj.bias": rnd(rng, d)})
        if buffers:  # causal-mask buffers of older checkpoints: must be ignored
            t[p + "attn.bias"] = np.tril(np.ones((1, 1, n_ctx, n_ctx), np.float32))
            t[p + "attn.masked_bias"] = np.array(-1e4, np.float32)
    t[prefix + "ln_f.weight"] = gain(rng, d)
    t[prefix + "ln_f.bias"] = rnd(rng, d, std=0.1)
    return cfg, t


def make_neox(rng, d=64, L=2, H=4, V=101, n_ctx=32, pct=0.25, parallel=True, base=10000.0):
    F = 4 * d
    cfg = dict(model_type="gpt_neox", hidden_size=d, num_hidden_layers=L, num_attention_heads=H,
               intermediate_size=F, vocab_size=V, max_position_embeddings=n_ctx, layer_norm_eps=1e-5,
               rotary_pct=pct, rotary_emb_base=base, use_parallel_residual=parallel,
               hidden_act="gelu", tie_word_embeddings=False)
    t = {"gpt_neox.embed_in.weight": rnd(rng, V, d, std=1.0), "embed_out.weight": rnd(rng, V, d)}
    for i in range(L):
        p = "gpt_neox.layers.%d." % i
        t.update({p + "input_layernorm.weight": gain(rng, d), p + "input_layernorm.bias": rnd(rng, d, std=0.1),
                  p + "post_attention_layernorm.weight": gain(rng, d),
                  p + "post_attention_layernorm.bias": rnd(rng, d, std=0.1),
                  p + "attention.query_key_value.weight": rnd(rng, 3 * d, d),
                  p + "attention.query_key_value.bias": rnd(rng, 3 * d),
                  p + "attention.dense.weight": rnd(rng, d, d), p + "attention.dense.bias": rnd(rng, d),
                  p + "mlp.dense_h_to_4h.weight": rnd(rng, F, d), p + "mlp.dense_h_to_4h.bias": rnd(rng, F),
                  p + "mlp.dense_4h_to_h.weight": rnd(rng, d, F, std=0.1), p + "mlp.dense_4h_to_h.bias": rnd(rng, d),
                  # buffer found in older Pythia checkpoints: ignored
                  p + "attention.rotary_emb.inv_freq": rnd(rng, 4)})
    t["gpt_neox.final_layer_norm.weight"] = gain(rng, d)
    t["gpt_neox.final_layer_norm.bias"] = rnd(rng, d, std=0.1)
    return cfg, t


def make_llama(rng, d=48, L=3, H=4, Hkv=2, V=89, n_ctx=32, theta=10000.0, tied=False, F=80):
    dh = d // H
    cfg = dict(model_type="llama", hidden_size=d, num_hidden_layers=L, num_attention_heads=H,
               num_key_value_heads=Hkv, intermediate_size=F, vocab_size=V, max_position_embeddings=n_ctx,
               rms_norm_eps=1e-5, rope_theta=theta, tie_word_embeddings=tied, hidden_act="silu")
    t = {"model.embed_tokens.weight": rnd(rng, V, d, std=1.0)}
    for i in range(L):
        p = "model.layers.%d." % i
        t.update({p + "input_layernorm.weight": gain(rng, d), p + "post_attention_layernorm.weight": gain(rng, d),
                  p + "self_attn.q_proj.weight": rnd(rng, H * dh, d), p + "self_attn.k_proj.weight": rnd(rng, Hkv * dh, d),
                  p + "self_attn.v_proj.weight": rnd(rng, Hkv * dh, d), p + "self_attn.o_proj.weight": rnd(rng, d, H * dh),
                  p + "mlp.gate_proj.weight": rnd(rng, F, d), p + "mlp.up_proj.weight": rnd(rng, F, d),
                  p + "mlp.down_proj.weight": rnd(rng, d, F, std=0.1)})
    t["model.norm.weight"] = gain(rng, d)
    if not tied:
        t["lm_head.weight"] = rnd(rng, V, d)
    return cfg, t


# --------------------------------------------------------------------------- numpy reference


def layer_norm(x, w, b, eps):
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


def rms_norm(x, w, eps):
    return x / np.sqrt((x * x).mean(-1, keepdims=True) + eps) * w


def gelu_new(x):
    return 0.5 * x * (1.0 + np.tanh(np.sqrt(2.0 / np.pi) * (x + 0.044715 * x ** 3)))


def gelu_exact(x):
    from math import erf
    return 0.5 * x * (1.0 + np.vectorize(erf)(x / np.sqrt(2.0)))


def silu(x):
    return x / (1.0 + np.exp(-x))


def rotate_half(x):
    h = x.shape[-1] // 2
    return np.concatenate([-x[..., h:], x[..., :h]], -1)


def apply_rope(x, rot, base):
    """x [T, H, dh]; HF rotary on the first `rot` dims (rotate_half convention)."""
    T = x.shape[0]
    inv = 1.0 / (base ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
    freqs = np.outer(np.arange(T, dtype=np.float64), inv)
    emb = np.concatenate([freqs, freqs], -1)  # [T, rot]
    cos, sin = np.cos(emb)[:, None, :], np.sin(emb)[:, None, :]
    xr, xp = x[..., :rot], x[..., rot:]
    return np.concatenate([xr * cos + rotate_half(xr) * sin, xp], -1)


def attention(q, k, v, H, Hkv):
    """q [T,H,dh], k/v [T,Hkv,dh] -> scores, pattern [H,T,T], z [T,H,dh] (causal, repeat_kv)."""
    T, _, dh = q.shape
    rep = H // Hkv
    kk, vv = np.repeat(k, rep, axis=1), np.repeat(v, rep, axis=1)  # HF repeat_kv
    s = np.einsum("thd,shd->hts", q, kk) / np.sqrt(dh)
    mask = np.triu(np.ones((T, T), bool), 1)
    s = np.where(mask, -np.inf, s)
    p = np.exp(s - s.max(-1, keepdims=True))
    p /= p.sum(-1, keepdims=True)
    z = np.einsum("hts,shd->thd", p, vv)
    return s, p, z


def reference(arch, cfg, W, ids):
    """Float64 forward of one sequence; returns {hook name: array [T, ...]} incl. 'logits'."""
    W = {k: v.astype(np.float64) for k, v in W.items()}
    ids = np.asarray(ids)
    T = len(ids)
    out = {}
    if arch == "gpt2":
        pf = "transformer." if "transformer.wte.weight" in W else ""
        d, H, L, eps = cfg["n_embd"], cfg["n_head"], cfg["n_layer"], cfg["layer_norm_epsilon"]
        Hkv = H
        x = W[pf + "wte.weight"][ids] + W[pf + "wpe.weight"][:T]
    elif arch == "neox":
        d, H, L, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["layer_norm_eps"]
        Hkv = H
        x = W["gpt_neox.embed_in.weight"][ids]
    else:
        d, H, L, eps = cfg["hidden_size"], cfg["num_attention_heads"], cfg["num_hidden_layers"], cfg["rms_norm_eps"]
        Hkv = cfg["num_key_value_heads"]
        x = W["model.embed_tokens.weight"][ids]
    dh = d // H
    for l in range(L):
        pre = "blocks.%d." % l
        out[pre + "hook_resid_pre"] = x.copy()
        if arch == "gpt2":
            p = "%sh.%d." % (pf, l)
            n1 = layer_norm(x, W[p + "ln_1.weight"], W[p + "ln_1.bias"], eps)
            qkv = n1 @ W[p + "attn.c_attn.weight"] + W[p + "attn.c_attn.bias"]
            q, k, v = (qkv[:, i * d:(i + 1) * d].reshape(T, H, dh) for i in range(3))
            rq, rk = q, k
        elif arch == "neox":
            p = "gpt_neox.layers.%d." % l
            n1 = layer_norm(x, W[p + "input_layernorm.weight"], W[p + "input_layernorm.bias"], eps)
            qkv = (n1 @ W[p + "attention.query_key_value.weight"].T + W[p + "attention.query_key_value.bias"])
            qkv = qkv.reshape(T, H, 3 * dh)
            q, k, v = qkv[..., :dh], qkv[..., dh:2 * dh], qkv[..., 2 * dh:]
            rot = int(dh * cfg["rotary_pct"])
            rq, rk = apply_rope(q, rot, cfg["rotary_emb_base"]), apply_rope(k, rot, cfg["rotary_emb_base"])
        else:
            p = "model.layers.%d." % l
            n1 = rms_norm(x, W[p + "input_layernorm.weight"], eps)
            q = (n1 @ W[p + "self_attn.q_proj.weight"].T).reshape(T, H, dh)
            k = (n1 @ W[p + "self_attn.k_proj.weight"].T).reshape(T, Hkv, dh)
            v = (n1 @ W[p + "self_attn.v_proj.weight"].T).reshape(T, Hkv, dh)
            rq, rk = apply_rope(q, dh, cfg["rope_theta"]), apply_rope(k, dh, cfg["rope_theta"])
        out[pre + "ln1.hook_normalized"] = n1
        out[pre + "attn.hook_q"], out[pre + "attn.hook_k"], out[pre + "attn.hook_v"] = q, k, v
        if arch != "gpt2":
            out[pre + "attn.hook_rot_q"], out[pre + "attn.hook_rot_k"] = rq, rk
        s, pat, z = attention(rq, rk, v, H, Hkv)
        out[pre + "attn.hook_attn_scores"], out[pre + "attn.hook_pattern"] = s, pat
        out[pre + "attn.hook_z"] = z
        zf = z.reshape(T, H * dh)
        if arch == "gpt2":
            Wo, bo = W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"]  # [in, out]
        elif arch == "neox":
            Wo, bo = W[p + "attention.dense.weight"].T, W[p + "attention.dense.bias"]
        else:
            Wo, bo = W[p + "self_attn.o_proj.weight"].T, np.zeros(d)
        a = zf @ Wo + bo
        out[pre + "attn.hook_result"] = np.einsum("thc,hcd->thd", z, Wo.reshape(H, dh, d))
        out[pre + "hook_attn_out"] = a
        parallel = arch == "neox" and cfg["use_parallel_residual"]
        mid = x if parallel else x + a
        if not parallel:
            out[pre + "hook_resid_mid"] = mid
        if arch == "gpt2":
            n2 = layer_norm(mid, W[p + "ln_2.weight"], W[p + "ln_2.bias"], eps)
            hpre = n2 @ W[p + "mlp.c_fc.weight"] + W[p + "mlp.c_fc.bias"]
            hpost = gelu_new(hpre)
            mo = hpost @ W[p + "mlp.c_proj.weight"] + W[p + "mlp.c_proj.bias"]
        elif arch == "neox":
            n2 = layer_norm(mid, W[p + "post_attention_layernorm.weight"], W[p + "post_attention_layernorm.bias"], eps)
            hpre = n2 @ W[p + "mlp.dense_h_to_4h.weight"].T + W[p + "mlp.dense_h_to_4h.bias"]
            hpost = gelu_exact(hpre)
            mo = hpost @ W[p + "mlp.dense_4h_to_h.weight"].T + W[p + "mlp.dense_4h_to_h.bias"]
        else:
            n2 = rms_norm(mid, W[p + "post_attention_layernorm.weight"], eps)
            hpre = n2 @ W[p + "mlp.gate_proj.weight"].T
            up = n2 @ W[p + "mlp.up_proj.weight"].T
            out[pre + "mlp.hook_pre_linear"] = up
            hpost = silu(hpre) * up
            mo = hpost @ W[p + "mlp.down_proj.weight"].T
        out[pre + "ln2.hook_normalized"] = n2
        out[pre + "mlp.hook_pre"], out[pre + "mlp.hook_post"] = hpre, hpost
        out[pre + "hook_mlp_out"] = mo
        x = x + a + mo if parallel else mid + mo
        out[pre + "hook_resid_post"] = x
    if arch == "gpt2":
        nf = layer_norm(x, W[pf + "ln_f.weight"], W[pf + "ln_f.bias"], eps)
        U = W.get("lm_head.weight", W[pf + "wte.weight"])
    elif arch == "neox":
        nf = layer_norm(x, W["gpt_neox.final_layer_norm.weight"], W["gpt_neox.final_layer_norm.bias"], eps)
        U = W["embed_out.weight"]
    else:
        nf = rms_norm(x, W["model.norm.weight"], eps)
        U = W.get("lm_head.weight", W["model.embed_tokens.weight"])
    out["ln_final.hook_normalized"] = nf
    out["logits"] = nf @ U.T
    return out


# --------------------------------------------------------------------------- comparison

SEQS = None  # filled per vocab


def make_seqs(rng, V, lens=(11, 6, 1)):
    # B = 3 with right padding; repeated tokens inside so induction-like patterns appear
    a = rng.integers(0, V, lens[0])
    a[7:11] = a[2:6]
    return [a.tolist()] + [rng.integers(0, V, n).tolist() for n in lens[1:]]


def check(name, got, want, tol):
    err = float(np.max(np.abs(got - want))) if got.size else 0.0
    assert err <= tol, "%s: max abs diff %.3g > tol %.3g (got %s want %s)" % (
        name, err, tol, got.ravel()[:4], want.ravel()[:4])
    return err


HOOKS = ["blocks.*.hook_resid_pre", "blocks.*.ln1.hook_normalized", "blocks.*.attn.hook_q",
         "blocks.*.attn.hook_k", "blocks.*.attn.hook_v", "blocks.*.attn.hook_rot_q",
         "blocks.*.attn.hook_rot_k", "blocks.*.attn.hook_attn_scores", "blocks.*.attn.hook_pattern",
         "blocks.*.attn.hook_z", "blocks.*.attn.hook_result", "blocks.*.hook_attn_out",
         "blocks.*.hook_resid_mid", "blocks.*.ln2.hook_normalized", "blocks.*.mlp.hook_pre",
         "blocks.*.mlp.hook_pre_linear", "blocks.*.mlp.hook_post", "blocks.*.hook_mlp_out",
         "blocks.*.hook_resid_post", "ln_final.hook_normalized"]


def run_parity(lib, path, arch, cfg, W, rng, expect_params=None, lens=(11, 6, 1)):
    with Model(lib, path) as m:
        assert m.rc == STRATA_OK, m.msg
        c = m.cfg
        V = c.vocab_size
        if expect_params is not None:
            assert m.lib.strata_model_n_params(m.h) == expect_params
        present = []
        for g in HOOKS:
            rc = m.capture(g)
            if rc == STRATA_OK:
                present.append(g)
            else:  # only the hooks this architecture lacks may be absent
                assert rc == STRATA_ERR_NOTFOUND
                assert g.split(".", 2)[2] in ("attn.hook_rot_q", "attn.hook_rot_k", "hook_resid_mid",
                                             "mlp.hook_pre_linear"), g
        seqs = make_seqs(rng, V, lens)
        logits = m.run(seqs)
        B, T = len(seqs), max(map(len, seqs))
        H, Hkv, dh = c.n_heads, c.n_kv_heads, c.d_head
        maxerr = {}
        for b, s in enumerate(seqs):
            n = len(s)
            ref = reference(arch, cfg, W, s)
            for name, want in ref.items():
                if name == "logits":
                    got = logits[b, :n]
                    tol = max(1e-4, 1e-5 * np.abs(want).max())
                    maxerr[name] = max(maxerr.get(name, 0), check(name, got, want, tol))
                    continue
                assert name in m.cache, "hook %s did not fire" % name
                full = m.cache[name]
                kind = name.rsplit(".", 1)[-1]
                if kind in ("hook_attn_scores", "hook_pattern"):
                    assert full.shape == (B, H, T, T), (name, full.shape)
                    got = full[b, :, :n, :n]
                    if kind == "hook_attn_scores":
                        causal = np.tril(np.ones((n, n), bool))
                        assert np.all(np.isneginf(got[:, ~causal])), name + ": masked scores not -inf"
                        assert np.all(np.isneginf(full[b, :, :n, n:])), name + ": padding keys not masked"
                        got, want = got[:, causal], want[:, causal]
                    else:
                        assert np.all(full[b, :, :n, n:] == 0), name + ": attends to padding"
                    tol = 1e-5 if kind == "hook_pattern" else 2e-5 * max(1.0, np.abs(want).max())
                else:
                    exp_shape = {"hook_q": (B, T, H, dh), "hook_rot_q": (B, T, H, dh),
                                 "hook_k": (B, T, Hkv, dh), "hook_rot_k": (B, T, Hkv, dh),
                                 "hook_v": (B, T, Hkv, dh), "hook_z": (B, T, H, dh),
                                 "hook_result": (B, T, H, c.d_model)}.get(kind)
                    if exp_shape:
                        assert full.shape == exp_shape, (name, full.shape, exp_shape)
                    got = full[b, :n].reshape(want.shape)
                    tol = 2e-5 * max(1.0, np.abs(want).max())
                maxerr[kind] = max(maxerr.get(kind, 0), check(name, got, want, tol))
        # logits must be sizeable for the absolute tolerance to mean something
        assert np.abs(logits[0, :len(seqs[0])]).max() > 2.0
        # patterns must be sharp: the test would not see a wrong head order otherwise
        pat = m.cache["blocks.0.attn.hook_pattern"][0, :, 1:len(seqs[0]), :]
        assert pat.max(-1).mean() > 0.5
        # last-position logits (strata_run_v2, logits = 2) equal the last valid rows
        lens = np.array([len(s) for s in seqs], np.int32)
        toks = np.zeros((B, T), np.int32)
        for i, s in enumerate(seqs):
            toks[i, :len(s)] = s
        last = np.zeros((B, V), np.float32)
        m.lib.strata_hook_clear(m.h)
        # without pattern/score hooks attention takes its fused path: same reference
        plain = m.run(seqs)
        for i, sq in enumerate(seqs):
            want = reference(arch, cfg, W, sq)["logits"]
            check("logits (fused attention)", plain[i, :len(sq)], want, max(1e-4, 1e-5 * np.abs(want).max()))
        rc = m.lib.strata_run_v2(m.h, toks.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)),
                                 lens.ctypes.data_as(ctypes.POINTER(ctypes.c_int32)), B,
                                 ctypes.byref(RunOpts(2)),
                                 last.ctypes.data_as(ctypes.POINTER(ctypes.c_float)))
        assert rc == STRATA_OK
        for i in range(B):
            check("last logits", last[i], logits[i, lens[i] - 1], 1e-4)
        return maxerr


def n_params(W, skip=()):
    return int(sum(v.size for k, v in W.items() if not k.endswith(tuple(skip))))


# --------------------------------------------------------------------------- tests


def test_gpt2_parity(lib, tmp_path):
    rng = np.random.default_rng(1)
    cfg, t = make_gpt2(rng)
    W = write_model(tmp_path / "gpt2", cfg, t)
    run_parity(lib, tmp_path / "gpt2", "gpt2", cfg, W, rng, expect_params=n_params(W))


def test_wider_models_threaded(lib, tmp_path):
    """Products big enough to be split over the OpenMP threads (by rows: B*T = 3*40 rows;
    by output columns: the unembedding of 3 rows), same tolerances."""
    rng = np.random.default_rng(11)
    cfg, t = make_gpt2(rng, d=128, L=2, H=4, V=1999, n_ctx=64)
    W = write_model(tmp_path / "gpt2w", cfg, t)
    run_parity(lib, tmp_path / "gpt2w", "gpt2", cfg, W, rng, lens=(40, 25, 7))
    cfg, t = make_llama(rng, d=128, L=2, H=8, Hkv=2, V=3001, F=352, n_ctx=64)
    W = write_model(tmp_path / "llamaw", cfg, t)
    run_parity(lib, tmp_path / "llamaw", "llama", cfg, W, rng, lens=(11, 9, 3))


def test_gpt2_transformer_prefix_and_buffers(lib, tmp_path):
    rng = np.random.default_rng(2)
    cfg, t = make_gpt2(rng, d=32, L=3, V=61, prefix="transformer.", buffers=True)
    W = write_model(tmp_path / "gpt2p", cfg, t)
    run_parity(lib, tmp_path / "gpt2p", "gpt2", cfg, W, rng,
               expect_params=n_params(W, skip=(".attn.bias", ".attn.masked_bias")))


@pytest.mark.parametrize("parallel", [True, False])
def test_neox_parity(lib, tmp_path, parallel):
    rng = np.random.default_rng(3 + parallel)
    cfg, t = make_neox(rng, pct=0.25 if parallel else 0.5, parallel=parallel,
                       base=10000.0 if parallel else 500.0)
    W = write_model(tmp_path / "neox", cfg, t)
    run_parity(lib, tmp_path / "neox", "neox", cfg, W, rng,
               expect_params=n_params(W, skip=(".inv_freq",)))


def test_llama_gqa_parity(lib, tmp_path):
    rng = np.random.default_rng(5)
    cfg, t = make_llama(rng)
    W = write_model(tmp_path / "llama", cfg, t)
    run_parity(lib, tmp_path / "llama", "llama", cfg, W, rng, expect_params=n_params(W))


def test_llama_tied_theta(lib, tmp_path):
    rng = np.random.default_rng(6)
    cfg, t = make_llama(rng, d=64, L=2, H=4, Hkv=1, V=71, theta=500000.0, tied=True)
    W = write_model(tmp_path / "llama_t", cfg, t)
    run_parity(lib, tmp_path / "llama_t", "llama", cfg, W, rng, expect_params=n_params(W))


@pytest.mark.parametrize("dtype", ["F16", "BF16"])
def test_half_checkpoints(lib, tmp_path, dtype):
    """F16/BF16 weights are converted once at load; the reference uses the rounded values."""
    rng = np.random.default_rng(7)
    cfg, t = make_llama(rng, L=2)
    W = write_model(tmp_path / dtype, cfg, t, dtype=dtype)
    assert any(np.any(W[k] != t[k]) for k in t)  # rounding really happened
    run_parity(lib, tmp_path / dtype, "llama", cfg, W, rng)
    rng = np.random.default_rng(8)
    cfg, t = make_neox(rng, parallel=False)
    W = write_model(tmp_path / (dtype + "n"), cfg, t, dtype=dtype)
    run_parity(lib, tmp_path / (dtype + "n"), "neox", cfg, W, rng)


def test_sharded_checkpoint(lib, tmp_path):
    rng = np.random.default_rng(9)
    cfg, t = make_gpt2(rng, V=83)
    W = write_model(tmp_path / "sharded", cfg, t, shards=2)
    assert not (tmp_path / "sharded" / "model.safetensors").exists()
    run_parity(lib, tmp_path / "sharded", "gpt2", cfg, W, rng)


def test_head_selection_and_gqa_shapes(lib, tmp_path):
    """`[h]` gives a [B,T,1,dh] view of head h; k/v stay at kv-head granularity."""
    rng = np.random.default_rng(10)
    cfg, t = make_llama(rng, L=1, H=4, Hkv=2)
    write_model(tmp_path / "m", cfg, t)
    with Model(lib, tmp_path / "m") as m:
        assert m.rc == STRATA_OK, m.msg
        assert m.capture("blocks.0.attn.hook_z") == STRATA_OK
        assert m.capture("blocks.0.attn.hook_k") == STRATA_OK
        seqs = make_seqs(rng, m.cfg.vocab_size)
        m.run(seqs, logits=False)
        full_z, full_k = m.cache["blocks.0.attn.hook_z"], m.cache["blocks.0.attn.hook_k"]
        assert full_k.shape[2] == 2
        m.lib.strata_hook_clear(m.h)
        assert m.capture("blocks.0.attn.hook_z[3]") == STRATA_OK
        m.run(seqs, logits=False)
        z3 = m.cache["blocks.0.attn.hook_z"]
        assert z3.shape == full_z[:, :, 3:4].shape
        np.testing.assert_array_equal(z3, full_z[:, :, 3:4])
        m.lib.strata_hook_clear(m.h)
        assert m.capture("blocks.0.attn.hook_k[1]") == STRATA_OK
        assert m.capture("blocks.0.attn.hook_v[2]") != STRATA_OK  # only 2 kv heads
        m.run(seqs, logits=False)
        np.testing.assert_array_equal(m.cache["blocks.0.attn.hook_k"], full_k[:, :, 1:2])
