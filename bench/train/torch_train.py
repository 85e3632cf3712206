"""bench/train/torch_train.py INIT_DIR ROWS_FILE STEPS BATCH THREADS — the PyTorch eager
baseline of `strata train`: the same GPT-2 (HF modeling_gpt2.py math written with torch ops,
tanh-GELU, tied unembedding), the same batches (rows s*B.., all of length T here), AdamW with
decay on 2-D tensors, clip_grad_norm_(1.0), lr 1e-3 constant.  Prints one JSON line:
tokens/s over steps 2..STEPS (the first step is warm-up, as in the strata number) and the
peak RSS."""
import json
import resource
import struct
import sys
import time

import numpy as np
import torch

F = torch.nn.functional


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    return {k: torch.tensor(np.frombuffer(data[e["data_offsets"][0]:e["data_offsets"][1]], np.float32)
                            .reshape(e["shape"]).copy())
            for k, e in header.items() if k != "__metadata__"}


def forward(P, cfg, ids):
    L, H, d = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    B, T = ids.shape
    dh = d // H
    x = P["wte.weight"][ids] + P["wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        p = f"h.{l}."
        h = F.layer_norm(x, (d,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], 1e-5)
        qkv = torch.addmm(P[p + "attn.c_attn.bias"], h.view(-1, d), P[p + "attn.c_attn.weight"]).view(B, T, 3 * d)
        q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in qkv.split(d, dim=-1))
        s = (q @ k.transpose(-1, -2)) * (dh ** -0.5)
        s = s.masked_fill(~mask, float("-inf"))
        z = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B * T, d)
        x = x + torch.addmm(P[p + "attn.c_proj.bias"], z, P[p + "attn.c_proj.weight"]).view(B, T, d)
        if not cfg.get("strata_attn_only"):
            h = F.layer_norm(x, (d,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], 1e-5).view(-1, d)
            f = F.gelu(torch.addmm(P[p + "mlp.c_fc.bias"], h, P[p + "mlp.c_fc.weight"]), approximate="tanh")
            x = x + torch.addmm(P[p + "mlp.c_proj.bias"], f, P[p + "mlp.c_proj.weight"]).view(B, T, d)
    x = F.layer_norm(x, (d,), P["ln_f.weight"], P["ln_f.bias"], 1e-5)
    return x @ P["wte.weight"].T


def main():
    init, rows_path, steps, B, threads = sys.argv[1], sys.argv[2], *map(int, sys.argv[3:6])
    torch.set_num_threads(threads)
    cfg = json.load(open(f"{init}/config.json"))
    P = {k: v.requires_grad_(True) for k, v in read_safetensors(f"{init}/model.safetensors").items()}
    rows = [list(map(int, l.split())) for l in open(rows_path) if l.strip()]
    opt = torch.optim.AdamW([{"params": [p for p in P.values() if p.dim() == 2], "weight_decay": 0.01},
                             {"params": [p for p in P.values() if p.dim() == 1], "weight_decay": 0.0}],
                            lr=1e-3, betas=(0.9, 0.999), eps=1e-8)
    tokens, t1 = 0, None
    for s in range(steps):
        batch = torch.tensor([rows[(s * B + i) % len(rows)] for i in range(B)])
        # T positions, T-1 predictions per row, as strata computes them
        ids, tgt = batch, torch.cat([batch[:, 1:], torch.full((B, 1), -100)], dim=1)
        logits = forward(P, cfg, ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(list(P.values()), 1.0)
        opt.step()
        if s == 0:
            t1 = time.perf_counter()
        else:
            tokens += batch.numel()
    dt = time.perf_counter() - t1
    print(json.dumps({"impl": "torch", "tokens_per_s": tokens / dt, "loss": loss.item(),
                      "peak_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                      "torch": torch.__version__, "threads": torch.get_num_threads()}))


if __name__ == "__main__":
    main()
