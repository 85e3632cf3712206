"""Writes small random GPT-2 model directories (Hugging Face layout) and training
folders of step-<N>/ checkpoints in the layout of CONTRACTS.md, with numpy only.

    write_gpt2(dir, n_layer=2, n_head=2, d=16, n_ctx=32, vocab=20, seed=0, std=0.02)
    write_family(root, steps=[0, 100, 200], ...)  # root/step-N/{config.json,
                                                  #   model.safetensors, trainer_state.json}
Used by the sweep tests and bench/sweep (not a strata API).
"""
import json
import os
import struct

import numpy as np


def _tensors(L, d, V, n_ctx, d_mlp, rng, std):
    t = [("wte.weight", rng.standard_normal((V, d)) * std),
         ("wpe.weight", rng.standard_normal((n_ctx, d)) * std)]
    for i in range(L):
        p = "h.%d." % i
        t += [(p + "ln_1.weight", np.ones(d)), (p + "ln_1.bias", np.zeros(d)),
              (p + "attn.c_attn.weight", rng.standard_normal((d, 3 * d)) * std),
              (p + "attn.c_attn.bias", np.zeros(3 * d)),
              (p + "attn.c_proj.weight", rng.standard_normal((d, d)) * std),
              (p + "attn.c_proj.bias", np.zeros(d)),
              (p + "ln_2.weight", np.ones(d)), (p + "ln_2.bias", np.zeros(d)),
              (p + "mlp.c_fc.weight", rng.standard_normal((d, d_mlp)) * std),
              (p + "mlp.c_fc.bias", np.zeros(d_mlp)),
              (p + "mlp.c_proj.weight", rng.standard_normal((d_mlp, d)) * std),
              (p + "mlp.c_proj.bias", np.zeros(d))]
    t += [("ln_f.weight", np.ones(d)), ("ln_f.bias", np.zeros(d))]
    return t


def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, x in tensors:
        b = np.ascontiguousarray(x, np.float32).tobytes()
        header[name] = {"dtype": "F32", "shape": list(np.shape(x)), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for b in blobs:
            f.write(b)


def write_gpt2(out, n_layer=2, n_head=2, d=16, n_ctx=32, vocab=20, seed=0, std=0.02, d_mlp=None,
               state=None, tensors=None):
    """One model directory; returns its parameter count."""
    os.makedirs(out, exist_ok=True)
    d_mlp = d_mlp or 4 * d
    cfg = {"model_type": "gpt2", "n_embd": d, "n_layer": n_layer, "n_head": n_head,
           "n_positions": n_ctx, "n_ctx": n_ctx, "vocab_size": vocab, "n_inner": d_mlp,
           "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
           "tie_word_embeddings": True}
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f)
    if tensors is None:
        tensors = _tensors(n_layer, d, vocab, n_ctx, d_mlp, np.random.default_rng(seed), std)
    write_safetensors(os.path.join(out, "model.safetensors"), tensors)
    n_params = int(sum(np.size(x) for _, x in tensors))
    if state is not None:
        st = dict(state)
        st.setdefault("n_params", n_params)
        with open(os.path.join(out, "trainer_state.json"), "w") as f:
            json.dump(st, f)
    return n_params


def write_family(root, steps, tokens_per_step=1000, seed=0, **kw):
    """A training folder: checkpoint k has the init of seed `seed` scaled by
    (1 + k) (so measures move between checkpoints); returns the step dirs."""
    dirs = []
    base = None
    for k, s in enumerate(steps):
        d = os.path.join(root, "step-%d" % s)
        n_layer, d_model = kw.get("n_layer", 2), kw.get("d", 16)
        if base is None:
            base = _tensors(n_layer, d_model, kw.get("vocab", 20), kw.get("n_ctx", 32),
                            kw.get("d_mlp") or 4 * d_model, np.random.default_rng(seed),
                            kw.get("std", 0.02))
        scaled = [(n, x if "ln_" in n else x * (1 + 2 * k)) for n, x in base]
        write_gpt2(d, tensors=scaled, state={"step": s, "tokens_seen": s * tokens_per_step,
                                             "loss": 0.0, "lr": 0.0, "seed": seed,
                                             "strata_version": "test"}, **kw)
        dirs.append(d)
    return dirs
