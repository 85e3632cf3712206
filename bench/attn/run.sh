#!/usr/bin/env bash
# bench/attn/run.sh [BUILD_DIR] — builds bench_attn against BUILD_DIR/libstrata.a
# (default ../../build) and runs it on stories260K and on a GPT-2-small-shaped
# model written with random weights.  Results: bench/attn/README.md.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
out=${TMPDIR:-/tmp}/strata-bench-attn
mkdir -p "$out"
cc -O2 -fopenmp -I"$root/include" "$here/bench_attn.c" "$build/libstrata.a" -o "$out/bench_attn" \
   $(pkg-config --libs openblas lapacke jansson libpcre2-8 hdf5) -lm
# tests/testutil.c (tu_write_file) also holds the tests' HDF5 and Check helpers
HDF5_CFLAGS=$(pkg-config --cflags hdf5 2>/dev/null || echo -I/usr/include/hdf5/serial)
HDF5_LIBS=$(pkg-config --libs hdf5 2>/dev/null || echo "-L/usr/lib/x86_64-linux-gnu/hdf5/serial -lhdf5")
cc -O2 -I"$root/tests" -I"$root/include" -I"$root/lib" $HDF5_CFLAGS "$here/make_model.c" "$root/tests/testutil.c" \
   "$build/libstrata.a" -DSTRATA_SHARED_DIR=\"\" -o "$out/make_model" \
   $(pkg-config --libs check openblas lapacke jansson libpcre2-8) $HDF5_LIBS -fopenmp -lm
"$out/make_model" "$out/gpt2s" 768 2 12 1024 2048   # 2 layers of GPT-2-small width
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-1} OPENBLAS_NUM_THREADS=${OPENBLAS_NUM_THREADS:-1}
m260=$root/../shared/models/stories260K/hf
if [ -d "$m260" ]; then
  for T in 128 256 512; do "$out/bench_attn" "$m260" $T 8 21 1; done
fi
for T in 128 256 512 1024; do "$out/bench_attn" "$out/gpt2s" $T 4 7 1; done
