"""Tests of the strata Python bindings (bindings/python) against libstrata.

Run by the `pytest` ctest entry, which sets STRATA_LIBRARY (the built
libstrata.so), STRATA_SHARED_DIR (../shared with the stories260K fixtures)
and PYTHONPATH=bindings/python.  Without STRATA_LIBRARY (or with a missing
library) every test here is skipped, visibly, with the reason.

Tolerances against reference.h5: 1e-4 on logits, 2e-5 on the residual
stream and patterns (the reference is llama2.c run token by token; an
independent float32 implementation differs from it by up to 1.3e-5 on
logits and 5e-6 on the residual stream through summation order; see
tests/test_engine.c).
"""

import gc
import json
import os
import subprocess
import sys
import threading

import numpy as np
import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB:
    pytest.skip("STRATA_LIBRARY is not set (the ctest `pytest` entry sets it)",
                allow_module_level=True)
if not os.path.exists(LIB):
    pytest.skip(f"STRATA_LIBRARY={LIB} does not exist (build the library first)",
                allow_module_level=True)

import strata  # noqa: E402

SHARED = os.environ.get("STRATA_SHARED_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K")
HF = os.path.join(STORIES, "hf")
GGUF = os.path.join(STORIES, "stories260K.gguf")
REF_H5 = os.path.join(STORIES, "reference.h5")
REF_JSON = os.path.join(STORIES, "reference.json")
REF_IDS = [1, 403, 407, 261, 378, 432, 383, 286, 261, 376, 298, 315, 421, 395, 317, 426, 338,
           401, 396, 267, 337]

# One OpenMP thread: stories260K is tiny, and on a loaded machine OpenMP
# barriers between two threads cost more than the work (runs took 0.3-0.7 s
# instead of 1-5 ms with two threads on a busy 2-core box).
THREADS = 1

needs_stories = pytest.mark.skipif(not os.path.isdir(HF),
                                   reason=f"stories260K fixtures not found under {STORIES}")


def close_enough(name, got, want, tol):
    got = np.asarray(got, np.float64)
    want = np.asarray(want, np.float64)
    assert got.shape == want.shape, f"{name}: shape {got.shape} != {want.shape}"
    diff = np.abs(got - want)
    i = np.unravel_index(np.argmax(diff), diff.shape) if diff.size else ()
    assert diff.max(initial=0) <= tol, (
        f"{name}: max abs diff {diff.max():.3g} at {i} (got {got[i]:.7g}, want {want[i]:.7g}) "
        f"> tol {tol}; first values got {got.ravel()[:4]} want {want.ravel()[:4]}")


@pytest.fixture(scope="module")
def model():
    if not os.path.isdir(HF):
        pytest.skip(f"stories260K fixtures not found under {STORIES}")
    m = strata.Model.open(HF, n_threads=THREADS)
    yield m
    m.close()


@pytest.fixture(scope="module")
def ref():
    h5py = pytest.importorskip("h5py")
    if not os.path.exists(REF_H5):
        pytest.skip(f"{REF_H5} not found")
    with h5py.File(REF_H5, "r") as f:
        return {k: f[k][()] for k in f}


# ------------------------------------------------------------------ basics

def test_library_version():
    lib = strata.library()
    assert lib.version_number // 1000000 == strata._lib.EXPECTED_MAJOR
    assert strata.library_version() == lib.version
    assert os.path.samefile(lib.path, LIB)


def test_library_not_found_message():
    """A wrong STRATA_LIBRARY is an ImportError naming the path, in a child process."""
    code = ("import strata\n"
            "try:\n"
            "    strata.Model.open('x')\n"
            "except ImportError as e:\n"
            "    print('ERR', type(e).__name__, e)\n")
    env = dict(os.environ, STRATA_LIBRARY="/nonexistent/libstrata.so")
    r = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 0, r.stderr
    assert "ERR LibraryNotFoundError" in r.stdout and "/nonexistent/libstrata.so" in r.stdout


@needs_stories
def test_config_and_hook_names(model):
    c = model.config
    assert (c.arch, c.d_model, c.n_layers, c.n_heads, c.n_kv_heads, c.d_head) == \
        ("llama", 64, 5, 8, 4, 8)
    assert (c.vocab_size, c.n_ctx, c.norm, c.act, c.gated_mlp) == (512, 512, "rmsnorm", "silu", True)
    assert c.norm_eps == 1e-5 and c.bos_token_id == 1 and c.eos_token_id == 2
    names = model.hook_names()
    assert names[0] == "hook_embed" and names[-1] == "hook_logits"
    assert "blocks.4.attn.hook_result" in names and "blocks.0.hook_resid_mid" in names
    assert model.hook_names("blocks.*.hook_resid_post") == \
        [f"blocks.{l}.hook_resid_post" for l in range(5)]
    assert model.hook_shape("blocks.1.attn.hook_k", 2, 7) == (2, 7, 4, 8)
    assert model.hook_shape("blocks.1.attn.hook_pattern[3]", 2, 7) == (2, 1, 7, 7)
    assert model.format == "hf" and model.n_params > 0


# ------------------------------------------------------------------ parity

@needs_stories
def test_run_with_cache_equals_reference(model, ref):
    names = ["blocks.*.hook_resid_pre", "blocks.*.hook_resid_mid", "blocks.*.hook_resid_post",
             "blocks.*.attn.hook_pattern", "ln_final.hook_normalized"]
    logits, cache = model.run_with_cache(REF_IDS, names=names)
    assert logits.shape == (1, 21, 512) and logits.dtype == np.float32
    assert len(cache) == 5 * 4 + 1
    close_enough("logits", logits[0], ref["logits"], 1e-4)
    for key, short in (("resid_pre", "resid_pre"), ("resid_mid", "resid_mid"),
                       ("resid_post", "resid_post")):
        got = cache.stack(short)[:, 0]
        close_enough(key, got, ref[key], 2e-5)
    close_enough("attn_pattern", cache.stack("pattern")[:, 0], ref["attn_pattern"], 2e-5)
    close_enough("final_norm", cache["ln_final.hook_normalized"][0], ref["final_norm"], 2e-5)
    # plain run gives the same logits; "last" gives the last row
    close_enough("run", model.run(REF_IDS), logits, 0)
    close_enough("last", model.run(REF_IDS, logits="last")[0], logits[0, -1], 1e-5)
    assert model.run(REF_IDS, logits=None) is None


@needs_stories
def test_default_cache_has_every_point_but_result(model):
    logits, cache = model.run_with_cache(REF_IDS[:6])
    want = [n for n in model.hook_names() if not n.endswith("attn.hook_result")]
    assert sorted(cache) == sorted(want)
    assert list(cache)[0] == "hook_embed"          # forward order
    assert cache["z", 2].shape == (1, 6, 8, 8)
    assert cache["k", 2].shape == (1, 6, 4, 8)     # GQA: kv-head granularity
    assert cache["logits"].shape == (1, 6, 512)
    close_enough("hook_logits", cache["hook_logits"], logits, 0)
    assert cache.valid(("resid_post", 0), 0).shape == (6, 64)
    with pytest.raises(KeyError, match="needs a layer"):
        cache["resid_post"]


@needs_stories
def test_gguf_same_function(model):
    if not os.path.exists(GGUF):
        pytest.skip("no GGUF fixture")
    try:
        g = strata.Model.open(GGUF, n_threads=THREADS)
    except (strata.UnsupportedError, strata.FormatError) as e:
        pytest.skip(f"GGUF loading not available in this library: {e}")
    with g:
        assert g.format == "gguf"
        close_enough("gguf vs hf logits", g.run(REF_IDS), model.run(REF_IDS), 1e-4)


@needs_stories
def test_generate_matches_reference_json(model):
    with open(REF_JSON) as f:
        gens = json.load(f)["generations"]
    for g in gens:
        out = model.generate(g["prompt_ids"], len(g["generated_ids"]))
        assert out.tolist() == g["generated_ids"], g["prompt"]


# ------------------------------------------------------------------ hooks

@needs_stories
def test_head_ablation_equals_c_level_decomposition(model):
    """Zero-ablating head h of hook_z through a Python hook equals removing
    that head's per-head output (hook_result, computed by C) from hook_attn_out."""
    L, h = 2, 3
    ids = REF_IDS[:15]
    _, clean = model.run_with_cache(ids, names=[f"blocks.{L}.attn.hook_result",
                                                f"blocks.{L}.hook_attn_out",
                                                f"blocks.{L}.hook_resid_pre"])
    want = clean["attn_out", L] - clean["result", L][:, :, h, :]
    close_enough("sum of heads", clean["result", L].sum(axis=2), clean["attn_out", L], 2e-5)

    def ablate(z, ctx):
        assert z.shape == (1, 15, 1, 8) and ctx.head == h and ctx.layer == L
        assert z.flags.writeable
        z[...] = 0

    with model.hooks({f"blocks.{L}.attn.hook_z[{h}]": ablate}):
        logits_a, abl = model.run_with_cache(ids, names=[f"blocks.{L}.hook_attn_out",
                                                         f"blocks.{L}.attn.hook_z",
                                                         f"blocks.{L}.hook_resid_mid"])
    assert np.all(abl["z", L][:, :, h] == 0) and np.any(abl["z", L][:, :, h - 1] != 0)
    close_enough("ablated attn_out", abl["attn_out", L], want, 2e-5)
    close_enough("ablated resid_mid", abl["resid_mid", L], clean["resid_pre", L] + want, 2e-5)

    # the same ablation on the full tensor, and by returning a replacement
    def ablate_full(z, ctx):
        z[:, :, h, :] = 0

    def ablate_return(z, ctx):
        out = z.copy()
        out[:, :, h] = 0
        return out

    for fn in (ablate_full, ablate_return):
        with model.hooks({f"blocks.{L}.attn.hook_z": fn}):
            close_enough(fn.__name__, model.run(ids), logits_a, 0)
    # hooks are gone after the with block
    close_enough("hooks removed", model.run(ids), model.run(ids, hooks={}), 0)
    assert not np.allclose(model.run(ids), logits_a)


@needs_stories
def test_activation_patching_and_steering(model):
    a, b = REF_IDS[:10], [1] + REF_IDS[11:20]
    la, ca = model.run_with_cache(a, names=["blocks.0.hook_resid_pre"])
    lb = model.run(b)
    # patch every position of the embedding output of run b into run a -> logits of b
    _, cb = model.run_with_cache(b, names=["blocks.0.hook_resid_pre"])
    patched = model.run(a, hooks={"blocks.0.hook_resid_pre":
                                  lambda x, ctx: cb["resid_pre", 0]})
    close_enough("patched", patched, lb, 1e-5)
    # steering: add a direction to the residual stream at layer 3
    d = np.random.default_rng(0).standard_normal(64).astype(np.float32)
    seen = []

    def steer(x, ctx):
        seen.append((ctx.name, ctx.lengths.tolist(), ctx.tokens.shape))
        x += 4 * d

    steered = model.run(a, hooks=[("blocks.3.hook_resid_post", steer)])
    assert seen == [("blocks.3.hook_resid_post", [10], (1, 10))]
    assert np.abs(steered - la).max() > 1e-2


@needs_stories
def test_hook_context_and_several_hooks(model):
    calls = []

    def rec(x, ctx):
        calls.append((ctx.hook_name, ctx.layer, ctx.batch, ctx.n_ctx, ctx.pos_offset, x.shape))

    with model.hooks({"blocks.*.attn.hook_pattern[1]": rec, "hook_embed": [rec, rec]}):
        model.run([[1, 2, 3], [1, 5]])
    assert calls[0] == ("hook_embed", -1, 2, 3, 0, (2, 3, 64))
    assert calls[1] == calls[0]
    assert calls[2] == ("blocks.0.attn.hook_pattern[1]", 0, 2, 3, 0, (2, 1, 3, 3))
    assert len(calls) == 2 + 5
    # the context cannot be read after the hook returned
    box = []
    model.run([1, 2], hooks={"hook_embed": lambda x, ctx: box.append(ctx)})
    with pytest.raises(strata.StateError, match="while the hook runs"):
        box[0].lengths
    # hooks fire while generating, with the absolute position
    pos = []
    with model.hooks({"hook_embed": lambda x, ctx: pos.append((ctx.pos_offset, ctx.n_ctx))}):
        model.generate([1, 403, 407], 3)
    assert pos == [(0, 3), (3, 1), (4, 1)]


@needs_stories
def test_pattern_row_entropy(model):
    """ctx.row_entropy (from the engine's softmax) equals -sum p ln p of the
    pattern computed with numpy in float64; None for other hooks."""
    got = []

    def rec(x, ctx):
        p = np.asarray(x, dtype=np.float64)
        with np.errstate(divide="ignore", invalid="ignore"):
            h = -np.where(p > 0, p * np.log(p), 0.0).sum(axis=-1)
        got.append((ctx.row_entropy, h, ctx.lengths))

    none = []
    with model.hooks({"blocks.*.attn.hook_pattern": rec,
                      "blocks.0.attn.hook_pattern[2]": lambda x, c: none.append(c.row_entropy),
                      "hook_embed": lambda x, c: none.append(c.row_entropy)}):
        model.run([[1, 403, 407, 260, 100, 13], [1, 5, 9]])
    assert len(got) == model.config.n_layers and none == [None, None]
    for ent, h, lens in got:
        assert ent.shape == h.shape == (2, model.config.n_heads, 6)
        for b, n in enumerate(lens):   # padding rows are 0 in both
            # float32 lanes vs float64 here; entropies <= ln 6
            np.testing.assert_allclose(ent[b, :, :n], h[b, :, :n], atol=2e-6)
            assert np.all(ent[b, :, n:] == 0)


# ------------------------------------------------------------------ errors

@needs_stories
def test_hook_exception_is_reraised_and_model_survives(model):
    before = model.run(REF_IDS[:8])
    calls = []

    def boom(x, ctx):
        calls.append(ctx.name)
        raise ValueError("boom in hook")

    with pytest.raises(ValueError, match="boom in hook") as ei:
        with model.hooks({"blocks.*.hook_resid_post": boom}):
            model.run(REF_IDS[:8])
    assert calls == ["blocks.0.hook_resid_post"]      # the run stopped at the first one
    assert any("strata hook" in n for n in getattr(ei.value, "__notes__", ["strata hook"]))
    # run_with_cache and generate re-raise too
    with pytest.raises(ZeroDivisionError):
        model.run_with_cache(REF_IDS[:8], names="blocks.0.hook_resid_pre",
                             hooks={"blocks.2.hook_mlp_out": lambda x, c: 1 / 0})
    with pytest.raises(KeyError):
        with model.hooks({"hook_logits": lambda x, c: {}["x"]}):
            model.generate([1, 2], 4)
    assert model._regs == {}
    close_enough("after errors", model.run(REF_IDS[:8]), before, 0)


@needs_stories
def test_hook_bad_return_values(model):
    cases = [
        (lambda x, c: np.zeros((3, 3), np.float32), r"shape \(3, 3\).*expected shape \(1, 4, 64\)"),
        (lambda x, c: x.astype(np.float64), r"dtype float64.*float32"),
        (lambda x, c: [0.0] * 64, r"returned list"),
    ]
    for fn, pat in cases:
        with pytest.raises(strata.HookReturnError, match=pat):
            model.run([1, 2, 3, 4], hooks={"blocks.1.hook_resid_pre": fn})
    # a same-shape float32 array works; returning the view itself too
    ok = model.run([1, 2, 3, 4], hooks={"blocks.1.hook_resid_pre": lambda x, c: x})
    close_enough("identity hook", ok, model.run([1, 2, 3, 4]), 0)


@needs_stories
def test_bad_hook_names(model):
    with pytest.raises(strata.NotFoundError, match="matches no hook point"):
        model.run([1, 2], hooks={"blocks.9.hook_resid_post": lambda x, c: None})
    with pytest.raises(strata.StrataRangeError, match="head 8 out of range"):
        model.run([1, 2], hooks={"blocks.0.attn.hook_z[8]": lambda x, c: None})
    with pytest.raises(strata.ArgumentError, match="no head axis"):
        model.run_with_cache([1, 2], names=["blocks.0.hook_resid_post[1]"])
    with pytest.raises(TypeError, match="not callable"):
        model.hooks({"hook_embed": 3})
    assert model._regs == {}      # nothing left registered after the failures


@needs_stories
def test_reentrant_calls_from_a_hook(model):
    with pytest.raises(strata.StateError, match="hook cannot run"):
        model.run([1, 2], hooks={"hook_embed": lambda x, c: model.run([1])})
    with pytest.raises(strata.StateError):
        model.run([1, 2], hooks={"hook_embed": lambda x, c: model.close()})
    assert not model.closed
    model.run([1, 2])


@needs_stories
def test_bad_inputs(model):
    with pytest.raises(strata.StrataRangeError, match="token id 600 out of range"):
        model.run([1, 600])
    with pytest.raises(strata.StrataRangeError, match="length 513 out of range"):
        model.run([1] * 513)
    with pytest.raises(TypeError, match="integers"):
        model.run([1.0, 2.5])
    with pytest.raises(strata.ArgumentError, match="empty"):
        model.run([])
    with pytest.raises(strata.ArgumentError, match="sequence 1 is empty"):
        model.run([[1, 2], []])
    with pytest.raises(strata.ArgumentError, match="logits"):
        model.run([1, 2], logits="some")
    with pytest.raises(TypeError):
        model.run({1: 2})


def test_bad_paths(tmp_path):
    with pytest.raises(strata.StrataError) as ei:
        strata.Model.open(tmp_path / "no-such-model")
    assert "no-such-model" in str(ei.value)
    junk = tmp_path / "junk.gguf"
    junk.write_bytes(b"not a gguf file at all" * 10)
    with pytest.raises(strata.StrataError) as ei:
        strata.Model.open(junk)
    assert str(ei.value)
    d = tmp_path / "dir"
    d.mkdir()
    (d / "config.json").write_text("{ not json")
    with pytest.raises(strata.StrataError) as ei:
        strata.Model.open(d)
    assert str(ei.value)


@needs_stories
def test_closed_model():
    m = strata.Model.open(HF, n_threads=THREADS)
    tok = m.tokenizer if m.has_tokenizer else None
    m.close()
    m.close()    # idempotent
    assert m.closed and "closed" in repr(m)
    for call in (lambda: m.run([1, 2]), lambda: m.run_with_cache([1, 2]),
                 lambda: m.generate([1], 2), lambda: m.hooks({"hook_embed": print}),
                 lambda: m.n_params, lambda: m.tokenize("x")):
        with pytest.raises(strata.ClosedError, match="is closed"):
            call()
    if tok is not None:
        with pytest.raises(strata.ClosedError):
            tok.encode("Once")
    assert m.config.d_model == 64      # the config stays readable
    with strata.Model.open(HF, n_threads=THREADS) as m2:
        m2.run([1])
    with pytest.raises(strata.ClosedError):
        m2.run([1])


# ------------------------------------------------------------------ batches

@needs_stories
def test_padded_batch_equals_single_runs(model):
    seqs = [REF_IDS, REF_IDS[:9], [1, 300, 301]]
    logits, cache = model.run_with_cache(seqs, names=["blocks.4.hook_resid_post",
                                                     "blocks.1.attn.hook_pattern"])
    assert logits.shape == (3, 21, 512)
    assert cache.lengths.tolist() == [21, 9, 3] and cache.tokens.shape == (3, 21)
    assert cache["pattern", 1].shape == (3, 8, 21, 21)
    for b, s in enumerate(seqs):
        n = len(s)
        l1, c1 = model.run_with_cache(s, names=["blocks.4.hook_resid_post",
                                                "blocks.1.attn.hook_pattern"])
        close_enough(f"logits {b}", logits[b, :n], l1[0], 1e-4)
        close_enough(f"resid {b}", cache.valid(("resid_post", 4), b), c1["resid_post", 4][0], 1e-4)
        close_enough(f"pattern {b}", cache["pattern", 1][b, :, :n, :n], c1["pattern", 1][0], 1e-5)
    # a 2-D array with explicit lengths is the same batch
    toks, lens = model.tokens_and_lengths(seqs)
    close_enough("2-D", model.run(toks, lengths=lens), logits, 0)
    # last-position logits of each sequence
    last = model.run(seqs, logits="last")
    for b, s in enumerate(seqs):
        close_enough(f"last {b}", last[b], logits[b, len(s) - 1], 1e-5)
    # numpy int64 2-D input
    full = np.array([REF_IDS[:5], REF_IDS[5:10]], dtype=np.int64)
    assert model.run(full).shape == (2, 5, 512)


@needs_stories
def test_text_inputs(model):
    if not model.has_tokenizer:
        pytest.skip("this libstrata has no tokenizer")
    ids = model.tokenize("Once upon a time")
    assert ids.dtype == np.int32 and ids[0] == 1
    assert model.decode(ids, skip_special=True).strip() == "Once upon a time"
    with open(REF_JSON) as f:
        g = json.load(f)["generations"][1]
    assert model.tokenize(g["prompt"]).tolist() == g["prompt_ids"]
    close_enough("text run", model.run("Once upon a time"), model.run(ids), 0)
    lb = model.run(["Once upon a time", "Lily"])
    assert lb.shape[0] == 2
    close_enough("text batch", lb[0], model.run(ids)[0], 1e-4)
    out = model.generate("Once upon a time", 5)
    assert out.shape == (5,)


# ------------------------------------------------------------------ threads

@needs_stories
def test_threads_share_a_model_and_run_models_in_parallel(model):
    want, wc = model.run_with_cache(REF_IDS, names="blocks.*.hook_resid_post")
    other = strata.Model.open(HF, n_threads=THREADS)
    errors, results = [], []

    def work(m):
        try:
            for i in range(20):
                if i % 2:
                    with m.hooks({"blocks.0.hook_resid_pre": lambda x, c: None}):
                        results.append(np.abs(m.run(REF_IDS) - want).max())
                else:
                    lg, c = m.run_with_cache(REF_IDS, names="blocks.*.hook_resid_post")
                    results.append(max(np.abs(lg - want).max(),
                                       np.abs(c.stack("resid_post") - wc.stack("resid_post")).max()))
        except BaseException as e:  # pragma: no cover - reported below
            errors.append(e)

    ts = [threading.Thread(target=work, args=(m,)) for m in (model, model, other, other)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    other.close()
    assert not errors, errors
    assert len(results) == 80 and max(results) <= 1e-5


# ------------------------------------------------------------------ leaks

def _rss_bytes():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@needs_stories
@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="needs /proc")
def test_no_leak_over_1000_open_run_close_cycles():
    ids = REF_IDS[:12]

    def cycle():
        m = strata.Model.open(HF, n_threads=THREADS)
        m.run(ids)
        m.run_with_cache(ids, names=["blocks.*.hook_resid_post"],
                         hooks={"blocks.1.attn.hook_z[0]": lambda z, c: z.fill(0)})
        m.close()

    for _ in range(50):      # warm up allocator pools, OpenMP, numpy
        cycle()
    gc.collect()
    r0 = _rss_bytes()
    for _ in range(1000):
        cycle()
    gc.collect()
    grown = _rss_bytes() - r0
    # One leaked model handle would be ~1 MB of weights bookkeeping/arena per
    # cycle (GB in total); allow 16 MB of allocator noise.
    assert grown < 16 * 2**20, f"RSS grew by {grown / 2**20:.1f} MiB over 1000 cycles"
    from strata.hooks import _REGISTRY
    assert len(_REGISTRY) == 0


@needs_stories
def test_cache_buffer_recycling_never_overwrites_live_arrays(model):
    """run_with_cache recycles an old cache's memory only when none of its
    arrays is alive: arrays the user keeps are never overwritten."""
    a, b = [REF_IDS[:10]], [[1] + REF_IDS[12:21]]
    _, ca = model.run_with_cache(a, names=["blocks.*.hook_resid_post"])
    kept = ca["resid_post", 3]
    want = kept.copy()
    del ca
    for _ in range(4):
        _, cb = model.run_with_cache(b, names=["blocks.*.hook_resid_post"])
        assert not np.shares_memory(cb["resid_post", 3], kept)
    np.testing.assert_array_equal(kept, want)
    # with nothing kept, the memory is reused (the loop idiom holds the previous cache)
    addrs = set()
    cache = None
    for _ in range(6):
        _, cache = model.run_with_cache(b, names=["blocks.*.hook_resid_post"])
        addrs.add(cache["resid_post", 0].ctypes.data)
    assert len(addrs) <= 3
    model.release_buffers()


def test_offline_wheel_build(tmp_path):
    """The in-tree PEP 517 backend builds a wheel without network or setuptools."""
    import importlib.util
    import zipfile
    root = os.path.join(os.path.dirname(__file__), "..", "..", "bindings", "python")
    spec = importlib.util.spec_from_file_location(
        "strata_build", os.path.join(root, "_build", "strata_build.py"))
    backend = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(backend)
    assert backend.get_requires_for_build_wheel() == []
    name = backend.build_wheel(str(tmp_path))
    with zipfile.ZipFile(tmp_path / name) as z:
        names = z.namelist()
        meta = z.read(f"strata-{strata.__version__}.dist-info/METADATA").decode()
    assert "strata/model.py" in names and "strata/_lib.py" in names
    assert "Requires-Dist: numpy" in meta
    assert any(n.endswith("RECORD") for n in names)


@needs_stories
def test_logits_recycling_never_overwrites_live_arrays(model):
    la = model.run(REF_IDS[:10])
    want = la.copy()
    outs = [model.run([1] + REF_IDS[12:21]) for _ in range(4)]
    for o in outs:
        assert not np.shares_memory(o, la)
    np.testing.assert_array_equal(la, want)
    last = model.run(REF_IDS[:10], logits="last")
    np.testing.assert_allclose(last[0], want[0, -1], atol=1e-4)
    np.testing.assert_array_equal(la, want)
