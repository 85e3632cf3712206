#!/bin/sh
# bench/geometry/rsvd.sh — the randomized PCA solver against the covariance
# solver, numpy cov + eigh and scikit-learn's randomized PCA, interleaved.
#
# usage: bench/geometry/rsvd.sh BUILD_DIR [WORKDIR] [OLD_BUILD_DIR]
#   env: N (100000) D (768) K (50) REPS (3) THREADS (2) ITERS (strata's randomized
#        iterations, default 4; scikit-learn takes 7 when K < 0.1 min(N, D), else 4)
# Each repetition runs, each in its own process and in this order:
# strata_cov, strata_rsvd, numpy_cov_eigh, strata_rsvd (again, to see drift),
# sklearn_randomized (and strata_rsvd of OLD_BUILD_DIR, if given: before/after
# in the same run).  Prints every run (wall and CPU seconds of the fit), then
# medians and ratios; top-K EVR sums show the randomized results against the
# exact ones.  On a loaded machine run it with THREADS=1: the CPU time of a
# single-threaded fit is what the load disturbs least.
set -eu
BUILD=${1:?build dir}
WORK=${2:-/tmp/strata-bench-geom}
OLD=${3:-}
N=${N:-100000} D=${D:-768} K=${K:-50} REPS=${REPS:-3} ITERS=${ITERS:-4}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
DATA="$WORK/X_${N}x${D}"
mkdir -p "$DATA"
[ -f "$DATA/X.f32" ] && [ "$(stat -c %s "$DATA/X.f32")" = "$((N * D * 4))" ] || $PY "$HERE/gen_data.py" "$DATA" "$N" "$D" > /dev/null
HDF5_LIBS=$(pkg-config --libs hdf5 2>/dev/null || echo "-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5")
LIBS="$(pkg-config --libs openblas lapacke jansson libpcre2-8) $HDF5_LIBS -fopenmp -lm"
cc -O2 -I"$ROOT/include" "$HERE/bench_strata.c" -o "$WORK/bench_strata_new" "$BUILD/libstrata.a" $LIBS
[ -z "$OLD" ] || cc -O2 -I"$ROOT/include" "$HERE/bench_strata.c" -o "$WORK/bench_strata_old" "$OLD/libstrata.a" $LIBS
OUT="$WORK/rsvd_${N}x${D}_k${K}_q${ITERS}.jsonl"
: > "$OUT"
echo "== $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), N=$N D=$D K=$K ITERS=$ITERS, $THREADS threads, OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}"
one() { # LABEL CMD...
    label=$1; shift
    "$@" | $PY -c "import json,sys; r=json.loads(sys.stdin.read()); r['label']='$label'; print(json.dumps(r))" >> "$OUT"
    tail -n 1 "$OUT" | $PY -c "import json,sys; r=json.loads(sys.stdin.read()); print(f\"{r['label']:20} {r['seconds']:8.3f} s wall {r['cpu_seconds']:8.3f} s CPU  EVR sum {r['evr_sum']:.9f}\")"
}
for r in $(seq "$REPS"); do
    one strata_cov "$WORK/bench_strata_new" cov "$DATA/X.f32" "$N" "$D" "$K"
    one strata_rsvd "$WORK/bench_strata_new" rsvd "$DATA/X.f32" "$N" "$D" "$K" 0 "$ITERS"
    one numpy_cov_eigh $PY "$HERE/bench_ref.py" numpy_cov_eigh "$DATA/X.f32" "$N" "$D" "$K"
    one strata_rsvd "$WORK/bench_strata_new" rsvd "$DATA/X.f32" "$N" "$D" "$K" 0 "$ITERS"
    one sklearn_randomized $PY "$HERE/bench_ref.py" sklearn_randomized "$DATA/X.f32" "$N" "$D" "$K"
    [ -z "$OLD" ] || one strata_rsvd_old "$WORK/bench_strata_old" rsvd "$DATA/X.f32" "$N" "$D" "$K" 0 "$ITERS"
done
echo "== load after: $(cut -d' ' -f1-3 /proc/loadavg)"
$PY - "$OUT" <<'PYEOF'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
med = {}
for lab in dict.fromkeys(r["label"] for r in rows):
    s = [r["seconds"] for r in rows if r["label"] == lab]
    c = [r["cpu_seconds"] for r in rows if r["label"] == lab]
    e = [r["evr_sum"] for r in rows if r["label"] == lab][0]
    med[lab] = (statistics.median(s), statistics.median(c))
    print(f"median {lab:20} {med[lab][0]:8.3f} s wall {med[lab][1]:8.3f} s CPU ({len(s)} runs)  "
          f"top-K EVR sum {e:.9f}")
r = med["strata_rsvd"]
for lab in med:
    if lab != "strata_rsvd":
        print(f"{lab} / strata_rsvd: wall {med[lab][0] / r[0]:.2f}x, CPU {med[lab][1] / r[1]:.2f}x")
PYEOF
