"""Writes a random Llama-shaped BF16 checkpoint (config.json + model.safetensors) for
bench/models: python3 make_llama_bf16.py OUT_DIR [1b|7b|tiny]

  1b:   Llama-3.2-1B's shape: d 2048, 16 layers, 32 heads, 8 kv heads, d_mlp 8192,
        vocab 128256, tied (1.24 B parameters, 2.47 GB in BF16, 4.9 GB as float32)
  7b:   Llama-2-7B's shape: d 4096, 32 layers, 32 heads, d_mlp 11008, vocab 32000, untied
        (6.7 B parameters, 13.5 GB BF16, 27 GB as float32: more than this 24 GiB machine)
Weights are N(0, 0.02) (norm gains 1), streamed tensor by tensor so the writer itself
needs little memory.  Seeded: the same files every time.
"""
import json
import os
import struct
import sys

import numpy as np

SHAPES = {"1b": dict(d=2048, L=16, H=32, Hkv=8, F=8192, V=128256, tied=True),
          "7b": dict(d=4096, L=32, H=32, Hkv=32, F=11008, V=32000, tied=False),
          "tiny": dict(d=256, L=2, H=4, Hkv=2, F=512, V=1000, tied=True)}


def tensors(s):
    d, dh = s["d"], s["d"] // s["H"]
    yield "model.embed_tokens.weight", (s["V"], d)
    for i in range(s["L"]):
        p = "model.layers.%d." % i
        yield p + "input_layernorm.weight", (d,)
        yield p + "self_attn.q_proj.weight", (s["H"] * dh, d)
        yield p + "self_attn.k_proj.weight", (s["Hkv"] * dh, d)
        yield p + "self_attn.v_proj.weight", (s["Hkv"] * dh, d)
        yield p + "self_attn.o_proj.weight", (d, s["H"] * dh)
        yield p + "post_attention_layernorm.weight", (d,)
        yield p + "mlp.gate_proj.weight", (s["F"], d)
        yield p + "mlp.up_proj.weight", (s["F"], d)
        yield p + "mlp.down_proj.weight", (d, s["F"])
    yield "model.norm.weight", (d,)
    if not s["tied"]:
        yield "lm_head.weight", (s["V"], d)


def main():
    out, kind = sys.argv[1], sys.argv[2] if len(sys.argv) > 2 else "1b"
    s = SHAPES[kind]
    os.makedirs(out, exist_ok=True)
    cfg = dict(model_type="llama", hidden_size=s["d"], num_hidden_layers=s["L"],
               num_attention_heads=s["H"], num_key_value_heads=s["Hkv"], intermediate_size=s["F"],
               vocab_size=s["V"], max_position_embeddings=4096, rms_norm_eps=1e-5,
               rope_theta=500000.0, tie_word_embeddings=s["tied"], hidden_act="silu",
               torch_dtype="bfloat16")
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(cfg, f)
    header, off, order = {}, 0, list(tensors(s))
    for name, shape in order:
        n = int(np.prod(shape)) * 2
        header[name] = {"dtype": "BF16", "shape": list(shape), "data_offsets": [off, off + n]}
        off += n
    h = json.dumps(header).encode()
    h += b" " * ((8 - len(h) % 8) % 8)
    rng = np.random.default_rng(0)
    with open(os.path.join(out, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)))
        f.write(h)
        for name, shape in order:
            rows = shape[0] if len(shape) == 2 else 1
            cols = shape[-1]
            step = max(1, (1 << 24) // cols)
            for r0 in range(0, rows, step):
                r = min(step, rows - r0)
                if len(shape) == 1:
                    a = np.ones(cols, np.float32)
                else:
                    a = (rng.standard_normal((r, cols), dtype=np.float32) * 0.02)
                u = a.view(np.uint32)
                f.write(((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16).tobytes())
    print("wrote", out, "%.2f GB" % (off / 1e9))


if __name__ == "__main__":
    main()
