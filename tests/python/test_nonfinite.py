"""NaN/Inf in the forward pass (issue: reliability, defect 9).

Models are stories260K with one weight replaced by NaN or +Inf (written here
into a temporary copy).  Before: the NaN in a query weight was silently turned
into a zero attention row (all-NaN softmax rows became zeros), the sanitizer
build aborted in exp_f32_clamped (NaN -> int, negative shift), and nothing said
that anything was wrong (exit 0).  Now NaN propagates, every run names the
first hook where a non-finite value appears, and --nonfinite error (Python:
nonfinite="error") makes it an error.
"""
import json
import os
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("STRATA_CLI", "")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
BINDINGS = os.path.join(HERE, "..", "..", "bindings", "python")

pytestmark = pytest.mark.skipif(not os.path.exists(CLI) or not os.path.isdir(MODEL),
                                reason="needs STRATA_CLI and the stories260K model")


def patched_model(dst, tensor, value, index=0):
    """A copy of stories260K with tensor.flat[index] = value."""
    os.makedirs(dst, exist_ok=True)
    for f in os.listdir(MODEL):
        if f != "model.safetensors":
            shutil.copy(os.path.join(MODEL, f), dst)
    b = bytearray(open(os.path.join(MODEL, "model.safetensors"), "rb").read())
    n = struct.unpack("<Q", b[:8])[0]
    t = json.loads(b[8:8 + n])[tensor]
    assert t["dtype"] == "F32"
    off = 8 + n + t["data_offsets"][0] + 4 * index
    b[off:off + 4] = struct.pack("<f", value)
    with open(os.path.join(dst, "model.safetensors"), "wb") as f:
        f.write(b)
    return dst


def cli(*args):
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def nan_q(tmp_path_factory):
    return patched_model(str(tmp_path_factory.mktemp("nanq")), "model.layers.2.self_attn.q_proj.weight",
                         float("nan"))


def test_nan_weight_is_reported_with_layer_and_hook(nan_q):
    r = cli("run", nan_q, "--ids", "1,403,407", "--json")
    assert r.returncode == 0, r.stderr
    assert ("warning: the forward pass produced non-finite values, first nan at "
            "blocks.2.attn.hook_rot_q (layer 2), sequence 0 position 0, element 0") in r.stderr, r.stderr
    # the NaN is not hidden: an all-NaN score row gives a NaN pattern, not zeros
    out = json.loads(r.stdout.replace("NaN", "null").replace("nan", "null"))
    assert any(v is None for p in out["positions"] for v in p["top_logits"])


@pytest.mark.parametrize("cmd", [["run", "--ids", "1,403"], ["generate", "--ids", "1", "-n", "3"],
                                 ["lens", "--ids", "1,403"]])
def test_nonfinite_error_option(nan_q, cmd):
    r = cli(cmd[0], nan_q, *cmd[1:], "--nonfinite", "error")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert r.stderr.startswith(f"strata {cmd[0]}: ")
    assert "non-finite activation: nan at blocks.2.attn.hook_rot_q (layer 2)" in r.stderr, r.stderr
    assert "warning" not in r.stderr


def test_nonfinite_option_is_checked(nan_q):
    r = cli("run", nan_q, "--ids", "1", "--nonfinite", "maybe")
    assert r.returncode == 2 and "--nonfinite must be warn, error or off" in r.stderr
    r = cli("pca", "x.h5", "--nonfinite", "error")  # pca runs no model: unknown option
    assert r.returncode == 2


def test_clean_model_says_nothing():
    r = cli("run", MODEL, "--ids", "1,403,407", "--nonfinite", "error")
    assert r.returncode == 0 and "non-finite" not in r.stderr, r.stderr


@pytest.mark.parametrize("tensor,value,index,where", [
    ("model.layers.1.mlp.down_proj.weight", float("inf"), 5, "at blocks.1.hook_mlp_out (layer 1)"),
    ("model.embed_tokens.weight", float("nan"), 403 * 64 + 7,
     "nan at hook_embed, sequence 0 position 1, element 7"),
    ("model.layers.0.input_layernorm.weight", float("-inf"), 3, "at blocks.0.ln1.hook_normalized (layer 0)"),
    ("model.norm.weight", float("nan"), 0, "nan at ln_final.hook_normalized"),
    # SiLU of NaN: exp_f32_clamped shifted a negative exponent (UBSan abort before)
    ("model.layers.1.mlp.gate_proj.weight", float("nan"), 0, "nan at blocks.1.mlp.hook_post (layer 1)"),
])
def test_first_place_is_named(tmp_path, tensor, value, index, where):
    m = patched_model(str(tmp_path / "m"), tensor, value, index)
    r = cli("run", m, "--ids", "1,403,407", "--nonfinite", "error")
    assert r.returncode == 1, r.stderr
    assert where in r.stderr, r.stderr


def test_capture_keeps_going_and_warns(nan_q, tmp_path):
    txt = tmp_path / "t.txt"
    txt.write_text("Once upon a time.\n")
    out = tmp_path / "a.h5"
    r = cli("capture", nan_q, "--hooks", "blocks.3.hook_resid_post", "--text-file", str(txt),
            "--out", str(out), "--quiet")
    assert r.returncode == 0, r.stderr
    assert "non-finite values, first nan at blocks.2.attn.hook_rot_q" in r.stderr
    r = cli("capture", nan_q, "--hooks", "blocks.3.hook_resid_post", "--text-file", str(txt),
            "--out", str(tmp_path / "b.h5"), "--quiet", "--nonfinite", "error")
    assert r.returncode == 1 and "non-finite activation" in r.stderr, r.stderr


def test_python_nonfinite(nan_q):
    code = f"""
import strata, numpy as np
m = strata.Model.open({nan_q!r})
assert m.nonfinite is None
logits = m.run([1, 403, 407])
print("AT", m.nonfinite)
print("NAN", bool(np.isnan(logits).any()))
m.set_nonfinite("error")
try:
    m.run([1, 403])
    print("NO ERROR")
except strata.NumericError as e:
    print("ERR", e)
m.close()
m = strata.Model.open({nan_q!r}, nonfinite="off")
m.run([1, 403])
print("OFF", m.nonfinite)
"""
    env = dict(os.environ)
    env["PYTHONPATH"] = BINDINGS + os.pathsep + env.get("PYTHONPATH", "")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=env)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "AT nan at blocks.2.attn.hook_rot_q (layer 2), sequence 0 position 0" in r.stdout
    assert "NAN True" in r.stdout
    assert "ERR" in r.stdout and "blocks.2.attn.hook_rot_q" in r.stdout
    assert "OFF None" in r.stdout
