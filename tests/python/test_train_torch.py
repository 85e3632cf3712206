"""strata train against PyTorch (Debian python3-torch; skipped when torch is absent).

A tiny random GPT-2 is written as a Hugging Face folder with numpy; `strata train --init`
trains it, and an independent PyTorch GPT-2 (written here from Hugging Face's
modeling_gpt2.py: pre-LayerNorm blocks, Conv1D weights [in, out], tanh-GELU, tied
unembedding) takes the same steps with torch.optim.AdamW and
torch.nn.utils.clip_grad_norm_ on the same weights, batches and hyper-parameters.
Weight decay: the 2-D tensors (wte, wpe and every weight matrix) decay, biases and
LayerNorm parameters do not (two torch parameter groups).

Tolerances (all measured values are far below them; the assertion messages print them):
  * AdamW moments after one step: m = (1 - beta1) g and v = (1 - beta2) g^2 compare the
    gradients themselves; |m - m_torch| <= 1e-5 * max|m| (float32 sums in a different order).
  * weights after one step: AdamW's first update is lr * m_hat / (sqrt(v_hat) + eps), i.e.
    about lr * sign(g); |w - w_torch| <= 1e-6 + 1e-3 * lr.  A sign error, a wrong bias
    correction or a decay on the wrong tensor would each differ by ~lr.
  * after 6 steps of warm-up + cosine: |w - w_torch| <= 1e-6 + 2e-3 * lr (float rounding
    grows a little through the steps).
  The key bias (columns d..2d of c_attn.bias) is left out of the weight comparisons: it adds
  q.b_k to every score of a row, which the softmax cancels, so its true gradient is exactly 0
  and both implementations hold float rounding noise (~1e-9) there, which AdamW's
  g / (|g| + eps) turns into updates of either sign up to ~lr.  Its moments are still compared.
  * logits of a checkpoint run by the strata engine vs the torch forward in float64 of the
    same weights: 1e-4 absolute (float32 forward).
The same comparisons run with a loss mask (`--loss-mask LABEL` on JSONL rows): torch's
cross-entropy then ignores (ignore_index) every target whose label is not 1, so the mean is
over the selected targets only.
"""
import json
import os
import struct
import subprocess

import numpy as np
import pytest

torch = pytest.importorskip("torch")
F = torch.nn.functional

CLI = os.environ.get("STRATA_CLI")
pytestmark = pytest.mark.skipif(not CLI, reason="STRATA_CLI is not set (run through ctest)")


# ------------------------------------------------------------------ files

def write_safetensors(path, tensors):
    header, off, blobs = {}, 0, []
    for name, a in tensors.items():
        a = np.ascontiguousarray(a, np.float32)
        header[name] = {"dtype": "F32", "shape": list(a.shape), "data_offsets": [off, off + a.nbytes]}
        blobs.append(a.tobytes())
        off += a.nbytes
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def read_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        assert e["dtype"] == "F32", name
        a, b = e["data_offsets"]
        out[name] = np.frombuffer(data[a:b], np.float32).reshape(e["shape"]).copy()
    return out


def random_gpt2(rng, L, H, d, Fm, T, V, attn_only=False, std=0.2):
    W = {"wte.weight": rng.normal(0, std, (V, d)), "wpe.weight": rng.normal(0, std, (T, d))}
    for l in range(L):
        p = f"h.{l}."
        W[p + "ln_1.weight"] = 1 + rng.normal(0, 0.1, d)
        W[p + "ln_1.bias"] = rng.normal(0, 0.1, d)
        W[p + "attn.c_attn.weight"] = rng.normal(0, std, (d, 3 * d))
        W[p + "attn.c_attn.bias"] = rng.normal(0, 0.1, 3 * d)
        W[p + "attn.c_proj.weight"] = rng.normal(0, std, (d, d))
        W[p + "attn.c_proj.bias"] = rng.normal(0, 0.1, d)
        if not attn_only:
            W[p + "ln_2.weight"] = 1 + rng.normal(0, 0.1, d)
            W[p + "ln_2.bias"] = rng.normal(0, 0.1, d)
            W[p + "mlp.c_fc.weight"] = rng.normal(0, std, (d, Fm))
            W[p + "mlp.c_fc.bias"] = rng.normal(0, 0.1, Fm)
            W[p + "mlp.c_proj.weight"] = rng.normal(0, std, (Fm, d))
            W[p + "mlp.c_proj.bias"] = rng.normal(0, 0.1, d)
    W["ln_f.weight"] = 1 + rng.normal(0, 0.1, d)
    W["ln_f.bias"] = rng.normal(0, 0.1, d)
    W = {k: np.asarray(v, np.float32) for k, v in W.items()}
    cfg = {"model_type": "gpt2", "n_layer": L, "n_head": H, "n_embd": d, "n_positions": T,
           "vocab_size": V, "n_inner": None if attn_only else Fm, "layer_norm_epsilon": 1e-5,
           "activation_function": "gelu_new"}
    if attn_only:
        cfg["strata_attn_only"] = True
    return W, cfg


def write_model(dirpath, W, cfg):
    os.makedirs(dirpath, exist_ok=True)
    with open(os.path.join(dirpath, "config.json"), "w") as f:
        json.dump(cfg, f)
    write_safetensors(os.path.join(dirpath, "model.safetensors"), W)


# ------------------------------------------------------------------ torch GPT-2

def torch_forward(P, cfg, ids):
    """logits [B, T, V] of HF GPT-2 (modeling_gpt2.py) with weights P (name -> tensor)."""
    L, H, d = cfg["n_layer"], cfg["n_head"], cfg["n_embd"]
    eps = cfg["layer_norm_epsilon"]
    B, T = ids.shape
    dh = d // H
    x = P["wte.weight"][ids] + P["wpe.weight"][:T]
    mask = torch.ones(T, T, dtype=torch.bool).tril()
    for l in range(L):
        p = f"h.{l}."
        h = F.layer_norm(x, (d,), P[p + "ln_1.weight"], P[p + "ln_1.bias"], eps)
        qkv = h @ P[p + "attn.c_attn.weight"] + P[p + "attn.c_attn.bias"]
        q, k, v = (t.view(B, T, H, dh).transpose(1, 2) for t in qkv.split(d, dim=-1))
        s = (q @ k.transpose(-1, -2)) / (dh ** 0.5)
        s = s.masked_fill(~mask, float("-inf"))
        z = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, d)
        x = x + z @ P[p + "attn.c_proj.weight"] + P[p + "attn.c_proj.bias"]
        if not cfg.get("strata_attn_only"):
            h = F.layer_norm(x, (d,), P[p + "ln_2.weight"], P[p + "ln_2.bias"], eps)
            f = F.gelu(h @ P[p + "mlp.c_fc.weight"] + P[p + "mlp.c_fc.bias"], approximate="tanh")
            x = x + f @ P[p + "mlp.c_proj.weight"] + P[p + "mlp.c_proj.bias"]
    x = F.layer_norm(x, (d,), P["ln_f.weight"], P["ln_f.bias"], eps)
    return x @ P["wte.weight"].T


def without_key_bias(name, a, cfg):
    """a, with the key-bias columns removed when it is c_attn.bias (see the module doc)."""
    if name.endswith("attn.c_attn.bias"):
        d = cfg["n_embd"]
        return np.concatenate([a[:d], a[2 * d:]])
    return a


def batch_of(rows, B, step, masks=None):
    """The batch strata uses at `step`: rows step*B .. step*B+B-1 (wrapping), padded.
    masks: per-row lists (1, 0 or None per token); token t is a target only where it is 1."""
    idx = [(step * B + i) % len(rows) for i in range(B)]
    T = max(len(rows[j]) for j in idx)
    ids = torch.zeros(B, T, dtype=torch.long)
    tgt = torch.full((B, T), -100, dtype=torch.long)
    for i, j in enumerate(idx):
        r = rows[j]
        ids[i, :len(r)] = torch.tensor(r)
        tgt[i, :len(r) - 1] = torch.tensor(r[1:])
        if masks is not None:
            for t in range(len(r) - 1):
                if masks[j][t + 1] != 1:
                    tgt[i, t] = -100
    return ids, tgt


def lr_at(lr, warmup, steps, s, cosine=True):
    if s < warmup:
        return lr * (s + 1) / warmup
    if not cosine:
        return lr
    return lr * 0.5 * (1 + np.cos(np.pi * (s - warmup) / (steps - warmup)))


def torch_train(W, cfg, rows, B, steps, lr, warmup, wd, betas, eps, clip, cosine=True, masks=None):
    P = {k: torch.tensor(v, requires_grad=True) for k, v in W.items()}
    decay = [P[k] for k in P if P[k].dim() == 2]
    nodecay = [P[k] for k in P if P[k].dim() == 1]
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": wd},
                             {"params": nodecay, "weight_decay": 0.0}],
                            lr=lr, betas=betas, eps=eps, foreach=False)
    losses = []
    for s in range(steps):
        for g in opt.param_groups:
            g["lr"] = lr_at(lr, warmup, steps, s, cosine)
        ids, tgt = batch_of(rows, B, s, masks)
        logits = torch_forward(P, cfg, ids)
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), tgt.reshape(-1), ignore_index=-100)
        opt.zero_grad()
        loss.backward()
        if clip > 0:
            torch.nn.utils.clip_grad_norm_(list(P.values()), clip)
        opt.step()
        losses.append(loss.item())
    state = {k: opt.state[P[k]] for k in P}
    return ({k: v.detach().numpy() for k, v in P.items()},
            {k: state[k]["exp_avg"].numpy() for k in P},
            {k: state[k]["exp_avg_sq"].numpy() for k in P}, losses)


def write_masked_jsonl(path, rows, masks):
    path.write_text("".join(json.dumps({"ids": [int(x) for x in r], "ans": m}) + "\n" for r, m in zip(rows, masks)))


def run_strata_train(tmp_path, init, rows, B, steps, lr, warmup, wd, betas, eps, clip, schedule="cosine",
                     extra=(), masks=None):
    if masks is None:
        data = tmp_path / "rows.txt"
        data.write_text("".join(" ".join(map(str, r)) + "\n" for r in rows))
        source = ["--tokens-file", str(data)]
    else:
        data = tmp_path / "rows.jsonl"
        write_masked_jsonl(data, rows, masks)
        source = ["--jsonl", str(data), "--loss-mask", "ans"]
    out = tmp_path / "out"
    cmd = [CLI, "train", "--out", str(out), "--init", str(init), *source,
           "--steps", str(steps), "--batch", str(B), "--lr", repr(lr), "--warmup", str(warmup),
           "--weight-decay", repr(wd), "--beta1", repr(betas[0]), "--beta2", repr(betas[1]),
           "--eps", repr(eps), "--clip", repr(clip), "--schedule", schedule, "--threads", "1",
           "--overwrite", "--json", *extra]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return out, json.loads(r.stdout)


def make_rows(rng, V, n, lo, hi):
    return [list(rng.integers(0, V, rng.integers(lo, hi + 1))) for _ in range(n)]


def make_masks(rng, rows):
    """Per-token 0/1/None labels, ~40 % ones, at least one 1 after the first token."""
    masks = []
    for r in rows:
        m = [1 if u < 0.4 else (None if u > 0.85 else 0) for u in rng.random(len(r))]
        if not any(x == 1 for x in m[1:]):
            m[len(r) - 1] = 1
        masks.append(m)
    return masks


@pytest.mark.parametrize("attn_only", [False, True])
def test_masked_loss_adamw_steps_equal_torch(tmp_path, attn_only):
    """--loss-mask: one AdamW step (gradients through the moments) and four steps of warm-up +
    cosine, with the masked eval loss, equal torch with the unselected targets ignored."""
    rng = np.random.default_rng(31 + attn_only)
    W, cfg = random_gpt2(rng, L=2, H=2, d=16, Fm=24, T=12, V=23, attn_only=attn_only)
    write_model(tmp_path / "init", W, cfg)
    rows = make_rows(rng, 23, 7, 3, 12)
    masks = make_masks(rng, rows)
    hp = dict(B=4, steps=1, lr=1e-2, warmup=0, wd=0.1, betas=(0.9, 0.95), eps=1e-8, clip=0.5)
    out, summary = run_strata_train(tmp_path, tmp_path / "init", rows, masks=masks, **hp)
    assert summary["n_targets"] == sum(sum(1 for x in m[1:] if x == 1) for m in masks)
    Wt, mt, vt, losses = torch_train(W, cfg, rows, masks=masks, **hp)
    _, _, _, unmasked = torch_train(W, cfg, rows, **hp)
    assert abs(summary["final_loss"] - losses[0]) < 1e-5, (summary["final_loss"], losses[0])
    assert abs(losses[0] - unmasked[0]) > 1e-3   # the mask changes the loss: the test can fail
    got = read_safetensors(out / "step-1" / "model.safetensors")
    opt = read_safetensors(out / "step-1" / "optimizer.safetensors")
    mmax = max(np.abs(v).max() for v in mt.values())
    vmax = max(np.abs(v).max() for v in vt.values())
    for k in W:
        dm = np.abs(opt["exp_avg." + k] - mt[k]).max()
        dv = np.abs(opt["exp_avg_sq." + k] - vt[k]).max()
        dw = np.abs(without_key_bias(k, got[k], cfg) - without_key_bias(k, Wt[k], cfg)).max()
        assert dm <= 1e-5 * mmax, f"{k}: m differs by {dm:.3g} (max |m| {mmax:.3g})"
        assert dv <= 1e-5 * vmax, f"{k}: v differs by {dv:.3g} (max |v| {vmax:.3g})"
        assert dw <= 1e-6 + 1e-3 * hp["lr"], f"{k}: weights differ by {dw:.3g}"

    # four steps with warm-up + cosine and a masked eval file
    ev = make_rows(rng, 23, 5, 3, 12)
    ev_masks = make_masks(rng, ev)
    write_masked_jsonl(tmp_path / "eval.jsonl", ev, ev_masks)
    hp = dict(B=3, steps=4, lr=3e-3, warmup=1, wd=0.01, betas=(0.9, 0.999), eps=1e-8, clip=1.0)
    out, summary = run_strata_train(tmp_path, tmp_path / "init", rows, masks=masks,
                                    extra=("--eval", str(tmp_path / "eval.jsonl")), **hp)
    Wt, _, _, losses = torch_train(W, cfg, rows, masks=masks, **hp)
    log = [json.loads(l) for l in open(out / "log.jsonl")]
    for e, lt in zip(log, losses):
        assert abs(e["loss"] - lt) < 1e-5, (e["step"], e["loss"], lt)
    got = read_safetensors(out / "final" / "model.safetensors")
    worst = max(np.abs(without_key_bias(k, got[k], cfg) - without_key_bias(k, Wt[k], cfg)).max() for k in W)
    assert worst <= 1e-6 + 2e-3 * hp["lr"], worst
    P = {k: torch.tensor(v, dtype=torch.float64) for k, v in got.items()}
    tot, n = 0.0, 0
    for r, m in zip(ev, ev_masks):
        logits = torch_forward(P, cfg, torch.tensor([r]))[0]
        sel = [t for t in range(len(r) - 1) if m[t + 1] == 1]
        tot += F.cross_entropy(logits[sel], torch.tensor([r[t + 1] for t in sel]), reduction="sum").item()
        n += len(sel)
    assert abs(summary["final_eval_loss"] - tot / n) < 1e-5, (summary["final_eval_loss"], tot / n)


@pytest.mark.parametrize("attn_only", [False, True])
def test_one_adamw_step_equals_torch(tmp_path, attn_only):
    rng = np.random.default_rng(1 + attn_only)
    W, cfg = random_gpt2(rng, L=2, H=2, d=16, Fm=24, T=12, V=23, attn_only=attn_only)
    write_model(tmp_path / "init", W, cfg)
    rows = make_rows(rng, 23, 7, 3, 12)          # B = 4: padding in every batch
    hp = dict(B=4, steps=1, lr=1e-2, warmup=0, wd=0.1, betas=(0.9, 0.95), eps=1e-8, clip=0.5)
    out, summary = run_strata_train(tmp_path, tmp_path / "init", rows, **hp)
    Wt, mt, vt, losses = torch_train(W, cfg, rows, **hp)
    assert abs(summary["final_loss"] - losses[0]) < 1e-5, (summary["final_loss"], losses[0])
    got = read_safetensors(out / "step-1" / "model.safetensors")
    opt = read_safetensors(out / "step-1" / "optimizer.safetensors")
    assert set(got) == set(W)
    mmax = max(np.abs(v).max() for v in mt.values())
    vmax = max(np.abs(v).max() for v in vt.values())
    for k in W:
        dm = np.abs(opt["exp_avg." + k] - mt[k]).max()
        dv = np.abs(opt["exp_avg_sq." + k] - vt[k]).max()
        dw = np.abs(without_key_bias(k, got[k], cfg) - without_key_bias(k, Wt[k], cfg)).max()
        assert dm <= 1e-5 * mmax, f"{k}: m differs by {dm:.3g} (max |m| {mmax:.3g})"
        assert dv <= 1e-5 * vmax, f"{k}: v differs by {dv:.3g} (max |v| {vmax:.3g})"
        assert dw <= 1e-6 + 1e-3 * hp["lr"], f"{k}: weights differ by {dw:.3g}"
        # the update really happened (not a no-op compared with itself)
        assert np.abs(got[k] - W[k]).max() > 0.5 * hp["lr"], k


def test_six_steps_warmup_cosine_equal_torch(tmp_path):
    rng = np.random.default_rng(7)
    W, cfg = random_gpt2(rng, L=2, H=4, d=16, Fm=32, T=10, V=19)
    write_model(tmp_path / "init", W, cfg)
    rows = make_rows(rng, 19, 9, 2, 10)
    hp = dict(B=3, steps=6, lr=3e-3, warmup=2, wd=0.01, betas=(0.9, 0.999), eps=1e-8, clip=1.0)
    out, summary = run_strata_train(tmp_path, tmp_path / "init", rows, **hp)
    Wt, _, _, losses = torch_train(W, cfg, rows, **hp)
    log = [json.loads(l) for l in open(out / "log.jsonl")]
    assert [e["step"] for e in log] == list(range(1, 7))
    for e, lt, s in zip(log, losses, range(6)):
        assert abs(e["loss"] - lt) < 1e-5, (e["step"], e["loss"], lt)
        assert abs(e["lr"] - lr_at(3e-3, 2, 6, s)) < 1e-9 * 3e-3   # logged with 9 digits
    got = read_safetensors(out / "final" / "model.safetensors")
    worst = max(np.abs(without_key_bias(k, got[k], cfg) - without_key_bias(k, Wt[k], cfg)).max() for k in W)
    assert worst <= 1e-6 + 2e-3 * hp["lr"], worst


@pytest.mark.parametrize("attn_only", [False, True])
def test_checkpoint_logits_equal_torch(tmp_path, attn_only):
    """A checkpoint strata wrote, run by the strata engine (Python binding), equals a
    float64 torch forward of the weights in its model.safetensors."""
    import strata
    rng = np.random.default_rng(11)
    data = tmp_path / "rows.txt"
    data.write_text("".join(" ".join(map(str, r)) + "\n" for r in make_rows(rng, 31, 20, 4, 16)))
    out = tmp_path / "out"
    cmd = [CLI, "train", "--out", str(out), "--n-layer", "2", "--n-head", "2", "--d-model", "16",
           "--n-ctx", "16", "--vocab", "31", "--tokens-file", str(data), "--steps", "5", "--batch", "4",
           "--lr", "1e-2", "--init-std", "0.1", "--threads", "1"]
    cmd += ["--attn-only"] if attn_only else ["--d-mlp", "40"]
    r = subprocess.run(cmd, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    ck = out / "final"
    cfg = json.load(open(ck / "config.json"))
    P = {k: torch.tensor(v, dtype=torch.float64) for k, v in read_safetensors(ck / "model.safetensors").items()}
    ids = rng.integers(0, 31, (2, 16))
    want = torch_forward(P, cfg, torch.tensor(ids)).numpy()
    m = strata.Model.open(str(ck))
    try:
        got = m.run(ids.astype(np.int32))
    finally:
        m.close()
    assert np.abs(got - want).max() < 1e-4, np.abs(got - want).max()


def test_eval_loss_equals_torch(tmp_path):
    """--eval: the eval loss logged at a saved step is the mean next-token cross-entropy of the
    eval rows under that step's weights (torch forward of the checkpoint's tensors)."""
    rng = np.random.default_rng(5)
    W, cfg = random_gpt2(rng, L=1, H=2, d=16, Fm=32, T=12, V=17)
    write_model(tmp_path / "init", W, cfg)
    ev = make_rows(rng, 17, 5, 2, 12)
    (tmp_path / "eval.txt").write_text("".join(" ".join(map(str, r)) + "\n" for r in ev))
    out, summary = run_strata_train(tmp_path, tmp_path / "init", make_rows(rng, 17, 8, 3, 12), B=2, steps=4,
                                    lr=1e-2, warmup=1, wd=0.0, betas=(0.9, 0.999), eps=1e-8, clip=0.0,
                                    extra=("--eval", str(tmp_path / "eval.txt"), "--save-every", "2"))
    log = {e["step"]: e for e in map(json.loads, open(out / "log.jsonl"))}
    assert log[1]["eval_loss"] is None and log[3]["eval_loss"] is None
    for step in (2, 4):
        P = {k: torch.tensor(v, dtype=torch.float64)
             for k, v in read_safetensors(out / f"step-{step}" / "model.safetensors").items()}
        tot, n = 0.0, 0
        for r in ev:
            logits = torch_forward(P, cfg, torch.tensor([r]))[0]
            tot += F.cross_entropy(logits[:-1], torch.tensor(r[1:]), reduction="sum").item()
            n += len(r) - 1
        assert abs(log[step]["eval_loss"] - tot / n) < 1e-5, (step, log[step]["eval_loss"], tot / n)
    assert abs(summary["final_eval_loss"] - log[4]["eval_loss"]) < 1e-9
    # step-0 (the initial weights) is saved with --save-every
    assert read_safetensors(out / "step-0" / "model.safetensors")["wte.weight"].tolist() == W["wte.weight"].tolist()


def test_text_training_with_a_tokenizer(tmp_path):
    """--text-file and --jsonl text through the GPT-2 tokenizer (../shared): the rows are the
    ids `strata tokenize` gives, the tokenizer files travel into every checkpoint, and a
    checkpoint answers `strata run` on text."""
    shared = os.environ.get("STRATA_SHARED_DIR", "")
    tok = os.path.join(shared, "tokenizers", "gpt2")
    if not os.path.isfile(os.path.join(tok, "tokenizer.json")) and not os.path.isfile(os.path.join(tok, "vocab.json")):
        pytest.skip("no GPT-2 tokenizer under ../shared/tokenizers/gpt2")
    docs = ["The cat sat on the mat.", "Hello world, hello strata!", "One two three four five."]
    (tmp_path / "docs.txt").write_text("\n".join(docs) + "\n")
    (tmp_path / "docs.jsonl").write_text("".join(json.dumps({"text": d, "label": 1}) + "\n" for d in docs))
    outs = []
    for flag, f in (("--text-file", "docs.txt"), ("--jsonl", "docs.jsonl")):
        out = tmp_path / ("out" + flag)
        r = subprocess.run([CLI, "train", "--out", str(out), "--n-layer", "1", "--n-head", "2", "--d-model", "8",
                            "--n-ctx", "32", "--vocab", "50257", flag, str(tmp_path / f), "--tokenizer", tok,
                            "--steps", "2", "--batch", "3", "--lr", "1e-3", "--threads", "1", "--json"],
                           capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        assert json.loads(r.stdout)["tokens_seen"] > 0
        outs.append(out)
        names = set(os.listdir(out / "step-2"))
        assert names & {"tokenizer.json", "vocab.json"}, names
    # the same ids either way: identical training, identical weights
    a = read_safetensors(outs[0] / "final" / "model.safetensors")
    b = read_safetensors(outs[1] / "final" / "model.safetensors")
    assert all(np.array_equal(a[k], b[k]) for k in a)
    # tokens_seen = the number of ids strata tokenize gives for the documents, twice (2 steps of 3 rows)
    n = 0
    for d in docs:
        r = subprocess.run([CLI, "tokenize", tok, d, "--json"], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr
        n += len(json.loads(r.stdout)["ids"])
    st = json.load(open(outs[0] / "final" / "trainer_state.json"))
    assert st["tokens_seen"] == 2 * n
    r = subprocess.run([CLI, "run", str(outs[0] / "final"), "The cat", "--top", "2"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
