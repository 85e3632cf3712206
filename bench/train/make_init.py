"""bench/train/make_init.py OUT_DIR L H D F T V [attn_only] — a GPT-2 Hugging Face folder with
random N(0, 0.02^2) weights (numpy only), the start of both the strata and the PyTorch run."""
import json
import os
import struct
import sys

import numpy as np


def main():
    out, L, H, d, F, T, V = sys.argv[1], *map(int, sys.argv[2:8])
    attn_only = len(sys.argv) > 8 and sys.argv[8] == "attn_only"
    rng = np.random.default_rng(0)
    W = {"wte.weight": rng.normal(0, 0.02, (V, d)), "wpe.weight": rng.normal(0, 0.02, (T, d))}
    for l in range(L):
        p = f"h.{l}."
        W[p + "ln_1.weight"], W[p + "ln_1.bias"] = np.ones(d), np.zeros(d)
        W[p + "attn.c_attn.weight"], W[p + "attn.c_attn.bias"] = rng.normal(0, 0.02, (d, 3 * d)), np.zeros(3 * d)
        W[p + "attn.c_proj.weight"], W[p + "attn.c_proj.bias"] = rng.normal(0, 0.02, (d, d)), np.zeros(d)
        if not attn_only:
            W[p + "ln_2.weight"], W[p + "ln_2.bias"] = np.ones(d), np.zeros(d)
            W[p + "mlp.c_fc.weight"], W[p + "mlp.c_fc.bias"] = rng.normal(0, 0.02, (d, F)), np.zeros(F)
            W[p + "mlp.c_proj.weight"], W[p + "mlp.c_proj.bias"] = rng.normal(0, 0.02, (F, d)), np.zeros(d)
    W["ln_f.weight"], W["ln_f.bias"] = np.ones(d), np.zeros(d)
    os.makedirs(out, exist_ok=True)
    cfg = {"model_type": "gpt2", "n_layer": L, "n_head": H, "n_embd": d, "n_positions": T,
           "vocab_size": V, "n_inner": None if attn_only else F, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new"}
    if attn_only:
        cfg["strata_attn_only"] = True
    json.dump(cfg, open(os.path.join(out, "config.json"), "w"))
    header, off, blobs = {}, 0, []
    for k, v in W.items():
        a = np.ascontiguousarray(v, np.float32)
        header[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h)
        for b in blobs:
            f.write(b)


if __name__ == "__main__":
    main()
