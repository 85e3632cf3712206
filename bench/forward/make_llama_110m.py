#!/usr/bin/python3
"""Writes a Llama-110M-shaped model (llama2.c's stories110M shape, random weights) in Hugging Face layout.

usage: bench/forward/make_llama_110m.py OUT_DIR

OUT_DIR gets config.json (model_type llama: hidden 768, 12 layers, 12 heads = 12 kv heads,
intermediate 2048, vocab 32000, 1024 positions, tied embeddings, SiLU, RMSNorm eps 1e-5, rope
theta 10000) and a float32 model.safetensors (110M parameters, 440 MB): matrices N(0, 0.02),
norm gains 1, seeded.  Only numpy is needed.  Skips the work if OUT_DIR already holds it.
"""
import json
import os
import struct
import sys

import numpy as np

D, L, H, F, V, CTX = 768, 12, 12, 2048, 32000, 1024


def tensors():
    yield "model.embed_tokens.weight", (V, D)
    for i in range(L):
        p = "model.layers.%d." % i
        yield p + "input_layernorm.weight", (D,)
        for m in ("q", "k", "v", "o"):
            yield p + "self_attn.%s_proj.weight" % m, (D, D)
        yield p + "post_attention_layernorm.weight", (D,)
        yield p + "mlp.gate_proj.weight", (F, D)
        yield p + "mlp.up_proj.weight", (F, D)
        yield p + "mlp.down_proj.weight", (D, F)
    yield "model.norm.weight", (D,)


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    st = os.path.join(out, "model.safetensors")
    if os.path.exists(st) and os.path.exists(os.path.join(out, "config.json")):
        print("%s: up to date" % out)
        return
    cfg = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=D, num_hidden_layers=L,
               num_attention_heads=H, num_key_value_heads=H, intermediate_size=F, vocab_size=V,
               max_position_embeddings=CTX, rms_norm_eps=1e-5, rope_theta=10000.0,
               tie_word_embeddings=True, hidden_act="silu", torch_dtype="float32")
    header, off = {}, 0
    for name, shape in tensors():
        n = int(np.prod(shape)) * 4
        header[name] = {"dtype": "F32", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(0)
    tmp = st + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in tensors():
            if len(shape) == 1:
                a = np.ones(shape, np.float32)
            else:
                a = rng.standard_normal(shape, dtype=np.float32) * np.float32(0.02)
            f.write(a.tobytes())
    os.replace(tmp, st)
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f, indent=2)
    print("%s: %.0f MB" % (out, off / 1e6))


if __name__ == "__main__":
    main()
