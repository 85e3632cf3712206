#!/bin/bash
# bench/capture/whole.sh — whole-process capture: `strata capture` vs the
# one-pass PyTorch + h5py pipeline (torch_capture.py --one-pass), interleaved.
#
#   bench/capture/whole.sh BUILD_DIR [WORK_DIR] [OTHER_BUILD_DIR]
#
# Every blocks.*.hook_resid_post of a GPT-2-small-shaped model
# (bench/make_gpt2_small.py, random weights), float32, DOCS documents x LEN
# token ids, batch BATCH, THREADS threads on both sides.  Each repetition runs
# strata, then PyTorch (then OTHER_BUILD_DIR's strata, if given: a before/after
# comparison in the same run).  Each process is timed from outside
# (/usr/bin/time: wall, user+sys CPU), so interpreter start, imports, weight
# loading or mapping, provenance hashing, file creation and close all count.
# Prints every run and the medians and ratios (PyTorch / strata).
# Tunables (env): DOCS (default 64), LEN (128), BATCH (8), REPS (3), THREADS (2),
# LENMIN (default LEN: every document LEN tokens; else lengths uniform in
# LENMIN..LEN, seeded, like a real corpus's mix of short and long documents).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${1:?usage: whole.sh BUILD_DIR [WORK_DIR] [OTHER_BUILD_DIR]}" && pwd)
work=${2:-/tmp/strata-bench-capture}
other=${3:-}
DOCS=${DOCS:-64} LEN=${LEN:-128} BATCH=${BATCH:-8} REPS=${REPS:-3} THREADS=${THREADS:-2}
LENMIN=${LENMIN:-$LEN}
export OMP_NUM_THREADS=$THREADS
mkdir -p "$work"
[ -f "$work/gpt2s/model.safetensors" ] || /usr/bin/python3 "$root/bench/make_gpt2_small.py" "$work/gpt2s"
ids="$work/ids_${DOCS}x${LENMIN}-${LEN}.txt"
/usr/bin/python3 - "$ids" "$DOCS" "$LENMIN" "$LEN" <<'PY'
import random, sys
path, n, lo, hi = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
r = random.Random(0)
with open(path, "w") as f:
    for _ in range(n):
        ln = hi if lo == hi else r.randint(lo, hi)
        f.write(" ".join(str(r.randrange(50257)) for _ in range(ln)) + "\n")
PY
log="$work/whole_${DOCS}x${LENMIN}-${LEN}.tsv"
: > "$log"
run() { # NAME CMD...: appends "NAME wall cpu" to the log
    local name=$1; shift
    rm -f "$work/out_$name.h5"
    /usr/bin/time -f "%e %U %S" -o "$work/time_$name.txt" "$@" > "$work/stdout_$name.txt" 2>&1
    read -r wall usr sys < "$work/time_$name.txt"
    echo "$name $wall $(echo "$usr + $sys" | bc)" | tee -a "$log"
}
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $THREADS threads, $DOCS docs x $LENMIN..$LEN tokens ($(wc -w < "$ids") in all), batch $BATCH"
echo "== $("$build/strata" info "$work/gpt2s" | grep OpenBLAS)"
echo "name wall_s cpu_s"
for r in $(seq "$REPS"); do
    run strata "$build/strata" capture "$work/gpt2s" --hooks 'blocks.*.hook_resid_post' \
        --out "$work/out_strata.h5" --tokens-file "$ids" --batch "$BATCH" --threads "$THREADS" --quiet
    run torch /usr/bin/python3 "$here/torch_capture.py" "$work/gpt2s" "$ids" "$work/out_torch.h5" \
        "$BATCH" "$THREADS" --one-pass
    if [ -n "$other" ]; then
        run other "$other/strata" capture "$work/gpt2s" --hooks 'blocks.*.hook_resid_post' \
            --out "$work/out_other.h5" --tokens-file "$ids" --batch "$BATCH" --threads "$THREADS" --quiet
    fi
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$log" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
med = {}
for name in ("strata", "torch", "other"):
    w = [float(r[1]) for r in rows if r[0] == name]
    c = [float(r[2]) for r in rows if r[0] == name]
    if w:
        med[name] = (statistics.median(w), statistics.median(c))
        print(f"median {name}: wall {med[name][0]:.2f} s, cpu {med[name][1]:.2f} s ({len(w)} runs)")
for name in ("strata", "other"):
    if name in med:
        print(f"torch / {name}: wall {med['torch'][0] / med[name][0]:.2f}x, "
              f"cpu {med['torch'][1] / med[name][1]:.2f}x")
PY
