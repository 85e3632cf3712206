#!/usr/bin/env python3
"""Writes the small committed seed files of tests/fuzz/seeds/<harness>/.

Seeds built from ../shared (real models, tokenizers) are assembled at run time
by tests/fuzz/run.sh instead, so that nothing large is committed.
Usage: /usr/bin/python3 tests/fuzz/make_seeds.py   (needs numpy)"""
import json
import os
import struct

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
SEEDS = os.path.join(HERE, "seeds")
SEP = b"\n--\n"


def put(harness, name, data):
    d = os.path.join(SEEDS, harness)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def safetensors(tensors):
    hdr, off, blobs = {}, 0, []
    for k, a in tensors.items():
        b = np.ascontiguousarray(a, np.float32).tobytes()
        hdr[k] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        off += len(b)
        blobs.append(b)
    h = json.dumps(hdr).encode()
    return struct.pack("<Q", len(h)) + h + b"".join(blobs)


def tiny_llama():
    rng = np.random.default_rng(0)
    d, f, v, L = 8, 16, 12, 1
    cfg = {"model_type": "llama", "architectures": ["LlamaForCausalLM"], "hidden_size": d,
           "intermediate_size": f, "num_attention_heads": 2, "num_key_value_heads": 1,
           "num_hidden_layers": L, "vocab_size": v, "max_position_embeddings": 16,
           "rms_norm_eps": 1e-5, "rope_theta": 10000.0, "tie_word_embeddings": False,
           "hidden_act": "silu"}
    t = {"model.embed_tokens.weight": rng.normal(size=(v, d)), "model.norm.weight": np.ones(d),
         "lm_head.weight": rng.normal(size=(v, d))}
    for i in range(L):
        p = f"model.layers.{i}."
        t[p + "input_layernorm.weight"] = np.ones(d)
        t[p + "post_attention_layernorm.weight"] = np.ones(d)
        t[p + "self_attn.q_proj.weight"] = rng.normal(size=(d, d))
        t[p + "self_attn.k_proj.weight"] = rng.normal(size=(d // 2, d))
        t[p + "self_attn.v_proj.weight"] = rng.normal(size=(d // 2, d))
        t[p + "self_attn.o_proj.weight"] = rng.normal(size=(d, d))
        t[p + "mlp.gate_proj.weight"] = rng.normal(size=(f, d))
        t[p + "mlp.up_proj.weight"] = rng.normal(size=(f, d))
        t[p + "mlp.down_proj.weight"] = rng.normal(size=(d, f))
    return json.dumps(cfg).encode(), safetensors(t)


def tiny_gpt2():
    rng = np.random.default_rng(1)
    d, v, L, n = 8, 12, 1, 16
    cfg = {"model_type": "gpt2", "n_embd": d, "n_head": 2, "n_layer": L, "n_positions": n,
           "vocab_size": v, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new"}
    t = {"wte.weight": rng.normal(size=(v, d)), "wpe.weight": rng.normal(size=(n, d)),
         "ln_f.weight": np.ones(d), "ln_f.bias": np.zeros(d)}
    for i in range(L):
        p = f"h.{i}."
        for ln in ("ln_1", "ln_2"):
            t[p + ln + ".weight"] = np.ones(d)
            t[p + ln + ".bias"] = np.zeros(d)
        t[p + "attn.c_attn.weight"] = rng.normal(size=(d, 3 * d))
        t[p + "attn.c_attn.bias"] = np.zeros(3 * d)
        t[p + "attn.c_proj.weight"] = rng.normal(size=(d, d))
        t[p + "attn.c_proj.bias"] = np.zeros(d)
        t[p + "mlp.c_fc.weight"] = rng.normal(size=(d, 4 * d))
        t[p + "mlp.c_fc.bias"] = np.zeros(4 * d)
        t[p + "mlp.c_proj.weight"] = rng.normal(size=(4 * d, d))
        t[p + "mlp.c_proj.bias"] = np.zeros(d)
    return json.dumps(cfg).encode(), safetensors(t)


def main():
    for name, (c, s) in {"llama": tiny_llama(), "gpt2": tiny_gpt2()}.items():
        put("fuzz_model_hf", name, c + SEP + s)
    # tokenizer.json: a tiny byte-level BPE and a tiny SentencePiece-style BPE
    # with Llama's decoder chain (Replace, ByteFallback, Fuse, Strip)
    bl = {"version": "1.0", "added_tokens": [{"id": 5, "content": "<|endoftext|>", "special": True}],
          "normalizer": None, "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": False,
                                                  "use_regex": True},
          "post_processor": None, "decoder": {"type": "ByteLevel"},
          "model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "ab": 2, "\u0120": 3, "\u0120a": 4,
                                               "<|endoftext|>": 5},
                    "merges": ["a b", "\u0120 a"]}}
    put("fuzz_tokenizer_json", "bytelevel.json", json.dumps(bl).encode() + SEP + b"ab a ab")
    sp = {"version": "1.0", "added_tokens": [{"id": 1, "content": "<s>", "special": True},
                                             {"id": 2, "content": "</s>", "special": True}],
          "normalizer": {"type": "Sequence", "normalizers": [
              {"type": "Prepend", "prepend": "\u2581"}, {"type": "Replace", "pattern": {"String": " "},
                                                           "content": "\u2581"}]},
          "pre_tokenizer": None,
          "post_processor": {"type": "TemplateProcessing", "single": [
              {"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}}],
              "pair": [], "special_tokens": {"<s>": {"id": "<s>", "ids": [1], "tokens": ["<s>"]}}},
          "decoder": {"type": "Sequence", "decoders": [
              {"type": "Replace", "pattern": {"String": "\u2581"}, "content": " "},
              {"type": "ByteFallback"}, {"type": "Fuse"},
              {"type": "Strip", "content": " ", "start": 1, "stop": 0}]},
          "model": {"type": "BPE", "byte_fallback": True, "unk_token": "<unk>",
                    "vocab": {"<unk>": 0, "<s>": 1, "</s>": 2, "<0x41>": 3, "\u2581": 4, "a": 5,
                              "\u2581a": 6},
                    "merges": ["\u2581 a"]}}
    put("fuzz_tokenizer_json", "sentencepiece.json", json.dumps(sp).encode() + SEP + b"a aA")
    put("fuzz_vocab_merges", "tiny", json.dumps({"a": 0, "b": 1, "ab": 2, "\u0120": 3}).encode()
        + SEP + b"#version: 0.2\na b\n")
    for i, text in enumerate(["Hello world", "caf\u00e9 \u65e5\u672c <s></s> <|endoftext|>",
                              "  \t\n x\u200d\U0001F600", "12345 don't"]):
        for tok in range(4):
            put("fuzz_tokenize", f"t{i}_{tok}", bytes([tok, i % 3]) + text.encode())
    put("fuzz_tokenize", "invalid_utf8", bytes([0, 0]) + b"\xff\xfe\xc3(\xe2\x82")
    put("fuzz_capture_input", "jsonl", b"\x00" + b'{"text": "Once upon a time", "noun": [[5, 9, 1]]}\n'
        b'{"text": "A cat", "noun": 0}\n')
    put("fuzz_capture_input", "jsonl_ids", b"\x00" + b'{"ids": [1, 403, 407], "pos": [0, 1, 2]}\n')
    put("fuzz_capture_input", "text", b"\x01Once upon a time.\nThe end.\n")
    put("fuzz_capture_input", "tokens", b"\x02" + b"1 403 407\n1,2,3\n")
    rng = np.random.default_rng(2)
    for i in range(4):
        put("fuzz_acts", f"r{i}", bytes([0xFF, 4, 0, 4, 0, 1, 0, 3, 2]) + rng.integers(0, 256, 96, np.uint8).tobytes())


if __name__ == "__main__":
    main()
