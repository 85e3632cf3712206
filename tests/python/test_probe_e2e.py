"""End to end on a real model: stories260K (../shared/models), a JSONL corpus
labelled by a property derivable from the text (bench/probe/stories_corpus.py:
"the token is inside a quotation"), `strata capture` then `strata probe
--control`.  Being inside a quotation is contextual (not a function of the
token type), so the last layer must beat the embedding and its selectivity
over the Hewitt & Liang control task must grow with depth.
Skips when the shared model or the capture command is absent."""
import json
import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))


def test_stories260k_in_quote_by_layer(tmp_path):
    cli = os.environ.get("STRATA_CLI")
    shared = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
    model = os.path.join(shared, "models", "stories260K", "hf")
    if not cli or not os.path.exists(cli):
        pytest.skip("STRATA_CLI not set")
    if not os.path.isdir(model):
        pytest.skip(f"{model} not present")
    if subprocess.run([cli, "capture", "--help"], capture_output=True).returncode != 0:
        pytest.skip("strata capture not built")
    corpus = tmp_path / "stories.jsonl"
    subprocess.run([sys.executable, os.path.join(HERE, "..", "..", "bench", "probe", "stories_corpus.py"),
                    str(corpus), "--docs", "200", "--seed", "1"], check=True)
    acts = tmp_path / "acts.h5"
    subprocess.run([cli, "capture", model, "--hooks", "hook_embed,blocks.*.hook_resid_post",
                    "--jsonl", str(corpus), "--out", str(acts), "--quiet"], check=True)
    out = subprocess.run([cli, "probe", str(acts), "--label", "in_quote", "--control",
                          "--json", "--quiet"],
                         capture_output=True, text=True, check=True)
    res = {r["hook"]: r for r in json.loads(out.stdout)["results"]}
    emb, last = res["hook_embed"], res[max(h for h in res if h.startswith("blocks."))]
    print("\nin_quote on stories260K:  hook  test_acc  control_acc  selectivity")
    for h, r in res.items():
        print(f"  {h:28s} {r['test_accuracy']:.3f} {r['control_accuracy']:.3f} {r['selectivity']:+.3f}")
    assert last["test_accuracy"] > emb["test_accuracy"] + 0.05
    assert last["selectivity"] > emb["selectivity"] + 0.1
    assert last["selectivity"] > 0
