"""Model.hook_match (C strata_hook_match): which hook points a pattern names.

Expectations are written out by hand from the model's shape (stories260K:
Llama, 5 blocks, 8 query heads, 4 key/value heads, rotary positions so no
hook_pos_embed) and the kind numbers of include/strata/hooks.h
(hook_embed 0, attn.hook_q 5, hook_k 6, hook_v 7, hook_rot_q 8, hook_rot_k 9,
attn.hook_z 12, hook_resid_post 22, hook_logits 25); "*" is compared with
hook_names(), which lists the points through another C call
(strata_model_hook_point), and filtered with Python's own fnmatch.
"""
import fnmatch
import os

import pytest

LIB = os.environ.get("STRATA_LIBRARY")
if not LIB or not os.path.exists(LIB):
    pytest.skip("STRATA_LIBRARY is not set or missing (the ctest `pytest` entry sets it)",
                allow_module_level=True)

import strata  # noqa: E402
from strata import HookPoint  # noqa: E402

SHARED = os.environ.get("STRATA_SHARED_DIR",
                        os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared"))
HF = os.path.join(SHARED, "models", "stories260K", "hf")


@pytest.fixture(scope="module")
def model():
    if not os.path.isdir(HF):
        pytest.skip("stories260K fixtures not found")
    m = strata.Model.open(HF, n_threads=1)
    yield m
    m.close()


def test_every_layer(model):
    assert model.hook_match("blocks.*.hook_resid_post") == [
        HookPoint(f"blocks.{i}.hook_resid_post", 22, "hook_resid_post", i, -1) for i in range(5)]


def test_global_points(model):
    assert model.hook_match("hook_embed") == [HookPoint("hook_embed", 0, "hook_embed", -1, -1)]
    assert model.hook_match("hook_logits") == [HookPoint("hook_logits", 25, "hook_logits", -1, -1)]
    # rotary positions: no learned position embedding, so "hook_*embed" is hook_embed alone
    assert [p.name for p in model.hook_match("hook_*embed")] == ["hook_embed"]
    with pytest.raises(strata.NotFoundError, match="matches no hook point"):
        model.hook_match("hook_pos_embed")


def test_question_mark_in_forward_order(model):
    # q, k, v (before attention), then z (after it); '?' is one character
    assert model.hook_match("blocks.3.attn.hook_?") == [
        HookPoint("blocks.3.attn.hook_q", 5, "attn.hook_q", 3, -1),
        HookPoint("blocks.3.attn.hook_k", 6, "attn.hook_k", 3, -1),
        HookPoint("blocks.3.attn.hook_v", 7, "attn.hook_v", 3, -1),
        HookPoint("blocks.3.attn.hook_z", 12, "attn.hook_z", 3, -1)]


def test_head_selector(model):
    assert model.hook_match("blocks.1.attn.hook_z[3]") == [
        HookPoint("blocks.1.attn.hook_z", 12, "attn.hook_z", 1, 3)]
    assert model.hook_match("blocks.4.attn.hook_rot_?[2]") == [
        HookPoint("blocks.4.attn.hook_rot_q", 8, "attn.hook_rot_q", 4, 2),
        HookPoint("blocks.4.attn.hook_rot_k", 9, "attn.hook_rot_k", 4, 2)]
    # 8 query heads, 4 key/value heads
    assert model.hook_match("blocks.0.attn.hook_q[7]")[0].head == 7
    assert model.hook_match("blocks.0.attn.hook_k[3]")[0].head == 3
    for bad in ("blocks.0.attn.hook_q[8]", "blocks.0.attn.hook_k[4]", "blocks.4.attn.hook_rot_?[5]"):
        with pytest.raises(strata.StrataRangeError, match="out of range"):
            model.hook_match(bad)


def test_errors(model):
    with pytest.raises(strata.ArgumentError, match="no head axis"):
        model.hook_match("blocks.0.hook_resid_post[0]")
    with pytest.raises(strata.ArgumentError, match="bad head selector"):
        model.hook_match("blocks.0.attn.hook_z[x]")
    # a glob keeps only points with heads: the ln1 points have none
    with pytest.raises(strata.NotFoundError):
        model.hook_match("blocks.0.ln1.hook_*[1]")
    with pytest.raises(strata.NotFoundError, match="did you mean 'blocks.4.hook_resid_post'"):
        model.hook_match("blocks.4.hook_resid_posts")
    with pytest.raises(strata.NotFoundError):
        model.hook_match("blocks.5.hook_resid_post")   # blocks 0..4 only
    with pytest.raises(strata.ArgumentError):
        model.hook_match(b"hook_embed")


def test_star_is_every_point_and_agrees_with_fnmatch(model):
    names = model.hook_names()
    assert [p.name for p in model.hook_match("*")] == names
    for pat in ("blocks.2.*", "*.hook_scale", "blocks.[13].mlp.*", "*attn.hook_pattern"):
        got = model.hook_match(pat)
        assert [p.name for p in got] == [n for n in names if fnmatch.fnmatchcase(n, pat)], pat
        for p in got:
            assert p.head == -1
            assert p.name.endswith(p.kind_name)
            assert p.layer == (int(p.name.split(".")[1]) if p.name.startswith("blocks.") else -1)


def test_nothing_registered_and_closed(model):
    model.hook_match("blocks.*.attn.hook_z[1]")
    import numpy as np
    calls = []
    with model.hooks({"blocks.0.hook_resid_post": lambda x, c: calls.append(c.name)}):
        model.hook_match("*")
        model.run([1, 403, 407])
    assert calls == ["blocks.0.hook_resid_post"]   # only the hook added, none by matching
    assert np.isfinite(model.run([1, 403, 407])).all()
    m = strata.Model.open(HF, n_threads=1)
    m.close()
    with pytest.raises(strata.ClosedError):
        m.hook_match("hook_embed")
