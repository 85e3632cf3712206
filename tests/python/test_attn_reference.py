"""`strata attn` and `strata lens` against numpy on stories260K's reference.h5.

reference.h5 holds the attention patterns [L,H,T,T] and logits that llama2.c's
run.c computed for the reference prompt (independently of strata).  The head
statistics are recomputed here in float64 from those patterns, straight from the
definitions in docs/ATTENTION.md, and compared with what `strata attn` computes
inside its own forward pass; the logit lens's last readout is compared with the
reference logits.  Skipped, visibly, without the CLI (STRATA_CLI) or ../shared.
"""
import json
import os
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

CLI = os.environ.get("STRATA_CLI")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(os.path.dirname(__file__), "../../../shared"))
MODEL = os.path.join(SHARED, "models/stories260K/hf")
REF = os.path.join(SHARED, "models/stories260K/reference.h5")

pytestmark = pytest.mark.skipif(
    not CLI or not os.access(CLI or "", os.X_OK) or not os.path.exists(REF),
    reason="needs STRATA_CLI and ../shared/models/stories260K/reference.h5",
)


def ref_stats(P, ids):
    """Per-head statistics of one document (docs/ATTENTION.md), float64."""
    L, H, T, _ = P.shape
    out = {}
    q = np.arange(1, T)
    for l in range(L):
        for h in range(H):
            p = P[l, h].astype(np.float64)
            ent = []
            dist = []
            dup = []
            for i in q:
                row = p[i, : i + 1]
                nz = row[row > 0]
                ent.append(-(nz * np.log(nz)).sum())
                dist.append((row * (i - np.arange(i + 1))).sum())
                same = [k for k in range(i) if ids[k] == ids[i]]
                if same:
                    dup.append(row[same].sum())
            out[(l, h)] = dict(
                prev_token=p[q, q - 1].mean(),
                first_token=p[q, 0].mean(),
                self=p[q, q].mean(),
                entropy=np.mean(ent),
                mean_distance=np.mean(dist),
                duplicate=np.mean(dup) if dup else None,
            )
    return out


def test_attn_matches_reference_patterns(tmp_path):
    with h5py.File(REF, "r") as f:
        P = f["attn_pattern"][:]
        ids = f["input_ids"][:].tolist()
    doc = tmp_path / "ref.txt"
    doc.write_text(" ".join(map(str, ids)) + "\n")
    r = subprocess.run([CLI, "attn", MODEL, "--tokens-file", str(doc), "--json"],
                       capture_output=True, text=True, check=True)
    got = json.loads(r.stdout)
    assert got["n_layers"] == P.shape[0] and got["n_heads"] == P.shape[1]
    want = ref_stats(P, ids)
    worst = 0.0
    for head in got["heads"]:
        w = want[(head["layer"], head["head"])]
        for key, v in w.items():
            if v is None:
                assert head[key] is None
                continue
            worst = max(worst, abs(head[key] - v))
    # reference patterns agree with a PyTorch re-implementation to 3.3e-6
    assert worst < 5e-5, worst


def test_attn_induction_json_and_errors(tmp_path):
    r = subprocess.run([CLI, "attn", MODEL, "--induction", "20", "--n-docs", "8", "--seed", "3",
                        "--json", "--csv", str(tmp_path / "h.csv"), "--plot", str(tmp_path / "h.svg")],
                       capture_output=True, text=True, check=True)
    got = json.loads(r.stdout)
    assert got["induction_R"] == 20 and got["seed"] == 3
    assert len(got["heads"]) == 40
    for h in got["heads"]:
        assert 0 <= h["induction"] <= 1 and 0 <= h["prev_token"] <= 1
        assert h["class"] in ("other", "previous-token", "first-token", "self",
                              "duplicate-token", "induction")
    # same seed, same numbers
    r2 = subprocess.run([CLI, "attn", MODEL, "--induction", "20", "--n-docs", "8", "--seed", "3",
                         "--json"], capture_output=True, text=True, check=True)
    assert json.loads(r2.stdout) == got
    assert (tmp_path / "h.csv").read_text().startswith("layer,head,prev_token")
    assert (tmp_path / "h.svg").read_text().startswith("<svg")
    # R too large for the 512-token context
    bad = subprocess.run([CLI, "attn", MODEL, "--induction", "300"], capture_output=True, text=True)
    assert bad.returncode == 1 and "context of 512" in bad.stderr
    # empty corpus
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    bad = subprocess.run([CLI, "attn", MODEL, "--tokens-file", str(empty)], capture_output=True, text=True)
    assert bad.returncode == 1 and "empty corpus" in bad.stderr
    # given documents that are not BOS + S + S
    notrep = tmp_path / "notrep.txt"
    notrep.write_text("1 5 6 7 5 6 8\n")
    bad = subprocess.run([CLI, "attn", MODEL, "--tokens-file", str(notrep), "--induction", "3"],
                         capture_output=True, text=True)
    assert bad.returncode == 1 and "not BOS + S + S" in bad.stderr


def test_lens_last_point_is_model_output():
    with h5py.File(REF, "r") as f:
        ids = f["input_ids"][:].tolist()
        logits = f["logits"][:].astype(np.float64)
    r = subprocess.run([CLI, "lens", MODEL, "--ids", ",".join(map(str, ids)), "--top", "3", "--json"],
                       capture_output=True, text=True, check=True)
    got = json.loads(r.stdout)
    assert got["tokens"] == ids and len(got["points"]) == 6
    ref_p = np.exp(logits - logits.max(1, keepdims=True))
    ref_p /= ref_p.sum(1, keepdims=True)
    for pos in got["positions"]:
        t = pos["position"]
        last = pos["layers"][-1]
        assert last["top"][0]["id"] == int(np.argmax(logits[t]))
        assert abs(last["top"][0]["prob"] - ref_p[t].max()) < 1e-4
        if pos["next"] is not None:
            nxt = pos["next"]
            assert last["rank"] == int((logits[t] > logits[t, nxt]).sum())
            assert abs(last["prob"] - ref_p[t, nxt]) < 1e-4
    ranks = [s["mean_rank"] for s in got["summary"]]
    assert ranks[-1] < ranks[0]


def test_attn_from_capture_file(tmp_path):
    """Patterns stored in the capture layout (docs/FORMAT.md) give the same
    statistics as the live hook; here the stored patterns are reference.h5's."""
    with h5py.File(REF, "r") as f:
        P = f["attn_pattern"][:]            # [L,H,T,T]
        ids = f["input_ids"][:].astype(np.int32)
    L, H, T, _ = P.shape
    cap = tmp_path / "cap.h5"
    hooks = [f"blocks.{l}.attn.hook_pattern" for l in range(L)]
    with h5py.File(cap, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["model_name"] = "stories260K"
        f.attrs["complete"] = True
        f.attrs["hooks"] = hooks
        f.attrs["n_rows"] = np.int64(T)
        f.attrs["n_tokens"] = np.int64(T)
        f.attrs["n_docs"] = np.int64(1)
        f.create_dataset("tokens", data=ids)
        f.create_dataset("rows", data=np.arange(T, dtype=np.int64))
        f.create_dataset("docs/offsets", data=np.array([0, T], np.int64))
        for l, h in enumerate(hooks):
            f.create_dataset(f"acts/{h}", data=P[l].transpose(1, 0, 2).astype(np.float32))  # [rows, H, T]
    from_cap = subprocess.run([CLI, "attn", MODEL, "--capture", str(cap), "--json"],
                              capture_output=True, text=True, check=True)
    doc = tmp_path / "ref.txt"
    doc.write_text(" ".join(map(str, ids.tolist())) + "\n")
    live = subprocess.run([CLI, "attn", MODEL, "--tokens-file", str(doc), "--json"],
                          capture_output=True, text=True, check=True)
    a, b = json.loads(from_cap.stdout)["heads"], json.loads(live.stdout)["heads"]
    keys = ("prev_token", "first_token", "self", "entropy", "mean_distance", "duplicate")
    worst = max(abs(x[k] - y[k]) for x, y in zip(a, b) for k in keys)
    assert worst < 5e-5, worst
    assert [x["class"] for x in a] == [y["class"] for y in b]
