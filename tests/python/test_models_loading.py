"""Opening models as they sit on researchers' disks (issue 17, point 1), against references
strata did not produce:

- a GPT-NeoX checkpoint carrying the old causal-mask buffers (attention.bias as BOOL,
  attention.masked_bias, rotary_emb.inv_freq) opens and gives bit-identical results to the
  same weights without the buffers, and both match the numpy reference of
  test_engine_parity.py; a tensor no architecture uses is an error naming it;
- a Hugging Face hub cache built here (refs/, snapshots/<hash>/ with symlinks into blobs/,
  two revisions holding different weights) opens by id and by --revision through the C API
  (Python binding) and the CLI, and a missing id or revision names the paths tried;
- a Mistral config with sliding_window shorter than the sequence is honoured (numpy
  reference from modeling_mistral.py semantics in hf_models.py), also during generation.
"""
import hashlib
import json
import os
import struct
import subprocess

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB or not os.path.exists(LIB):
    pytest.skip("STRATA_LIBRARY is not set (run through ctest)", allow_module_level=True)

import strata  # noqa: E402
import hf_models as hm  # noqa: E402
from test_engine_parity import make_neox, reference as neox_reference  # noqa: E402

CLI = os.environ.get("STRATA_CLI", "")


def neox_with_buffers(rng, tmp_path):
    cfg, t = make_neox(rng, d=64, L=2, H=4, V=101, n_ctx=32, pct=0.25, parallel=True)
    plain = hm.write_model(tmp_path / "plain", cfg, t)
    n, dh = cfg["max_position_embeddings"], cfg["hidden_size"] // cfg["num_attention_heads"]
    rot = int(dh * cfg["rotary_pct"])
    buf = dict(t)
    for i in range(cfg["num_hidden_layers"]):
        p = "gpt_neox.layers.%d.attention." % i
        buf[p + "bias"] = np.tril(np.ones((n, n), np.bool_))[None, None]      # BOOL
        buf[p + "masked_bias"] = np.array(-1e9, np.float32)
        buf[p + "rotary_emb.inv_freq"] = (1.0 / 10000 ** (np.arange(0, rot, 2) / rot)).astype(np.float32)
    hm.write_model(tmp_path / "buffers", cfg, buf)
    return cfg, plain


def test_neox_bool_buffers_open_and_match(tmp_path):
    rng = np.random.default_rng(30)
    cfg, W = neox_with_buffers(rng, tmp_path)
    with open(tmp_path / "buffers" / "model.safetensors", "rb") as f:
        hdr = json.loads(f.read(struct.unpack("<Q", f.read(8))[0]))
    assert hdr["gpt_neox.layers.0.attention.bias"]["dtype"] == "BOOL"
    seqs = [rng.integers(0, 101, 13).tolist(), rng.integers(0, 101, 7).tolist()]
    with strata.Model.open(tmp_path / "plain") as a, strata.Model.open(tmp_path / "buffers") as b:
        assert a.n_params == b.n_params  # buffers are not parameters
        la, ca = a.run_with_cache(seqs, "blocks.*.hook_resid_post")
        lb, cb = b.run_with_cache(seqs, "blocks.*.hook_resid_post")
        np.testing.assert_array_equal(la, lb)
        for name in ca:
            np.testing.assert_array_equal(ca[name], cb[name])
    for i, s in enumerate(seqs):
        want = neox_reference("neox", cfg, W, s)["logits"]
        assert np.abs(lb[i, :len(s)] - want).max() <= max(1e-4, 1e-5 * np.abs(want).max())


def test_unknown_tensors_are_named(tmp_path):
    rng = np.random.default_rng(31)
    cfg, t = make_neox(rng, d=32, L=1, H=2, V=50, n_ctx=16)
    t["gpt_neox.layers.0.attention.lora_A.weight"] = hm.rnd(rng, 4, 32)
    t["gpt_neox.layers.0.mlp.gate_mask"] = np.ones(8, np.bool_)   # a BOOL that is no known buffer
    hm.write_model(tmp_path / "m", cfg, t)
    with pytest.raises(strata.FormatError) as e:
        strata.Model.open(tmp_path / "m")
    msg = str(e.value)
    assert "2 unknown tensors" in msg and "lora_A.weight" in msg and "mlp.gate_mask" in msg
    # a BOOL tensor asked for as a weight: the dtype is named
    cfg, t = make_neox(rng, d=32, L=1, H=2, V=50, n_ctx=16)
    t["gpt_neox.final_layer_norm.bias"] = np.ones(32, np.bool_)
    hm.write_model(tmp_path / "b", cfg, t)
    with pytest.raises(strata.UnsupportedError, match="final_layer_norm.bias' has dtype BOOL"):
        strata.Model.open(tmp_path / "b")


# --------------------------------------------------------------------------- hub cache


def make_hub(root, org, name, revisions):
    """revisions: {ref name: model directory}.  Builds huggingface_hub's cache layout:
    models--ORG--NAME/{blobs/<sha256>, snapshots/<commit>/<file> -> ../../blobs/<sha>,
    refs/<ref> holding the commit}.  Returns {ref: commit}."""
    repo = os.path.join(root, "models--%s--%s" % (org, name))
    os.makedirs(os.path.join(repo, "blobs"), exist_ok=True)
    commits = {}
    for ref, src in revisions.items():
        commit = hashlib.sha1(ref.encode() + str(src).encode()).hexdigest()
        snap = os.path.join(repo, "snapshots", commit)
        os.makedirs(snap)
        for fn in sorted(os.listdir(src)):
            data = open(os.path.join(src, fn), "rb").read()
            sha = hashlib.sha256(data).hexdigest()
            blob = os.path.join(repo, "blobs", sha)
            if not os.path.exists(blob):
                with open(blob, "wb") as f:
                    f.write(data)
            os.symlink(os.path.join("..", "..", "blobs", sha), os.path.join(snap, fn))
        refp = os.path.join(repo, "refs", ref)
        os.makedirs(os.path.dirname(refp), exist_ok=True)
        with open(refp, "w") as f:
            f.write(commit)  # huggingface_hub writes the bare hash, no newline
        commits[ref] = commit
    return commits


@pytest.fixture
def hub(tmp_path, monkeypatch):
    rng = np.random.default_rng(32)
    models = {}
    for ref in ("main", "step1000"):
        cfg, t = hm.make_llama_family(rng, "llama", d=32, L=2, H=4, Hkv=2, V=61, n_ctx=32, F=48)
        models[ref] = (cfg, hm.write_model(tmp_path / ("src_" + ref), cfg, t))
    cache = tmp_path / "cache"
    commits = make_hub(str(cache), "TinyOrg", "tiny-llama",
                       {r: tmp_path / ("src_" + r) for r in models})
    for var in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    return cache, models, commits


def test_hub_cache_opens_by_id_and_revision(hub, tmp_path):
    cache, models, commits = hub
    snap = cache / "models--TinyOrg--tiny-llama" / "snapshots" / commits["main"]
    assert os.path.islink(snap / "model.safetensors")
    ids = [3, 14, 15, 9, 26, 5, 35]
    outs = {}
    for rev in (None, "step1000", commits["step1000"], "main"):
        with strata.Model.open("TinyOrg/tiny-llama", revision=rev) as m:
            outs[rev] = m.run([ids])[0]
            ref = "step1000" if rev in ("step1000", commits["step1000"]) else "main"
            assert m.config.name == "TinyOrg/tiny-llama" + ("@" + rev if rev else "")
        cfg, W = models[ref]
        want = hm.forward(cfg, W, ids)["logits"]
        assert np.abs(outs[rev] - want).max() <= max(1e-4, 1e-5 * np.abs(want).max())
    assert np.abs(outs[None] - outs["step1000"]).max() > 0.1  # the revisions really differ
    np.testing.assert_array_equal(outs[None], outs["main"])
    np.testing.assert_array_equal(outs["step1000"], outs[commits["step1000"]])


def test_hub_cache_missing_id_and_revision(hub):
    cache, _, commits = hub
    with pytest.raises(strata.NotFoundError) as e:
        strata.Model.open("TinyOrg/absent")
    assert str(cache / "models--TinyOrg--absent") in str(e.value)
    assert "downloads nothing" in str(e.value)
    with pytest.raises(strata.NotFoundError) as e:
        strata.Model.open("TinyOrg/tiny-llama", revision="step2000")
    msg = str(e.value)
    assert str(cache / "models--TinyOrg--tiny-llama" / "refs" / "step2000") in msg
    assert "main" in msg and "step1000" in msg  # the revisions that are there
    with pytest.raises(strata.ArgumentError, match="revision"):
        strata.Model.open("TinyOrg/tiny-llama", revision="../../etc")
    # a commit named by refs/ whose snapshot is gone
    os.rename(cache / "models--TinyOrg--tiny-llama" / "snapshots" / commits["step1000"],
              cache / "moved")
    with pytest.raises(strata.NotFoundError, match=commits["step1000"]):
        strata.Model.open("TinyOrg/tiny-llama", revision="step1000")


@pytest.mark.skipif(not os.path.exists(CLI), reason="STRATA_CLI not built")
def test_hub_cache_cli_and_environment(hub, tmp_path):
    cache, models, commits = hub

    def info(env, *args):
        e = {k: v for k, v in os.environ.items()
             if k not in ("HF_HUB_CACHE", "HF_HOME", "XDG_CACHE_HOME")}
        e.update(env)
        return subprocess.run([CLI, "info", "--json", *args], env=e, capture_output=True, text=True)

    r = info({"HF_HUB_CACHE": str(cache)}, "TinyOrg/tiny-llama", "--revision", "step1000")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["name"] == "TinyOrg/tiny-llama@step1000"
    # HF_HOME/hub, then HOME/.cache/huggingface/hub
    home = tmp_path / "home"
    (home / ".cache" / "huggingface").mkdir(parents=True)
    os.symlink(cache, home / ".cache" / "huggingface" / "hub")
    r = info({"HF_HOME": str(home / ".cache" / "huggingface")}, "TinyOrg/tiny-llama")
    assert r.returncode == 0, r.stderr
    r = info({"HOME": str(home)}, "TinyOrg/tiny-llama")
    assert r.returncode == 0, r.stderr
    r = info({"HOME": str(tmp_path)}, "TinyOrg/tiny-llama")
    assert r.returncode == 1
    assert str(tmp_path / ".cache" / "huggingface" / "hub" / "models--TinyOrg--tiny-llama") in r.stderr
    # run and tokenize take --revision too; a revision on a plain path is refused
    r = subprocess.run([CLI, "run", "TinyOrg/tiny-llama", "--revision", "nope", "--ids", "1,2"],
                       env=dict(os.environ, HF_HUB_CACHE=str(cache)), capture_output=True, text=True)
    assert r.returncode == 1 and "refs/nope" in r.stderr
    r = subprocess.run([CLI, "run", str(tmp_path / "src_main"), "--revision", "main", "--ids", "1,2"],
                       capture_output=True, text=True)
    assert r.returncode == 1 and "hub ids" in r.stderr


# --------------------------------------------------------------------------- Mistral


def test_mistral_sliding_window(tmp_path):
    rng = np.random.default_rng(33)
    cfg, t = hm.make_llama_family(rng, "mistral", d=48, L=3, H=4, Hkv=2, V=71, n_ctx=64, F=80,
                                  sliding_window=5)
    W = hm.write_model(tmp_path / "mistral", cfg, t)
    seqs = [rng.integers(0, 71, 17).tolist(), rng.integers(0, 71, 9).tolist(), [4]]
    with strata.Model.open(tmp_path / "mistral") as m:
        assert m.config.sliding_window == 5
        hm.check_parity(m, cfg, W, seqs)
        # fused attention (no pattern hooks) gives the same logits
        plain = m.run(seqs)
        for b, s in enumerate(seqs):
            want = hm.forward(cfg, W, s)["logits"]
            assert np.abs(plain[b, :len(s)] - want).max() <= hm.tol_for("logits", want)
        # the window matters: without it the logits are far off
        full = hm.forward(dict(cfg, sliding_window=None), W, seqs[0])["logits"]
        assert np.abs(plain[0, :17] - full).max() > 0.5
        # generation past the window (KV cache, one position at a time)
        prompt = seqs[0][:6]
        got = m.generate(prompt, 12, add_bos=False)
        ids = list(prompt)
        for _ in range(12):
            ids.append(int(np.argmax(hm.forward(cfg, W, ids)["logits"][-1])))
        assert list(got) == ids[6:]


def test_unimplemented_settings_are_errors(tmp_path):
    """A config setting that changes the computation is honoured or refused, never ignored."""
    rng = np.random.default_rng(34)
    cfg, t = make_neox(rng, d=32, L=1, H=2, V=50, n_ctx=16)
    for extra, what in ((dict(rope_scaling={"type": "linear", "factor": 2.0}), "rope_scaling"),
                        (dict(attention_bias=False), "attention_bias")):
        d = tmp_path / what
        hm.write_model(d, dict(cfg, **extra), t)
        with pytest.raises(strata.UnsupportedError, match=what):
            strata.Model.open(d)
    cfg, t = hm.make_llama_family(rng, "llama", d=32, L=1, H=2, Hkv=2, V=50, n_ctx=16, F=40)
    for extra, what in ((dict(mlp_bias=True), "mlp_bias"), (dict(attention_bias=True), "attention_bias"),
                        (dict(rope_scaling={"rope_type": "llama3"}), "rope_scaling")):
        d = tmp_path / ("l_" + what)
        hm.write_model(d, dict(cfg, **extra), t)
        with pytest.raises(strata.UnsupportedError, match=what):
            strata.Model.open(d)
