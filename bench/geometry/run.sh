#!/bin/sh
# bench/geometry/run.sh — strata PCA vs scikit-learn (full, randomized) and
# numpy cov+eigh on N x D float32, with OPENBLAS_CORETYPE unset and SkylakeX.
#
# usage: bench/geometry/run.sh BUILD_DIR [WORKDIR] [N] [D] [K]
#   BUILD_DIR  a CMake build of strata (libstrata.a is linked into bench_strata)
#   WORKDIR    where the data goes (default /tmp/strata-bench-geom; ~600 MB)
# Every method runs in its own process (peak RSS per method); threads pinned
# to OMP_NUM_THREADS / OPENBLAS_NUM_THREADS (default 2).  Output: JSON lines
# in WORKDIR/results.jsonl and a table on stdout.
set -eu
BUILD=${1:?build dir}
WORK=${2:-/tmp/strata-bench-geom}
N=${3:-100000}
D=${4:-768}
K=${5:-50}
PY=/usr/bin/python3
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
THREADS=${THREADS:-2}
export OMP_NUM_THREADS=$THREADS OPENBLAS_NUM_THREADS=$THREADS
mkdir -p "$WORK"
[ -f "$WORK/X.f32" ] && [ "$(stat -c %s "$WORK/X.f32")" = "$((N * D * 4))" ] || $PY "$HERE/gen_data.py" "$WORK" "$N" "$D"
HDF5_CFLAGS=$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LIBS=$(pkg-config --libs hdf5 2>/dev/null || echo "-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5")
cc -O2 -I"$ROOT/include" "$HERE/bench_strata.c" -o "$WORK/bench_strata" "$BUILD/libstrata.a" \
   $(pkg-config --libs openblas lapacke jansson libpcre2-8) $HDF5_LIBS -fopenmp -lm
: > "$WORK/results.jsonl"
for core in "" SkylakeX; do
  for m in strata_cov strata_stream strata_rsvd numpy_cov_eigh sklearn_full sklearn_randomized; do
    case $m in
      strata_stream) cmd="$WORK/bench_strata stream $WORK/acts.h5 $N $D $K" ;;
      strata_*) cmd="$WORK/bench_strata ${m#strata_} $WORK/X.f32 $N $D $K" ;;
      *) cmd="$PY $HERE/bench_ref.py $m $WORK/X.f32 $N $D $K" ;;
    esac
    if [ -n "$core" ]; then out=$(OPENBLAS_CORETYPE=$core $cmd); else out=$(env -u OPENBLAS_CORETYPE $cmd); fi
    echo "$out" | $PY -c "import json,sys; r=json.loads(sys.stdin.read()); r['coretype']='${core:-unset}'; print(json.dumps(r))" >> "$WORK/results.jsonl"
  done
done
$PY - "$WORK/results.jsonl" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
print(f"{'coretype':9} {'method':20} {'seconds':>8} {'top-k EVR sum':>14} {'peak RSS MiB':>12}")
for r in rows:
    print(f"{r['coretype']:9} {r['method']:20} {r['seconds']:8.3f} {r['evr_sum']:14.9f} {r['peak_rss_mib']:12.0f}")
PYEOF
