#!/usr/bin/python3
"""Opens a strata report page in headless Chromium and measures, inside the page:
  ready_ms   performance.now() in the window 'load' event (the page's own script has drawn
             every section) after a forced layout (document.body.offsetHeight): the time from
             navigation start (reading and parsing the HTML, JSON.parse, building the SVG and
             DOM, layout);
  pick_ms    switching the attention viewer to another head (decode + repaint);
  hover_ms   mean of 20 hovers over tokens of the viewer's strip.
and, outside, the wall-clock of the whole chromium --dump-dom process for this page and for
an empty page (browser start-up, for reference).

usage: open_time.py PAGE.html [RUNS]   (prints one JSON line per run, then the medians)"""
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
PROBE = """<script>
window.addEventListener('load', () => {
  const r = {};
  document.body.offsetHeight;
  r.ready_ms = performance.now();
  const ls = document.getElementById('attn-layer'), hs = document.getElementById('attn-head');
  const toks = document.querySelectorAll('#attn-strip .tok');
  if (ls && hs && toks.length) {
    let t = performance.now();
    ls.value = ls.options.length - 1; hs.value = hs.options.length - 1;
    hs.dispatchEvent(new Event('change')); document.body.offsetHeight;
    r.pick_ms = performance.now() - t;
    t = performance.now();
    for (let i = 0; i < 20; i++) {
      toks[Math.floor(i * (toks.length - 1) / 19)].dispatchEvent(new MouseEvent('mouseover'));
      document.body.offsetHeight;
    }
    r.hover_ms = (performance.now() - t) / 20;
  }
  r.errors = window.__errs;
  const pre = document.createElement('pre'); pre.id = 'bench-result';
  pre.textContent = JSON.stringify(r); document.body.appendChild(pre);
});
</script>"""
ERR = ("<script>window.__errs=[];window.addEventListener('error',e=>window.__errs.push("
       "String(e.message)));</script>")


def chromium(url, prof):
    t = time.perf_counter()
    p = subprocess.run([CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
                        f"--user-data-dir={prof}", "--dump-dom", url],
                       capture_output=True, text=True, timeout=300)
    return time.perf_counter() - t, p.stdout


def main():
    page = sys.argv[1]
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 5
    d = tempfile.mkdtemp()
    html = open(page, encoding="utf-8").read()
    html = html.replace("<head>", "<head>" + ERR, 1).replace("</body>", PROBE + "</body>")
    t = os.path.join(d, "t.html")
    open(t, "w", encoding="utf-8").write(html)
    blank = os.path.join(d, "blank.html")
    open(blank, "w").write("<!DOCTYPE html><html><body>x</body></html>")
    rows = []
    for i in range(runs):
        wb, _ = chromium("file://" + blank, os.path.join(d, f"pb{i}"))
        w, out = chromium("file://" + t, os.path.join(d, f"p{i}"))
        m = re.search(r'<pre id="bench-result">(.*?)</pre>', out, re.S)
        r = json.loads(m.group(1).replace("&quot;", '"')) if m else {"error": "no result"}
        r.update(wall_s=round(w, 3), blank_wall_s=round(wb, 3))
        print(json.dumps(r))
        rows.append(r)
    med = {k: round(statistics.median(r[k] for r in rows), 3)
           for k in ("ready_ms", "pick_ms", "hover_ms", "wall_s", "blank_wall_s")
           if all(k in r for r in rows)}
    med["page_bytes"] = os.path.getsize(page)
    print("median", json.dumps(med))
    shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    main()
