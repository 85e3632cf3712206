#!/usr/bin/python3
"""The screenshot in docs/img/report.png: a report page rendered by headless Chromium with the
attention viewer showing one head and a hovered token, cropped to the viewer and the logit
lens, stored as a 96-colour PNG (Pillow).

usage: screenshot.py REPORT.html OUT.png [--token N] [--score induction] [--height 1250]

The head shown is the page's top head for --score (the "top" list of the head section, which
needs the report to have been made with --model); without it, the viewer's first head."""
import argparse
import json
import os
import re
import shutil
import subprocess
import tempfile

from PIL import Image

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("page")
    ap.add_argument("out")
    ap.add_argument("--token", type=int, default=29)
    ap.add_argument("--score", default="induction")
    ap.add_argument("--height", type=int, default=1250)
    a = ap.parse_args()
    html = open(a.page, encoding="utf-8").read()
    D = json.loads(re.search(r'<script id="strata-data" type="application/json">(.*?)</script>',
                             html, re.S).group(1))
    top = [t for t in D["heads"].get("top", []) if t["score"].startswith(a.score)]
    l, h = (top[0]["layer"], top[0]["head"]) if top else (0, 0)
    # hover after load; report where the viewer's heading is through the title
    js = ("<script>window.addEventListener('load',()=>{const ls=document.getElementById("
          "'attn-layer'),hs=document.getElementById('attn-head');ls.value=%d;hs.value=%d;"
          "hs.dispatchEvent(new Event('change'));const t=document.querySelectorAll("
          "'#attn-strip .tok');t[Math.min(%d,t.length-1)].dispatchEvent(new MouseEvent("
          "'mouseover'));const e=Array.from(document.querySelectorAll('h3')).find(x=>"
          "x.textContent==='Attention viewer');document.title='Y'+Math.round("
          "e.getBoundingClientRect().top+window.scrollY);});</script>" % (l, h, a.token))
    d = tempfile.mkdtemp()
    page = os.path.join(d, "p.html")
    open(page, "w", encoding="utf-8").write(html.replace("</body>", js + "</body>"))
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
            "--window-size=1000,8000"]
    dom = subprocess.run(base + [f"--user-data-dir={d}/p1", "--dump-dom", "file://" + page],
                         capture_output=True, text=True, timeout=120).stdout
    y = int(re.search(r"<title>Y(\d+)</title>", dom).group(1))
    shot = os.path.join(d, "full.png")
    subprocess.run(base + [f"--user-data-dir={d}/p2", f"--screenshot={shot}", "file://" + page],
                   capture_output=True, timeout=120, check=True)
    im = Image.open(shot).convert("RGB")
    im = im.crop((0, max(0, y - 25), im.width, min(im.height, y - 25 + a.height)))
    im.quantize(colors=96, method=Image.Quantize.MEDIANCUT).save(a.out, optimize=True)
    shutil.rmtree(d, ignore_errors=True)
    print(f"{a.out}: head {l}.{h}, token {a.token}, {os.path.getsize(a.out)} bytes")


if __name__ == "__main__":
    main()
