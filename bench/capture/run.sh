#!/bin/bash
# bench/capture/run.sh — capture throughput and memory (issue 5).
#
#   bench/capture/run.sh [BUILD_DIR] [WORK_DIR]
#
# 1. throughput: every blocks.*.hook_resid_post of a GPT-2-small-shaped model
#    (bench/make_gpt2_small.py, random weights) — strata forward-only vs
#    strata capture (same handle, same batches, interleaved), and the
#    PyTorch + h5py pipeline (bench/capture/torch_capture.py) on the same input;
# 2. peak RSS of `strata capture` with N and 10 N documents.
# Tunables (env): DOCS (default 32), LEN (tokens per document, 128), BATCH (8),
# REPS (2), THREADS (2).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/strata-bench-capture}
DOCS=${DOCS:-32} LEN=${LEN:-128} BATCH=${BATCH:-8} REPS=${REPS:-2} THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS
mkdir -p "$work"
[ -f "$work/gpt2s/model.safetensors" ] || /usr/bin/python3 "$root/bench/make_gpt2_small.py" "$work/gpt2s"
gcc -O2 -I"$root/include" "$here/bench_capture.c" -L"$build" -lstrata -Wl,-rpath,"$build" \
    -o "$work/bench_capture"
/usr/bin/python3 - "$work" "$DOCS" "$LEN" <<'PY'
import random, sys
work, n, ln = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(0)
for name, k in (("ids.txt", n), ("ids10.txt", 10 * n)):
    with open(f"{work}/{name}", "w") as f:
        for _ in range(k):
            f.write(" ".join(str(r.randrange(50257)) for _ in range(ln)) + "\n")
PY
echo "== machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), OMP_NUM_THREADS=$THREADS"
echo "== strata: forward-only vs capture (blocks.*.hook_resid_post, f32, $DOCS docs x $LEN tokens)"
"$work/bench_capture" "$work/gpt2s" "$work/ids.txt" "$work/cap.h5" 'blocks.*.hook_resid_post' "$BATCH" "$REPS"
echo "== PyTorch + h5py pipeline (same documents)"
if /usr/bin/python3 -c 'import torch' 2>/dev/null; then
    /usr/bin/python3 "$here/torch_capture.py" "$work/gpt2s" "$work/ids.txt" "$work/torch.h5" "$BATCH" "$THREADS"
else
    echo "torch missing: apt-get install -y python3-torch"
fi
echo "== peak RSS: N = $DOCS vs 10 N documents (strata capture CLI)"
for f in ids.txt ids10.txt; do
    /usr/bin/time -v "$build/strata" capture "$work/gpt2s" --hooks 'blocks.*.hook_resid_post' \
        --out "$work/rss.h5" --tokens-file "$work/$f" --batch "$BATCH" --overwrite --quiet \
        --threads "$THREADS" 2> "$work/time_$f.txt"
    echo "$f: $(grep 'Maximum resident' "$work/time_$f.txt" | awk '{print $NF}') kB peak RSS," \
         "$(grep 'Elapsed' "$work/time_$f.txt" | awk '{print $NF}') wall," \
         "file $(du -h "$work/rss.h5" | cut -f1)"
done
