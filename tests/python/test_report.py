"""strata report: the page's data against the capture file read with h5py, and the page
rendered in headless Chromium (no console errors, one curve per probe line, one cell per
head, a scripted hover that changes the attention view).  Chromium tests skip visibly when
the browser is absent (.ci/run installs it)."""
import base64
import json
import os
import re
import shutil
import subprocess

import numpy as np
import pytest

h5py = pytest.importorskip("h5py")

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STRATA = os.environ.get("STRATA_CLI", os.path.join(ROOT, "build", "strata"))
SHARED = os.environ.get("STRATA_SHARED_DIR") or os.path.join(ROOT, "..", "shared")
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(not os.path.isdir(MODEL), reason="stories260K fixture absent")


def run(*args, check=True):
    p = subprocess.run([STRATA, *args], capture_output=True, text=True)
    if check and p.returncode != 0:
        raise AssertionError(f"strata {' '.join(args)} -> {p.returncode}\n{p.stderr}")
    return p


@pytest.fixture(scope="module")
def capture(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    lines = subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "examples", "label_quotes.py"),
                            os.path.join(ROOT, "examples", "stories.txt")],
                           capture_output=True, text=True, check=True).stdout.splitlines()[:12]
    (d / "c.jsonl").write_text("\n".join(lines) + "\n")
    run("capture", MODEL, "--hooks", "hook_embed,blocks.*.hook_resid_post,blocks.*.attn.hook_pattern",
        "--jsonl", str(d / "c.jsonl"), "--out", str(d / "a.h5"), "--quiet")
    run("capture", MODEL, "--hooks", "blocks.*.hook_resid_post",
        "--jsonl", str(d / "c.jsonl"), "--out", str(d / "nopat.h5"), "--quiet")
    return d


def dense_head(A, l, h):
    """A head embedded in full: lower triangle, byte q(q+1)/2 + k = round(255 P[q, k])."""
    T = A["len"]
    b = np.frombuffer(base64.b64decode(A["heads"][l * A["n_heads"] + h]), np.uint8)
    assert A["mode"][l * A["n_heads"] + h] == "d" and b.size == T * (T + 1) // 2
    P = np.zeros((T, T))
    P[np.tril_indices(T)] = b / 255  # row-major lower triangle
    return P


def sparse_head(A, l, h):
    """A head embedded as top-k: per query q, min(k, q+1) entries (key uint16 LE, round(255 p))."""
    T, k = A["len"], A["k"]
    b = np.frombuffer(base64.b64decode(A["heads"][l * A["n_heads"] + h]), np.uint8)
    assert A["mode"][l * A["n_heads"] + h] == "s"
    rows, o = [], 0
    for q in range(T):
        m = min(k, q + 1)
        e = b[o:o + 3 * m].reshape(m, 3).astype(np.int64)
        rows.append((e[:, 0] | e[:, 1] << 8, e[:, 2] / 255))
        o += 3 * m
    assert o == b.size
    return rows


def page_data(path):
    html = open(path, encoding="utf-8").read()
    m = re.search(r'<script id="strata-data" type="application/json">(.*?)</script>', html, re.S)
    assert m, "no data element"
    return html, json.loads(m.group(1))


def test_data_matches_file(capture):
    out = capture / "r.html"
    run("report", str(capture / "a.h5"), "--model", MODEL, "--out", str(out), "--doc", "2",
        "--quiet")
    html, D = page_data(out)
    assert "http://" not in html.replace("http://www.w3.org/2000/svg", "")  # no network
    assert "https://" not in html
    assert os.path.getsize(out) < 1 << 20
    C = D["captures"][0]
    with h5py.File(capture / "a.h5", "r") as f:
        R = int(f.attrs["n_rows"])
        ro = f["docs/row_offsets"][:]
        flat = [h for h in f["acts"] if f["acts"][h].ndim == 2]
        assert C["n_rows"] == R and C["complete"] is True
        # one probe row and one PCA row per [R, d] hook
        assert [r["hook"] for r in C["probes"][0]["rows"]] == sorted(flat, key=list(f.attrs["hooks"]).index)
        # participation ratio from numpy: (tr C)^2 / ||C||_F^2 of the centred rows
        for r in C["pca"]:
            x = f["acts"][r["hook"]][:R].astype(np.float64)
            cov = np.cov(x, rowvar=False, bias=True)
            pr = np.trace(cov) ** 2 / np.sum(cov * cov)
            assert abs(r["pr"] - pr) <= 1e-3 * pr, (r["hook"], r["pr"], pr)
            ev = np.sort(np.linalg.eigvalsh(cov))[::-1]
            np.testing.assert_allclose(r["evr"], ev[: len(r["evr"])] / ev.sum(), rtol=1e-3, atol=1e-5)
        # CKA: symmetric, unit diagonal
        m = np.array(C["cka"]["m"])
        np.testing.assert_allclose(np.diag(m), 1, atol=1e-5)
        np.testing.assert_allclose(m, m.T, atol=1e-6)
        # attention viewer: document 2's patterns, quantised to 1/255
        A = C["attention"]
        T = min(int(ro[3] - ro[2]), 256)
        assert A["doc"] == 2 and A["len"] == T
        assert A["k"] == 0 and A["mode"] == "d" * (5 * 8)  # small enough: every head in full
        for l in range(A["n_layers"]):
            p = f["acts"][f"blocks.{l}.attn.hook_pattern"][ro[2]:ro[2] + T, :, :T]  # [q, h, k]
            for h in range(A["n_heads"]):
                got = dense_head(A, l, h)
                np.testing.assert_allclose(got, np.tril(p[:, h, :]), atol=0.5 / 255 + 1e-6)
        tok = f["tokens"][:][f["rows"][ro[2]:ro[2] + T]]
    # token strings from the model's tokenizer
    assert len(A["tokens"]) == T
    assert "in_quote" in A["probe_scores"] and len(A["probe_scores"]["in_quote"]) == T
    H = D["heads"]
    assert len(H["scores"]["induction"]) == H["n_layers"] == 5
    assert len(H["scores"]["induction"][0]) == H["n_heads"] == 8
    assert tok[0] == 1  # BOS of stories260K


def safetensors_f32(path, name):
    """One float32 tensor of a .safetensors file, read with plain numpy."""
    import struct
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        head = json.loads(f.read(n))
        t = head[name]
        assert t["dtype"] == "F32"
        a, b = t["data_offsets"]
        f.seek(8 + n + a)
        return np.frombuffer(f.read(b - a), np.float32).reshape(t["shape"])


def test_lens_matches_numpy(capture, tmp_path):
    """The logit-lens section against numpy: the captured residual streams of the document
    (hook_embed = blocks.0.hook_resid_pre for Llama, every blocks.l.hook_resid_post) through
    RMSNorm with model.norm.weight and eps from config.json, times the tied embedding matrix;
    float64.  The lens reruns the forward pass in float32, so: probabilities to 1e-3 relative
    (+1e-6), ranks and top-3 ids exactly unless two logits lie within 1e-3 of each other."""
    out = tmp_path / "r.html"
    run("report", str(capture / "a.h5"), "--model", MODEL, "--out", str(out), "--doc", "3",
        "--no-probes", "--quiet")
    _, D = page_data(out)
    Z = D["captures"][0]["lens"]
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    st = os.path.join(MODEL, "model.safetensors")
    g = safetensors_f32(st, "model.norm.weight").astype(np.float64)
    E = safetensors_f32(st, "model.embed_tokens.weight").astype(np.float64)  # tied unembedding
    with h5py.File(capture / "a.h5", "r") as f:
        ro, to = f["docs/row_offsets"][:], f["docs/offsets"][:]
        n = min(int(to[4] - to[3]), 128)
        ids = f["tokens"][to[3]:to[3] + n]
        pts = ["hook_embed"] + [f"blocks.{l}.hook_resid_post" for l in range(cfg["num_hidden_layers"])]
        X = [f["acts"][h][ro[3]:ro[3] + n].astype(np.float64) for h in pts]
    assert Z["n"] == n and Z["doc"] == 3 and Z["tokens"] == ids.tolist()
    assert Z["points"] == ["blocks.0.hook_resid_pre"] + pts[1:]
    for p, x in enumerate(X):
        nx = x / np.sqrt((x * x).mean(1, keepdims=True) + cfg["rms_norm_eps"]) * g
        logit = nx @ E.T                                             # [n, V]
        lp = logit - logit.max(1, keepdims=True)
        prob = np.exp(lp) / np.exp(lp).sum(1, keepdims=True)
        nxt = ids[1:]
        want_p = prob[np.arange(n - 1), nxt]
        want_r = (logit[:-1] > logit[np.arange(n - 1), nxt][:, None]).sum(1)
        got_p = np.array(Z["prob"][p][:-1], float)
        got_r = np.array(Z["rank"][p][:-1])
        assert Z["prob"][p][-1] is None and Z["rank"][p][-1] is None
        np.testing.assert_allclose(got_p, want_p, rtol=1e-3, atol=1e-6)
        close = (np.abs(logit[:-1] - logit[np.arange(n - 1), nxt][:, None]) < 1e-3).sum(1) > 1
        assert (got_r[~close] == want_r[~close]).all(), p
        assert (np.abs(got_r - want_r) <= close * 5).all()
        top = np.argsort(-logit, axis=1, kind="stable")[:, :3]
        gap = np.abs(np.diff(np.sort(logit, axis=1)[:, ::-1][:, :4], axis=1)).min(1)
        got_top = np.array(Z["top"][p])
        assert (got_top[gap >= 1e-3] == top[gap >= 1e-3]).all(), p
        np.testing.assert_allclose(np.array(Z["top_p"][p]), np.take_along_axis(prob, got_top, 1),
                                   rtol=1e-3, atol=1e-6)
        assert abs(Z["mean_rank"][p] - want_r.mean()) <= 1e-3 * max(1, want_r.mean()) + close.sum()
        assert abs(Z["mean_logp"][p] - np.log(want_p).mean()) < 1e-3 * abs(np.log(want_p).mean())
        assert abs(Z["mean_p"][p] - want_p.mean()) < 1e-4
        assert abs(Z["top1"][p] - (want_r == 0).mean()) <= close.sum() / (n - 1) + 1e-5  # 5 digits
    # the last point is the model's output: most next tokens of a story are predicted well
    assert Z["mean_logp"][-1] > Z["mean_logp"][0]


def test_without_patterns_and_partial(capture, tmp_path):
    src = capture / "nopat.h5"
    part = tmp_path / "partial.h5"
    shutil.copy(src, part)
    with h5py.File(part, "r+") as f:
        f.attrs["complete"] = np.uint8(0) if f.attrs["complete"].dtype == np.uint8 else False
    out = tmp_path / "r.html"
    run("report", str(part), "--out", str(out), "--quiet")
    html, D = page_data(out)
    C = D["captures"][0]
    assert C["complete"] is False
    assert "no full blocks.*.attn.hook_pattern" in C["attention"]["absent"]
    assert "no model given" in D["heads"]["absent"]
    assert "no model given" in C["lens"]["absent"]


def test_bad_inputs(capture, tmp_path):
    bad = tmp_path / "x.json"
    bad.write_text('{"a": 1}')
    p = run("report", str(bad), "--out", str(tmp_path / "r.html"), check=False)
    assert p.returncode == 1 and "not `strata sweep --json` output" in p.stderr
    assert not (tmp_path / "r.html").exists()
    p = run("report", str(tmp_path / "missing.h5"), "--out", str(tmp_path / "r.html"), check=False)
    assert p.returncode == 1 and "missing.h5" in p.stderr
    p = run("report", str(capture / "a.h5"), check=False)
    assert p.returncode == 2
    p = run("report", str(capture / "a.h5"), "--out", str(tmp_path / "r.html"), "--doc", "-1",
            check=False)
    assert p.returncode == 2


# A script appended to the page: records errors, counts what was drawn, hovers token 5
# and records whether the token strip's colours changed; the result lands in the DOM.
PROBE_JS = """
<script>
(function(){
  const res = {errors: window.__errs || []};
  res.curves = document.querySelectorAll('svg.probe-chart polyline.curve').length;
  res.head_cells = Array.from(document.querySelectorAll('svg.head-heat')).map(
      s => s.querySelectorAll('rect.cell').length);
  res.cka_cells = document.querySelectorAll('svg.cka-heat rect.cell').length;
  res.lens_cells = document.querySelectorAll('table.lens td.lens-cell').length;
  res.lens_curves = document.querySelectorAll('svg.lens-chart polyline.curve').length;
  res.lens_title = (document.querySelector('table.lens td.lens-cell') || {}).title;
  const toks = document.querySelectorAll('#attn-strip .tok');
  res.n_tokens = toks.length;
  const before = Array.from(toks).map(t => t.style.background).join('|');
  toks[5].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  const after = Array.from(toks).map(t => t.style.background).join('|');
  res.hover_changed = before !== after;
  res.info = document.getElementById('attn-info').textContent;
  const pre = document.createElement('pre'); pre.id = 'test-result';
  pre.textContent = JSON.stringify(res); document.body.appendChild(pre);
})();
</script>
"""
ERR_JS = ("<script>window.__errs=[];window.addEventListener('error',e=>window.__errs.push("
          "String(e.message)));</script>")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it): "
                    "browser rendering not tested")
def test_renders_in_chromium(capture, tmp_path):
    out = tmp_path / "r.html"
    run("report", str(capture / "a.h5"), "--model", MODEL, "--out", str(out), "--quiet")
    html = out.read_text(encoding="utf-8")
    html = html.replace("<head>", "<head>" + ERR_JS, 1).replace("</body>", PROBE_JS + "</body>")
    page = tmp_path / "t.html"
    page.write_text(html, encoding="utf-8")
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom",
                        page.as_uri()], capture_output=True, text=True, timeout=120,
                       # the sanitizer suite preloads libasan into Python; not into the browser
                       env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
    m = re.search(r'<pre id="test-result">(.*?)</pre>', p.stdout, re.S)
    assert m, p.stderr[-2000:]
    import html as htmlmod
    res = json.loads(htmlmod.unescape(m.group(1)))
    assert res["errors"] == []
    _, D = page_data(out)
    C = D["captures"][0]
    assert res["curves"] == 4 * len(C["probes"])          # accuracy, balanced, control, majority
    assert res["head_cells"] == [5 * 8] * 4                 # one cell per head, per score map
    n = len(C["cka"]["hooks"])
    assert res["cka_cells"] == n * n
    assert res["n_tokens"] == C["attention"]["len"]
    Z = C["lens"]
    assert res["lens_cells"] == Z["n"] * len(Z["points"]) and res["lens_curves"] == 2
    assert res["lens_title"].startswith("emb: next token ")
    assert res["hover_changed"], res
    assert res["info"].startswith("token 5 ")


# ---- the embedding rule on a large synthetic capture (docs/cli/report.md, "Embedding rule") ----

def rule_dense_bytes(T):
    """One head in full, as embedded: base64 of the lower triangle plus 3 bytes of JSON."""
    return 4 * ((T * (T + 1) // 2 + 2) // 3) + 3


def rule_sparse_bytes(T, k):
    """One head as top-k: base64 of 3 bytes per kept entry plus 3 bytes of JSON."""
    entries = sum(min(k, t + 1) for t in range(T))
    return 4 * ((3 * entries + 2) // 3) + 3


def rule_plan(L, H, T_doc, n_prio, budget, heads_only=False):
    """The documented rule, written again here: (T, k, n_dense, bytes)."""
    def at(T):
        n = n_prio if heads_only else L * H
        if n * rule_dense_bytes(T) <= budget:
            return T, 0, n, n * rule_dense_bytes(T)
        nd = 0
        while nd < n_prio and (nd + 1) * rule_dense_bytes(T) <= budget // 2:
            nd += 1
        for k in range(32, 0, -1):
            b = nd * rule_dense_bytes(T) + (n - nd) * rule_sparse_bytes(T, k)
            if b <= budget:
                return T, k, nd, b
        return None
    for T in range(min(T_doc, 4096), 0, -1):
        p = at(T)
        if p:
            return p
    return None


def write_synthetic_patterns(path, L, H, lens, seed=0):
    """A capture file (docs/FORMAT.md) holding only blocks.*.attn.hook_pattern, float16,
    shuffle + deflate: each head attends, from every query, to a random handful of earlier
    keys (1 to 40 draws per head, Dirichlet-like weights), so top-k keeps part of the mass."""
    rng = np.random.default_rng(seed)
    R = sum(lens)
    W = max(lens)
    ro = np.concatenate([[0], np.cumsum(lens)]).astype(np.int64)
    hooks = [f"blocks.{l}.attn.hook_pattern" for l in range(L)]
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["model_name"] = "synthetic"
        f.attrs["complete"] = True
        f.attrs["hooks"] = hooks
        f.attrs["labels"] = []
        for k in ("n_rows", "n_tokens"):
            f.attrs[k] = np.int64(R)
        f.attrs["n_docs"] = np.int64(len(lens))
        f.create_dataset("tokens", data=rng.integers(0, 1000, R).astype(np.int32))
        f.create_dataset("rows", data=np.arange(R, dtype=np.int64))
        f.create_dataset("docs/offsets", data=ro)
        f.create_dataset("docs/row_offsets", data=ro)
        draws = rng.integers(1, 41, (L, H))
        for l, hk in enumerate(hooks):
            P = np.zeros((R, H, W), np.float32)
            for d, n in enumerate(lens):
                q = np.arange(n)
                for h in range(H):
                    c = draws[l, h]
                    keys = (rng.random((n, c)) * (q[:, None] + 1)).astype(np.int64)   # <= q
                    w = rng.exponential(size=(n, c)) ** 3
                    w /= w.sum(1, keepdims=True)
                    np.add.at(P, (ro[d] + np.repeat(q, c), h, keys.ravel()), w.ravel())
            ds = f.create_dataset("acts/" + hk, data=P.astype(np.float16), chunks=(64, H, 16),
                                  shuffle=True, compression="gzip", compression_opts=1)
            ds.attrs["axes"] = "row, head, key"


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    d = tmp_path_factory.mktemp("big")
    write_synthetic_patterns(d / "big.h5", 24, 32, [512, 64])
    return d


def check_page_against_file(path, A, heads_to_check):
    """Dense heads equal round(255 p); sparse heads hold numpy's top-k (weight descending,
    ties to the lower key) and the kept mass numpy computes."""
    T, H = A["len"], A["n_heads"]
    with h5py.File(path, "r") as f:
        for (l, h) in heads_to_check:
            p = f["acts"][f"blocks.{l}.attn.hook_pattern"][0:T, h, :T].astype(np.float64)
            if A["mode"][l * H + h] == "d":
                np.testing.assert_allclose(dense_head(A, l, h), np.tril(p), atol=0.5 / 255 + 1e-6)
                continue
            rows = sparse_head(A, l, h)
            kept = []
            for q in range(T):
                keys = np.arange(q + 1)
                order = np.lexsort((keys, -p[q, :q + 1]))[:A["k"]]
                got_k, got_w = rows[q]
                np.testing.assert_array_equal(got_k, order, err_msg=f"head {l}.{h} query {q}")
                np.testing.assert_allclose(got_w, p[q, order], atol=0.5 / 255 + 1e-6)
                kept.append(p[q, order].sum() / p[q, :q + 1].sum())
            assert abs(A["kept"][l * H + h] - np.mean(kept)) < 1e-4, (l, h)


def test_budget_rule_large_capture(big, tmp_path):
    """24 layers x 32 heads x 512 tokens: every head in full would be 100 MB of page; the
    default 3 MiB budget keeps --heads in full and the others' top-k rows."""
    out = tmp_path / "r.html"
    run("report", str(big / "big.h5"), "--heads", "3.5,10.17,3.5", "--out", str(out), "--quiet")
    html, D = page_data(out)
    A = D["captures"][0]["attention"]
    budget = 3 * 1024 * 1024
    T, k, nd, nbytes = rule_plan(24, 32, 512, 2, budget)
    assert (A["len"], A["k"], len(A["dense"]), A["bytes"]) == (T, k, nd, nbytes)
    assert (T, nd) == (512, 2) and 1 <= k < 32
    assert A["dense"] == [[3, 5], [10, 17]] and A["budget"] == budget
    assert sum(len(s) + 3 for s in A["heads"]) == A["bytes"] <= budget
    assert A["full_bytes"] == 24 * 32 * rule_dense_bytes(512) > 30 * budget
    assert os.path.getsize(out) < budget + 100_000  # the rest of the page is small
    check_page_against_file(big / "big.h5", A, [(3, 5), (10, 17), (0, 0), (7, 31), (23, 12)])


def test_budget_rule_token_window(big, tmp_path):
    """A budget too small for the top key of every query: the window shrinks to the longest
    that fits, and the page says so."""
    out = tmp_path / "r.html"
    budget = 400_000
    run("report", str(big / "big.h5"), "--attn-budget", str(budget), "--out", str(out), "--quiet")
    _, D = page_data(out)
    A = D["captures"][0]["attention"]
    T, k, nd, nbytes = rule_plan(24, 32, 512, 0, budget)
    assert (A["len"], A["k"], len(A["dense"]), A["bytes"]) == (T, k, nd, nbytes)
    assert T < 512 and A["doc_len"] == 512 and k == 1
    assert "does not fit the budget" in A["cut"]
    assert sum(len(s) + 3 for s in A["heads"]) == A["bytes"] <= budget
    check_page_against_file(big / "big.h5", A, [(0, 0), (23, 31)])
    p = run("report", str(big / "big.h5"), "--attn-budget", "10", "--out", str(out), check=False)
    assert p.returncode == 0
    _, D = page_data(out)
    assert "too small" in D["captures"][0]["attention"]["absent"]
    p = run("report", str(big / "big.h5"), "--attn-heads-only", "--out", str(out), check=False)
    assert p.returncode == 0
    _, D = page_data(out)
    assert "no head to embed" in D["captures"][0]["attention"]["absent"]
    p = run("report", str(big / "big.h5"), "--heads", "24.0", "--out", str(out), check=False)
    assert p.returncode == 1 and "--heads 24.0" in p.stderr and "24 layers x 32 heads" in p.stderr
    p = run("report", str(big / "big.h5"), "--heads", "3-5", "--out", str(out), check=False)
    assert p.returncode == 2 and "LAYER.HEAD" in p.stderr


def test_budget_heads_only(big, tmp_path):
    """--attn-heads-only: the budget goes to the listed heads alone; under a budget too small for
    them in full, they are top-k; every other head is 'x' / null."""
    out = tmp_path / "r.html"
    heads = [(3, 5), (10, 17), (23, 0)]
    spec = ",".join(f"{l}.{h}" for l, h in heads)
    run("report", str(big / "big.h5"), "--heads", spec, "--attn-heads-only", "--out", str(out),
        "--quiet")
    _, D = page_data(out)
    A = D["captures"][0]["attention"]
    assert rule_plan(24, 32, 512, 3, 3 << 20, True) == (512, 0, 3, A["bytes"])
    assert A["heads_only"] is True and A["k"] == 0 and A["len"] == 512
    emb = [i for i, c in enumerate(A["mode"]) if c != "x"]
    assert emb == sorted(l * 32 + h for l, h in heads) and set(A["mode"][i] for i in emb) == {"d"}
    assert all(A["heads"][i] is None and A["kept"][i] is None
               for i in range(24 * 32) if i not in emb)
    check_page_against_file(big / "big.h5", A, heads)
    budget = 150_000  # one head in full is 175 kB: all three top-k
    run("report", str(big / "big.h5"), "--heads", spec, "--attn-heads-only", "--attn-budget",
        str(budget), "--out", str(out), "--quiet")
    _, D = page_data(out)
    A = D["captures"][0]["attention"]
    T, k, nd, nbytes = rule_plan(24, 32, 512, 3, budget, True)
    assert (A["len"], A["k"], len(A["dense"]), A["bytes"]) == (T, k, nd, nbytes)
    assert T == 512 and nd == 0 and 1 < k < 32 and nbytes <= budget
    assert A["mode"].count("s") == 3 and A["mode"].count("x") == 24 * 32 - 3
    check_page_against_file(big / "big.h5", A, heads)


BIG_JS = """
<script>
(function(){
  const res = {errors: window.__errs || []};
  res.rule = document.querySelector('p.attn-rule').textContent;
  const hs = document.getElementById('attn-head'), ls = document.getElementById('attn-layer');
  res.start = [+ls.value, +hs.value];
  res.head_info_dense = document.getElementById('attn-head-info').textContent;
  const toks = document.querySelectorAll('#attn-strip .tok');
  res.n_tokens = toks.length;
  toks[300].dispatchEvent(new MouseEvent('mouseover', {bubbles: true}));
  ls.value = 0; hs.value = 0; hs.dispatchEvent(new Event('change'));
  res.head_info_sparse = document.getElementById('attn-head-info').textContent;
  res.info = document.getElementById('attn-info').textContent;
  res.red = Array.from(toks).filter(t => {
      const m = /rgba?\\(214, 39, 40(?:, ([0-9.]+))?\\)/.exec(t.style.background);
      return m && (m[1] === undefined || +m[1] > 0); }).length;
  const pre = document.createElement('pre'); pre.id = 'test-result';
  pre.textContent = JSON.stringify(res); document.body.appendChild(pre);
})();
</script>
"""


def render(page, tmp_path, js):
    html = page.read_text(encoding="utf-8")
    html = html.replace("<head>", "<head>" + ERR_JS, 1).replace("</body>", js + "</body>")
    t = tmp_path / "t.html"
    t.write_text(html, encoding="utf-8")
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", t.as_uri()],
                       capture_output=True, text=True, timeout=120,
                       env={k: v for k, v in os.environ.items() if k != "LD_PRELOAD"})
    m = re.search(r'<pre id="test-result">(.*?)</pre>', p.stdout, re.S)
    assert m, p.stderr[-2000:]
    import html as htmlmod
    return json.loads(htmlmod.unescape(m.group(1)))


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (.ci/run installs it): "
                    "browser rendering not tested")
def test_budget_page_in_chromium(big, tmp_path):
    """The viewer states the rule and what it dropped, starts on a head shown in full, and
    reads sparse heads (hover, head change) without errors."""
    out = tmp_path / "r.html"
    run("report", str(big / "big.h5"), "--heads", "10.17", "--out", str(out), "--quiet")
    _, D = page_data(out)
    A = D["captures"][0]["attention"]
    res = render(out, tmp_path, BIG_JS)
    assert res["errors"] == []
    assert res["start"] == [10, 17] and "every weight shown" in res["head_info_dense"]
    assert f"only the top {A['k']} keys of each query" in res["rule"]
    assert "In full: head 10.17" in res["rule"] and "are dropped" not in res["rule"]  # no token cut
    assert "the rest is dropped" in res["rule"]
    kept = 100 * A["kept"][0]
    assert f"hold {kept:.1f} % of its attention" in res["head_info_sparse"]
    assert res["info"].startswith("token 300 ")
    assert 1 <= res["red"] <= A["k"]  # query 300's kept keys (and nothing else) are red
    assert res["n_tokens"] == 512
    run("report", str(big / "big.h5"), "--heads", "10.17", "--attn-heads-only", "--out", str(out),
        "--quiet")
    res = render(out, tmp_path, BIG_JS)
    assert res["errors"] == []
    assert res["start"] == [10, 17] and "every weight shown" in res["head_info_dense"]
    assert "not embedded (--attn-heads-only)" in res["head_info_sparse"]   # head 0.0
    assert "Only the 1 heads chosen by --heads" in res["rule"] and res["red"] == 0
