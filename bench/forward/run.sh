#!/usr/bin/env bash
# bench/forward/run.sh [BUILD_DIR] — the forward-pass benchmark (issue 2).
#
# Builds bench_forward against BUILD_DIR/libstrata.a (default ../../build),
# writes a GPT-2-small-shaped model once (bench/make_gpt2_small.py: 124M
# parameters, random weights, HF layout) and runs, for each OPENBLAS_CORETYPE
# in $CORETYPES ("default" = unset: the kernel OpenBLAS picks; and SkylakeX):
#   prefill tokens/s, 8x128 and 1x512, 1 and 2 threads (logits of the last position)
#   the same sgemm calls timed directly (matmul efficiency = effective / sgemm)
#   capture of every blocks.*.hook_resid_post into memory vs the same forward
#   without it (interleaved, twice), a per-stage time profile, and 8x128 with
#   logits at every position
# then 8x128 with 2 threads under OMP_WAIT_POLICY unset, for comparison.
# Runs use OMP_WAIT_POLICY=${WAIT_POLICY:-passive}: on a machine shared with
# other busy processes, spin-waiting OpenMP threads make 2 threads several times
# slower than 1 (see RESULTS.md).
# One JSON line per measurement goes to $OUT/results.jsonl (default
# /tmp/strata-bench-forward).  Env: ITERS (default 2), MODEL_DIR, CORETYPES.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
out=${OUT:-${TMPDIR:-/tmp}/strata-bench-forward}
model=${MODEL_DIR:-$out/gpt2s}
iters=${ITERS:-2}
mkdir -p "$out"
cc -O2 -fopenmp -I"$root/include" "$here/bench_forward.c" "$build/libstrata.a" -o "$out/bench_forward" \
   $(pkg-config --cflags --libs openblas lapacke jansson libpcre2-8 hdf5) -lm
/usr/bin/python3 "$root/bench/make_gpt2_small.py" "$model"
res=$out/results.jsonl
: > "$res"
bf=$out/bench_forward
log() { echo "# $* $(date -u +%T) load $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$res" >&2; }
log "start: $(nproc) cpus, build $build"
for core in ${CORETYPES:-default SkylakeX}; do
  if [ "$core" = default ]; then unset OPENBLAS_CORETYPE; else export OPENBLAS_CORETYPE=$core; fi
  export OMP_WAIT_POLICY=${WAIT_POLICY:-passive}
  for nt in 1 2; do
    export OMP_NUM_THREADS=$nt OPENBLAS_NUM_THREADS=$nt
    for shape in "8 128" "1 512"; do
      log "coretype $core threads $nt shape $shape"
      "$bf" fwd "$model" $shape $nt last "$iters" | tee -a "$res"
      "$bf" sgemm 768 3072 12 $shape $nt 1 | tee -a "$res"
    done
  done
  export OMP_NUM_THREADS=2 OPENBLAS_NUM_THREADS=2
  log "coretype $core capture"
  for mode in base capture base capture; do
    "$bf" fwd "$model" 8 128 2 $mode 1 | tee -a "$res"
  done
  "$bf" fwd "$model" 8 128 2 profile 1 | tee -a "$res"
  "$bf" fwd "$model" 8 128 2 all 1 | tee -a "$res"
  log "coretype $core OMP_WAIT_POLICY unset"
  (unset OMP_WAIT_POLICY; "$bf" fwd "$model" 8 128 2 last 1 | sed 's/^{/{"omp_wait_policy":"unset",/' | tee -a "$res")
done
log "done"
