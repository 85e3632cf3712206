"""Arguments the Python bindings pass to C are range-checked first
(issue: reliability, defect 12).  Before: hook_shape(batch=-1, n_ctx=10**12)
returned negative sizes (ctypes wraps an int to 32 bits silently)."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
sys.path.insert(0, os.path.join(HERE, "..", "..", "bindings", "python"))

pytestmark = pytest.mark.skipif(not os.path.isdir(MODEL), reason="needs the stories260K model")


@pytest.fixture(scope="module")
def model():
    import strata
    m = strata.Model.open(MODEL)
    yield m
    m.close()


@pytest.mark.parametrize("batch,n_ctx,what", [
    (-1, 10, "batch"), (0, 10, "batch"), (2**40, 10, "batch"), (1.5, 10, "batch"),
    (1, 10**12, "n_ctx"), (1, 0, "n_ctx"), (1, -5, "n_ctx"), (1, 513, "n_ctx"),
])
def test_hook_shape_rejects_bad_sizes(model, batch, n_ctx, what):
    import strata
    with pytest.raises(strata.ArgumentError, match=what):
        model.hook_shape("blocks.0.hook_resid_post", batch=batch, n_ctx=n_ctx)


def test_hook_shape_good(model):
    assert model.hook_shape("blocks.0.hook_resid_post", batch=3, n_ctx=512) == (3, 512, 64)
    assert model.hook_shape("blocks.1.attn.hook_pattern", 2, 7) == (2, 8, 7, 7)


def test_c_hook_shape_rejects_bad_sizes(model):
    import ctypes
    s = (ctypes.c_int64 * 4)()
    lib, h = model._lib, model._handle()
    assert lib.strata_model_hook_shape(h, 0, -1, 10, s) == -1
    assert lib.strata_model_hook_shape(h, 0, 1, 0, s) == -1
    assert lib.strata_model_hook_shape(h, 0, 1, 513, s) == -1
    assert lib.strata_model_hook_shape(h, 99, 1, 1, s) == -1
    assert lib.strata_model_hook_shape(h, 0, 1, 512, s) == 3
