#!/usr/bin/env bash
# bench/report/run.sh [BUILD_DIR] — size and speed of `strata report` pages (README.md here).
#   1. GPT-2-small-shaped model (bench/make_gpt2_small.py, random weights), 20 documents x 512
#      tokens: capture (hook_embed, every hook_resid_post and attention pattern, float16), then
#      the report with --model (probes, PCA, CKA, head scores, viewer, logit lens); page size,
#      build time and peak memory, and the open time in headless Chromium (open_time.py).
#   2. A synthetic 48-layer x 64-head capture on one 2,000-token document (make_inputs.py):
#      the page under the default --attn-budget, and its open time.
# Work files go to ${TMPDIR:-/tmp}/strata-bench-report (about 3 GB).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
strata=$build/strata
out=${TMPDIR:-/tmp}/strata-bench-report
mkdir -p "$out"
py=/usr/bin/python3
echo "== machine"; lscpu | grep -E 'Model name|^CPU\(s\)'; uptime
"$strata" info "$root/models/grammar-tiny" | grep -i blas
chromium --version 2>/dev/null || true

echo "== 1. GPT-2-small shape, 20 x 512 tokens"
$py "$root/bench/make_gpt2_small.py" "$out/gpt2s"
$py "$here/make_inputs.py" corpus "$out/corpus.jsonl" --docs 20 --len 512
if [ ! -f "$out/gpt2s.h5" ]; then
  /usr/bin/time -f "capture: %e s wall, %M KB peak RSS" "$strata" capture "$out/gpt2s" \
    --hooks 'hook_embed,blocks.*.hook_resid_post,blocks.*.attn.hook_pattern' --dtype f16 \
    --jsonl "$out/corpus.jsonl" --out "$out/gpt2s.h5.part" --overwrite --quiet
  mv "$out/gpt2s.h5.part" "$out/gpt2s.h5"
fi
ls -l "$out/gpt2s.h5"
/usr/bin/time -f "report: %e s wall, %M KB peak RSS" "$strata" report "$out/gpt2s.h5" \
  --model "$out/gpt2s" --out "$out/gpt2s.html" --quiet
ls -l "$out/gpt2s.html"
$py "$here/open_time.py" "$out/gpt2s.html" 5

echo "== 2. synthetic 48 x 64 heads, one 2,000-token document"
if [ ! -f "$out/big.h5" ]; then
  /usr/bin/time -f "write: %e s" $py "$here/make_inputs.py" patterns "$out/big.h5.part"
  mv "$out/big.h5.part" "$out/big.h5"
fi
ls -l "$out/big.h5"
/usr/bin/time -f "report: %e s wall, %M KB peak RSS" "$strata" report "$out/big.h5" \
  --out "$out/big.html" --quiet
ls -l "$out/big.html"
$py - "$out/big.html" <<'PY'
import json, re, sys
h = open(sys.argv[1], encoding="utf-8").read()
A = json.loads(re.search(r'<script id="strata-data" type="application/json">(.*?)</script>',
                         h, re.S).group(1))["captures"][0]["attention"]
print({k: A[k] for k in ("len", "doc_len", "k", "bytes", "budget", "full_bytes", "cut")})
PY
$py "$here/open_time.py" "$out/big.html" 5
