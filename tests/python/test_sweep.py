"""`strata sweep` over three tiny GPT-2 checkpoints written here (numpy, CONTRACTS.md layout).

Checked against independent runs and a numpy implementation of the definitions:
  - the weight norm equals numpy's over model.safetensors (1e-12 relative);
  - each checkpoint's loss equals `strata eval --tokens-file` on the same corpus (a separate
    code path: eval batches and runs its own forward, the sweep rides on a capture pass);
    tolerance 1e-9 (both sum float64 log-probabilities of the same float32 logits);
  - the induction score and head equal `strata attn --induction R --n-docs N --seed S`'s best
    head (1e-9);
  - the ICL score equals the per-document definition computed in numpy from `strata run`
    logits (2e-4: logits printed with 6 digits);
  - every transition in the JSON equals a numpy implementation of docs/cli/sweep.md's
    definitions applied to the JSON's own point values (1e-9);
  - bad input: no checkpoints, two tokenizers, vocabulary mismatch, an empty answer.
"""
import json
import os
import subprocess
import sys
import xml.etree.ElementTree as ET

import numpy as np
import pytest

sys.path.insert(0, os.path.dirname(__file__))
import gpt2_writer  # noqa: E402

CLI = os.environ.get("STRATA_CLI")
pytestmark = pytest.mark.skipif(not CLI or not os.access(CLI or "", os.X_OK), reason="needs STRATA_CLI")

V, NCTX = 20, 32


def run(*args, ok=True):
    r = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    if ok:
        assert r.returncode == 0, r.stderr
    return r


@pytest.fixture(scope="module")
def family(tmp_path_factory):
    root = tmp_path_factory.mktemp("sweep")
    fam = root / "run"
    gpt2_writer.write_family(str(fam), [0, 50, 100], n_layer=2, n_head=2, d=16, n_ctx=NCTX, vocab=V,
                             std=0.1, seed=3)
    os.symlink("step-100", fam / "final")
    rng = np.random.default_rng(7)
    docs = [rng.integers(0, V, size=int(rng.integers(20, 29))) for _ in range(16)]
    (root / "ids.txt").write_text("".join(" ".join(map(str, d)) + "\n" for d in docs))
    items = [{"prompt_ids": [int(x) for x in d[:6]], "answer_ids": [int(x) for x in d[6:8]]} for d in docs]
    (root / "task.jsonl").write_text("".join(json.dumps(i) + "\n" for i in items))
    return root, fam, docs


def numpy_weight_norm(d):
    import struct
    with open(os.path.join(d, "model.safetensors"), "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        h = json.loads(f.read(n))
        data = f.read()
    return float(np.sqrt(sum((np.frombuffer(data[a:b], np.float32).astype(np.float64) ** 2).sum()
                             for k, v in h.items() if k != "__metadata__"
                             for a, b in [v["data_offsets"]])))


def numpy_transition(x, y, log_x=False):
    x, y = np.asarray(x, float), np.asarray(y, float)
    u = np.log10(x) if log_x else x
    D = y[-1] - y[0]
    if D == 0:
        return None
    s = np.sign(D)
    d = s * np.diff(y)
    k = int(np.argmax(d))

    def cross(L):
        for i in range(len(y) - 1):
            if s * (y[i] - L) < 0 <= s * (y[i + 1] - L):
                uu = u[i] + (L - y[i]) / (y[i + 1] - y[i]) * (u[i + 1] - u[i])
                return 10 ** uu if log_x else uu
        return np.nan

    mid = (u[k] + u[k + 1]) / 2
    x10, x90 = cross(y[0] + 0.1 * D), cross(y[0] + 0.9 * D)
    return {"sharpness": d[k] / abs(D), "x_steep": 10 ** mid if log_x else mid, "x10": x10,
            "x90": x90, "width": x90 - x10, "total_change": D}


def test_sweep_three_checkpoints(family, tmp_path):
    root, fam, docs = family
    svg = tmp_path / "sweep.svg"
    r = run("sweep", fam, "--tokens-file", root / "ids.txt", "--measure",
            f"loss,icl,induction,geometry,weights,task:{root / 'task.jsonl'}", "--induction-len", 10,
            "--induction-docs", 12, "--seed", 5, "--json", "--plot", svg, "--quiet")
    out = json.loads(r.stdout)
    assert out["x_axis"] == "step" and not out["log_x"]
    pts = out["points"]
    assert [p["step"] for p in pts] == [0, 50, 100]       # sorted, `final` link ignored
    assert [p["tokens_seen"] for p in pts] == [0, 50000, 100000]
    assert all(p["n_params"] == pts[0]["n_params"] > 0 for p in pts)
    for p in pts:
        e = json.loads(run("eval", p["path"], "--tokens-file", root / "ids.txt", "--json").stdout)
        assert p["measures"]["loss"] == pytest.approx(e["loss"], abs=1e-9)
        a = json.loads(run("attn", p["path"], "--induction", 10, "--n-docs", 12, "--seed", 5,
                           "--json").stdout)
        best = max(a["heads"], key=lambda h: h["induction"])
        assert p["measures"]["induction"] == pytest.approx(best["induction"], abs=1e-6)
        assert p["induction_head"] == f"{best['layer']}.{best['head']}"
        t = json.loads(run("eval", p["path"], "--task", root / "task.jsonl", "--json").stdout)
        assert p["measures"]["task:task.jsonl:exact_match"] == t["exact_match"]
        assert p["measures"]["task:task.jsonl:answer_logprob"] == pytest.approx(t["answer_logprob"], abs=1e-12)
        L = p["measures"]
        assert L["weight_norm"] == pytest.approx(numpy_weight_norm(p["path"]), rel=1e-12)
        assert [k for k in L if k.startswith("geometry:pr@")] == ["geometry:pr@0", "geometry:pr@1", "geometry:pr@2"]
        assert 1 <= L["geometry:pr@1"] <= 16
    # ICL from numpy: per document reaching `late`, l_late - l_early, averaged
    early, late = pts[0]["measures"]["icl_early_pos"], pts[0]["measures"]["icl_late_pos"]
    med = sorted(len(d) for d in docs)[len(docs) // 2]
    assert late == min(500, med - 1) and early == max(1, min(50, late // 10))
    p = pts[1]
    diffs = []
    for d in docs:
        if len(d) <= late:
            continue
        o = json.loads(run("run", p["path"], "--ids", ",".join(map(str, d)), "--top", V, "--json").stdout)
        Lg = np.zeros((len(d), V))
        for q in o["positions"]:
            Lg[q["position"], q["top_ids"]] = q["top_logits"]
        lp = Lg - Lg.max(1, keepdims=True)
        lp -= np.log(np.exp(lp).sum(1, keepdims=True))
        nll = lambda i: -lp[i - 1, d[i]]  # noqa: E731  loss of token i
        diffs.append(nll(late) - nll(early))
    assert p["measures"]["icl"] == pytest.approx(np.mean(diffs), abs=2e-4)
    # transitions: numpy definitions on the JSON's own values
    tr = {(t["family"], t["measure"]): t for t in out["transitions"]}
    for name in ["loss", "icl", "induction", "geometry:pr_mean", "task:task.jsonl:answer_logprob"]:
        want = numpy_transition([q["step"] for q in pts], [q["measures"][name] for q in pts])
        got = tr[(str(fam), name)]
        for k, v in want.items():
            assert got[k] == pytest.approx(v, abs=1e-9), (name, k)
    # the SVG parses and has a panel per headline measure and a heatmap
    tree = ET.parse(svg)
    texts = [t.text or "" for t in tree.iter("{http://www.w3.org/2000/svg}text")]
    assert "loss" in texts and "induction" in texts
    assert any(t.startswith("geometry:pr by layer") for t in texts)


def test_sweep_csv_and_size_axis(family, tmp_path):
    root, fam, _ = family
    # a size series: three single model dirs -> x = parameters on a log axis
    dirs = []
    for i, d in enumerate([8, 16, 24]):
        p = tmp_path / f"m{d}"
        gpt2_writer.write_gpt2(str(p), n_layer=1, n_head=2, d=d, n_ctx=NCTX, vocab=V, seed=i, std=0.2)
        dirs.append(p)
    r = run("sweep", *dirs, "--tokens-file", root / "ids.txt", "--measure", "loss", "--json", "--quiet")
    out = json.loads(r.stdout)
    assert out["x_axis"] == "params" and out["log_x"]
    x = [q["n_params"] for q in out["points"]]
    y = [q["measures"]["loss"] for q in out["points"]]
    want = numpy_transition(x, y, log_x=True)
    got = [t for t in out["transitions"] if t["measure"] == "loss"][0]
    for k, v in want.items():
        assert got[k] == pytest.approx(v, rel=1e-9, abs=1e-9), k
    r = run("sweep", *dirs, "--tokens-file", root / "ids.txt", "--measure", "loss", "--csv", "--quiet")
    lines = r.stdout.strip().split("\n")
    assert lines[0].split(",")[:5] == ["path", "family", "step", "tokens_seen", "n_params"]
    assert lines[0].split(",")[-1] == "loss" and len(lines) == 4
    assert float(lines[1].split(",")[-1]) == pytest.approx(y[0], abs=1e-8)
    # --json-out: the same JSON in a file beside the CSV on stdout
    jo = tmp_path / "out.json"
    r2 = run("sweep", *dirs, "--tokens-file", root / "ids.txt", "--measure", "loss", "--csv", "--quiet",
             "--json-out", jo)
    drop_seconds = lambda t: [l.split(",")[:5] + l.split(",")[6:] for l in t.strip().split("\n")]  # noqa: E731
    assert drop_seconds(r2.stdout) == drop_seconds(r.stdout)
    got = json.loads(jo.read_text())
    assert [q["measures"] for q in got["points"]] == [q["measures"] for q in out["points"]]


def test_sweep_bad_input(family, tmp_path):
    root, fam, _ = family
    (tmp_path / "empty").mkdir()
    r = run("sweep", tmp_path / "empty", "--measure", "induction", ok=False)
    assert r.returncode == 1 and "no checkpoints" in r.stderr and r.stdout == ""
    # two tokenizers
    a, b = tmp_path / "a", tmp_path / "b"
    gpt2_writer.write_gpt2(str(a), vocab=V, n_ctx=NCTX)
    gpt2_writer.write_gpt2(str(b), vocab=V, n_ctx=NCTX)
    (a / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": {"a": 0}}}')
    (b / "tokenizer.json").write_text('{"model": {"type": "BPE", "vocab": {"b": 0}}}')
    r = run("sweep", a, b, "--measure", "induction", ok=False)
    assert r.returncode == 1 and "different tokenizers" in r.stderr and r.stdout == ""
    # vocabulary mismatch without tokenizer files
    c = tmp_path / "c"
    gpt2_writer.write_gpt2(str(c), vocab=V + 4, n_ctx=NCTX)
    r = run("sweep", fam, c, "--measure", "induction", "--quiet", ok=False)
    assert r.returncode == 1 and "vocab_size" in r.stderr and r.stdout == ""
    # empty answer in a task
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt_ids": [1, 2], "answer_ids": [3]}\n{"prompt_ids": [1], "answer_ids": []}\n')
    r = run("sweep", fam, "--measure", f"task:{bad}", "--quiet", ok=False)
    assert r.returncode == 1 and 'bad.jsonl:2: "answer_ids" is empty' in r.stderr and r.stdout == ""
    # measures that need a corpus, unknown measure
    r = run("sweep", fam, "--measure", "loss", ok=False)
    assert r.returncode == 2 and "need an eval corpus" in r.stderr
    r = run("sweep", fam, "--measure", "speed", ok=False)
    assert r.returncode == 2 and "unknown measure 'speed'" in r.stderr
    r = run("sweep", fam, "--tokens-file", root / "ids.txt", "--measure", "probe:x", ok=False)
    assert r.returncode == 2 and "needs labels" in r.stderr


SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
STORIES = os.path.join(SHARED, "models/stories260K/hf")


@pytest.mark.skipif(not os.path.exists(STORIES), reason="needs ../shared/models/stories260K")
def test_sweep_probe_labels(tmp_path):
    rng = np.random.default_rng(0)
    names = ["Tom", "Lily", "Sue", "Ben"]
    with open(tmp_path / "lab.jsonl", "w") as f:
        for _ in range(40):
            n = names[rng.integers(4)]
            t = f"{n} saw the ball. {n} was happy."
            f.write(json.dumps({"text": t, "girl": [[0, len(n), int(n in ("Lily", "Sue"))]]}) + "\n")
    r = run("sweep", STORIES, "--data", tmp_path / "lab.jsonl", "--measure", "probe:girl",
            "--probe-cv", 3, "--json", "--quiet")
    m = json.loads(r.stdout)["points"][0]["measures"]
    layers = [k for k in m if k.startswith("probe:girl:acc@")]
    assert len(layers) == 6  # embeddings + 5 layers
    assert m["probe:girl:acc"] == max(m[k] for k in layers)
    r = run("sweep", STORIES, "--data", tmp_path / "lab.jsonl", "--measure", "probe:boy", ok=False)
    assert r.returncode == 1 and 'has no label "boy" (labels: girl)' in r.stderr and r.stdout == ""
