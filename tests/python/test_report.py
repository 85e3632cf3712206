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
        for l, q in enumerate(A["q"]):
            got = np.frombuffer(base64.b64decode(q), np.uint8).reshape(A["n_heads"], T, T) / 255
            p = f["acts"][f"blocks.{l}.attn.hook_pattern"][ro[2]:ro[2] + T, :, :T]  # [q, h, k]
            np.testing.assert_allclose(got, p.transpose(1, 0, 2), atol=0.5 / 255 + 1e-6)
        tok = f["tokens"][:][f["rows"][ro[2]:ro[2] + T]]
    # token strings from the model's tokenizer
    assert len(A["tokens"]) == T
    assert "in_quote" in A["probe_scores"] and len(A["probe_scores"]["in_quote"]) == T
    H = D["heads"]
    assert len(H["scores"]["induction"]) == H["n_layers"] == 5
    assert len(H["scores"]["induction"][0]) == H["n_heads"] == 8
    assert tok[0] == 1  # BOS of stories260K


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
    assert res["hover_changed"], res
    assert res["info"].startswith("token 5 ")
