#!/usr/bin/python3
"""The PyTorch + h5py pipeline doing the same job as `strata capture`
(baseline for bench/capture/run.sh).

    /usr/bin/python3 bench/capture/torch_capture.py MODEL_DIR TOKENS_FILE OUT.h5 [BATCH] [THREADS]

A plain GPT-2 forward in torch (weights from model.safetensors, float32,
eager attention with causal + padding mask, gelu_new), forward hooks on every
block output (= hook_resid_post) that keep the rows t < length of each
sequence, appended per batch to extendible chunked h5py datasets
/acts/blocks.{l}.hook_resid_post [R, d] and flushed, as strata does.
Prints tokens/s (forward + hooks + write, excluding model load) and the
forward-only tokens/s of the same model (no hooks, no file).
With --one-pass the forward-only pass is skipped: the process is then the
whole one-pass pipeline (interpreter, imports, weights, capture, close), to
be timed from outside against `strata capture` (bench/capture/whole.sh).
"""
import json
import math
import struct
import sys
import time

import h5py
import numpy as np
import torch


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        hdr = json.loads(f.read(n))
        base = 8 + n
    mm = np.memmap(path, dtype=np.uint8, mode="r")
    out = {}
    for k, v in hdr.items():
        if k == "__metadata__":
            continue
        a, b = v["data_offsets"]
        out[k] = torch.from_numpy(np.array(mm[base + a: base + b].view(np.float32)).reshape(v["shape"]))
    return out


class Block(torch.nn.Module):
    def __init__(self, w, p, n_head):
        super().__init__()
        self.w = {k[len(p):]: t for k, t in w.items() if k.startswith(p)}
        self.h = n_head

    def forward(self, x, mask):
        w = self.w
        B, T, D = x.shape
        hd = D // self.h
        a = torch.nn.functional.layer_norm(x, (D,), w["ln_1.weight"], w["ln_1.bias"], 1e-5)
        qkv = a @ w["attn.c_attn.weight"] + w["attn.c_attn.bias"]
        q, k, v = qkv.split(D, dim=2)
        q = q.view(B, T, self.h, hd).transpose(1, 2)
        k = k.view(B, T, self.h, hd).transpose(1, 2)
        v = v.view(B, T, self.h, hd).transpose(1, 2)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(hd) + mask
        z = torch.softmax(s, dim=-1) @ v
        z = z.transpose(1, 2).reshape(B, T, D)
        x = x + z @ w["attn.c_proj.weight"] + w["attn.c_proj.bias"]
        m = torch.nn.functional.layer_norm(x, (D,), w["ln_2.weight"], w["ln_2.bias"], 1e-5)
        m = m @ w["mlp.c_fc.weight"] + w["mlp.c_fc.bias"]
        m = 0.5 * m * (1 + torch.tanh(math.sqrt(2 / math.pi) * (m + 0.044715 * m ** 3)))
        return x + m @ w["mlp.c_proj.weight"] + w["mlp.c_proj.bias"]


class GPT2(torch.nn.Module):
    def __init__(self, d):
        super().__init__()
        cfg = json.load(open(d + "/config.json"))
        w = load_safetensors(d + "/model.safetensors")
        w = {k[len("transformer."):] if k.startswith("transformer.") else k: v for k, v in w.items()}
        self.wte, self.wpe = w["wte.weight"], w["wpe.weight"]
        self.blocks = torch.nn.ModuleList(Block(w, f"h.{i}.", cfg["n_head"]) for i in range(cfg["n_layer"]))
        self.d = cfg["n_embd"]

    def forward(self, ids, lengths):
        B, T = ids.shape
        x = self.wte[ids] + self.wpe[:T]
        causal = torch.full((T, T), float("-inf")).triu(1)
        pad = torch.zeros(B, 1, 1, T)
        for b in range(B):
            pad[b, :, :, lengths[b]:] = float("-inf")
        mask = causal + pad
        mask = torch.nan_to_num(mask, neginf=-1e30)
        for blk in self.blocks:
            x = blk(x, mask)
        return x


def batches(docs, bs):
    for i in range(0, len(docs), bs):
        chunk = docs[i:i + bs]
        T = max(len(d) for d in chunk)
        ids = torch.zeros(len(chunk), T, dtype=torch.long)
        for j, d in enumerate(chunk):
            ids[j, :len(d)] = torch.tensor(d)
        yield ids, [len(d) for d in chunk]


def main():
    one_pass = "--one-pass" in sys.argv
    if one_pass:
        sys.argv.remove("--one-pass")
    model_dir, tokens, out = sys.argv[1:4]
    bs = int(sys.argv[4]) if len(sys.argv) > 4 else 8
    torch.set_num_threads(int(sys.argv[5]) if len(sys.argv) > 5 else 2)
    docs = [[int(x) for x in l.split()] for l in open(tokens) if l.strip()]
    ntok = sum(len(d) for d in docs)
    model = GPT2(model_dir)
    with torch.no_grad():
        t_fwd = 0.0
        if not one_pass:
            t0 = time.time()
            for ids, lens in batches(docs, bs):
                model(ids, lens)
            t_fwd = time.time() - t0

        t0 = time.time()
        f = h5py.File(out, "w")
        L, D = len(model.blocks), model.d
        chunk = max(1, (1 << 20) // (4 * D))
        dsets = [f.create_dataset(f"acts/blocks.{l}.hook_resid_post", (0, D), "f4",
                                  maxshape=(None, D), chunks=(chunk, D)) for l in range(L)]
        rows = f.create_dataset("rows", (0,), "i8", maxshape=(None,), chunks=(65536,))
        cur = {}

        def hook(l):
            def fn(mod, inp, outp):
                cur[l] = torch.cat([outp[b, :n] for b, n in enumerate(cur["lens"])]).numpy()
            return fn

        hs = [blk.register_forward_hook(hook(l)) for l, blk in enumerate(model.blocks)]
        R = 0
        tok_base = 0
        for ids, lens in batches(docs, bs):
            cur["lens"] = lens
            model(ids, lens)
            n = sum(lens)
            for l in range(L):
                dsets[l].resize(R + n, axis=0)
                dsets[l][R:R + n] = cur[l]
            rows.resize(R + n, axis=0)
            rows[R:R + n] = np.arange(tok_base, tok_base + n)
            R += n
            tok_base += n
            f.flush()
        f.attrs["complete"] = True
        f.close()
        t_cap = time.time() - t0
        for h in hs:
            h.remove()
    fwd = f"forward-only {ntok / t_fwd:.0f} tok/s, " if t_fwd > 0 else ""
    print(f"torch: docs {len(docs)} tokens {ntok}: {fwd}capture (hooks + h5py) {ntok / t_cap:.0f} tok/s")


if __name__ == "__main__":
    main()
