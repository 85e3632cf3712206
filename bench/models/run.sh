#!/usr/bin/env bash
# bench/models/run.sh [BUILD_DIR] [1b|7b] — stored-type weights vs the float32 copy on a
# random Llama-shaped BF16 checkpoint (written once into $TMPDIR/strata-bench-models).
# Configurations alternate (stored, f32, stored, f32) because the machine is shared.
# Results: bench/models/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
kind=${2:-1b}
out=${TMPDIR:-/tmp}/strata-bench-models
mkdir -p "$out"
cc -O2 -fopenmp -I"$root/include" "$here/bench_stored.c" "$build/libstrata.a" -o "$out/bench_stored" \
   $(pkg-config --libs openblas lapacke jansson libpcre2-8 hdf5) -lm
[ -f "$out/llama-$kind/model.safetensors" ] || /usr/bin/python3 "$here/make_llama_bf16.py" "$out/llama-$kind" "$kind"
T=${T:-128}
THREADS=${THREADS:-2}
if [ "$kind" = 7b ]; then
  "$out/bench_stored" "$out/llama-$kind" stored "$T" "$THREADS" 1
else
  for rep in 1 2; do
    for w in stored f32; do "$out/bench_stored" "$out/llama-$kind" $w "$T" "$THREADS" 2; done
  done
fi
