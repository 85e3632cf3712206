"""Small CLI/Python agreements (issue 19, point 6), each checked end to end:
`strata run` on a model without a tokenizer prints ids and logits (no "(null"),
counts read "1 document" / "2 documents", `strata info --json` names the
architecture, norm and activation as Python's ModelConfig does, and the Python
capture's errors name Python keywords, not CLI flags."""
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import strata

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_engine_parity import make_gpt2, make_neox, write_model  # noqa: E402

SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
STORIES = os.path.join(SHARED, "models", "stories260K", "hf")
CLI = os.environ.get("STRATA_CLI")
pytestmark = pytest.mark.skipif(not (CLI and os.path.exists(CLI)), reason="STRATA_CLI not set")


def test_run_without_tokenizer_prints_ids(tmp_path):
    cfg, t = make_gpt2(np.random.default_rng(0))
    write_model(str(tmp_path / "g"), cfg, t)
    out = subprocess.run([CLI, "run", str(tmp_path / "g"), "--ids", "1,5,9", "--top", "2"],
                         capture_output=True, text=True, check=True).stdout
    assert "null" not in out and "id 5" in out, out
    logits = strata.Model.open(str(tmp_path / "g")).run([1, 5, 9])[0]
    first = out.splitlines()[0].split("->")[1].split()
    assert int(first[0]) == int(np.argmax(logits[0]))
    assert float(first[1].strip("()")) == pytest.approx(float(logits[0].max()), abs=1e-3)


@pytest.mark.parametrize("make,arch", [(make_gpt2, "gpt2"), (make_neox, "neox")])
def test_info_json_names_equal_python(tmp_path, make, arch):
    cfg, t = make(np.random.default_rng(1))
    write_model(str(tmp_path / arch), cfg, t)
    j = json.loads(subprocess.run([CLI, "info", str(tmp_path / arch), "--json"],
                                  capture_output=True, text=True, check=True).stdout)
    c = strata.Model.open(str(tmp_path / arch)).config
    assert (j["arch"], j["norm"], j["act"], j["gated_mlp"]) == (c.arch, c.norm, c.act, c.gated_mlp)
    assert j["arch"] == arch and j["model_type"] == cfg["model_type"]


@pytest.mark.skipif(not os.path.isdir(STORIES), reason="stories260K absent")
def test_plurals_and_python_error_words(tmp_path):
    one = tmp_path / "one.txt"
    one.write_text("Once upon a time\n")
    out = tmp_path / "a.h5"
    p = subprocess.run([CLI, "capture", STORIES, "--hooks", "blocks.0.hook_resid_post",
                        "--text-file", str(one), "--out", str(out)], capture_output=True, text=True,
                       check=True)
    assert ": 1 document, 5 tokens, 5 rows;" in p.stderr, p.stderr
    m = strata.Model.open(STORIES)
    with pytest.raises(strata.ExistsError) as e:
        strata.Capture(m, str(out), hooks="blocks.0.hook_resid_post")
    msg = str(e.value)
    assert 'mode="overwrite"' in msg and 'mode="resume"' in msg and "--" not in msg, msg
    with pytest.raises(strata.NotFoundError) as e:
        strata.Capture(m, str(tmp_path / "none.h5"), hooks="blocks.0.hook_resid_post",
                       mode="resume")
    assert "--resume" not in str(e.value) and 'mode="resume"' in str(e.value), str(e.value)
    m.close()


@pytest.mark.skipif(not os.path.isdir(STORIES), reason="stories260K absent")
def test_hook_typos_on_capture_files_suggest(tmp_path):
    one = tmp_path / "d.txt"
    one.write_text("Once upon a time\nThe cat sat\n")
    out = tmp_path / "a.h5"
    subprocess.run([CLI, "capture", STORIES, "--hooks", "blocks.*.hook_resid_post", "--text-file",
                    str(one), "--out", str(out), "--quiet"], check=True)
    for cmd in ("cka", "pca"):
        p = subprocess.run([CLI, cmd, str(out), "--hooks", "blocks.*.hook_resid_pots"],
                           capture_output=True, text=True)
        assert p.returncode != 0 and "did you mean 'blocks.*.hook_resid_post'" in p.stderr, \
            (cmd, p.stderr)
    # probe: through the library's sweep (a file with a label)
    from probe_h5util import write_acts
    X = np.random.default_rng(0).normal(size=(40, 4)).astype(np.float32)
    f = tmp_path / "l.h5"
    write_acts(str(f), {"blocks.0.hook_resid_post": X}, {"y": (X[:, 0] > 0).astype(np.int32)})
    p = subprocess.run([CLI, "probe", str(f), "--label", "y", "--hooks", "blocks.0.hook_resid_pst"],
                       capture_output=True, text=True)
    assert p.returncode == 1 and "did you mean 'blocks.0.hook_resid_post'" in p.stderr, p.stderr
