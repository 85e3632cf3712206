#!/usr/bin/python3
"""Writes a GPT-2-small-shaped model (124M parameters, random weights) in Hugging Face layout.

usage: bench/make_gpt2_small.py OUT_DIR (or --out OUT_DIR) [--seed N] [--dtype F32|F16|BF16] [--layers L]

OUT_DIR gets config.json (model_type gpt2: n_embd 768, n_layer 12, n_head 12, n_positions 1024,
vocab_size 50257) and model.safetensors with every tensor GPT2LMHeadModel has (Conv1D weights
[in, out], tied unembedding), weights N(0, 0.02) as GPT-2 initialises them (LayerNorm gains 1,
biases 0), seeded so every run writes the same file.  Only numpy is needed.  Skips the work if
OUT_DIR already holds a model written with the same arguments.
"""
import argparse
import json
import os
import struct
import sys

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("out", nargs="?")
    ap.add_argument("--out", dest="out_opt", help="same as OUT_DIR")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dtype", default="F32", choices=["F32", "F16", "BF16"])
    ap.add_argument("--layers", type=int, default=12)
    a = ap.parse_args()
    a.out = a.out or a.out_opt
    if not a.out:
        ap.error("OUT_DIR is required")
    d, H, L, V, n_ctx = 768, 12, a.layers, 50257, 1024
    F = 4 * d
    os.makedirs(a.out, exist_ok=True)
    stamp = os.path.join(a.out, ".make_gpt2_small.json")
    args = {"seed": a.seed, "dtype": a.dtype, "layers": L, "version": 1}
    if os.path.exists(stamp) and os.path.exists(os.path.join(a.out, "model.safetensors")):
        with open(stamp) as f:
            if json.load(f) == args:
                print("%s: up to date" % a.out)
                return
    cfg = {"model_type": "gpt2", "architectures": ["GPT2LMHeadModel"], "n_embd": d, "n_layer": L,
           "n_head": H, "n_positions": n_ctx, "n_ctx": n_ctx, "vocab_size": V, "n_inner": None,
           "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
           "bos_token_id": 50256, "eos_token_id": 50256}
    shapes = [("wte.weight", (V, d), "w"), ("wpe.weight", (n_ctx, d), "w")]
    for i in range(L):
        p = "h.%d." % i
        shapes += [(p + "ln_1.weight", (d,), "1"), (p + "ln_1.bias", (d,), "0"),
                   (p + "attn.c_attn.weight", (d, 3 * d), "w"), (p + "attn.c_attn.bias", (3 * d,), "0"),
                   (p + "attn.c_proj.weight", (d, d), "w"), (p + "attn.c_proj.bias", (d,), "0"),
                   (p + "ln_2.weight", (d,), "1"), (p + "ln_2.bias", (d,), "0"),
                   (p + "mlp.c_fc.weight", (d, F), "w"), (p + "mlp.c_fc.bias", (F,), "0"),
                   (p + "mlp.c_proj.weight", (F, d), "w"), (p + "mlp.c_proj.bias", (d,), "0")]
    shapes += [("ln_f.weight", (d,), "1"), ("ln_f.bias", (d,), "0")]
    esize = 4 if a.dtype == "F32" else 2
    header, off = {}, 0
    for name, shp, _ in shapes:
        n = int(np.prod(shp)) * esize
        header[name] = {"dtype": a.dtype, "shape": list(shp), "data_offsets": [off, off + n]}
        off += n
    header["__metadata__"] = {"format": "pt", "generator": "strata bench/make_gpt2_small.py"}
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(a.seed)
    tmp = os.path.join(a.out, "model.safetensors.tmp")
    n_params = 0
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shp, init in shapes:
            if init == "w":
                x = rng.standard_normal(shp, dtype=np.float32) * np.float32(0.02)
            else:
                x = np.full(shp, 1.0 if init == "1" else 0.0, np.float32)
            n_params += x.size
            if a.dtype == "F16":
                x = x.astype(np.float16)
            elif a.dtype == "BF16":
                u = x.view(np.uint32).astype(np.uint64)
                x = ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)
            f.write(x.tobytes())
    os.replace(tmp, os.path.join(a.out, "model.safetensors"))
    with open(os.path.join(a.out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    with open(stamp, "w") as f:
        json.dump(args, f)
    print("%s: %d parameters (%.1fM), %s, %.0f MB" % (a.out, n_params, n_params / 1e6, a.dtype,
                                                      (off + len(h) + 8) / 1e6))


if __name__ == "__main__":
    sys.exit(main())
