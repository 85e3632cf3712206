#!/usr/bin/env bash
# bench/forward/compare.sh [BUILD_DIR] — strata against llama.cpp like for like (issue 21).
#
# Same weights (GPT-2-small shape from bench/make_gpt2_small.py, Llama-110M shape from
# make_llama_110m.py; llama.cpp reads them as F32 GGUF files written from the same
# safetensors), same work (prefill of one sequence with the last position's logits; decode
# of 128 tokens one at a time with each token's logits, as llama-bench's pp/tg tests), same
# threads, same machine, same run.  Each round runs, interleaved:
#   triad (STREAM-like, 1 and 2 threads; and a read-only stream)
#   prefill 1x128 and 1x512 on 1 and 2 threads: strata, llama-bench -p T -n 0, OpenBLAS
#     sgemm on the forward's products (bench_forward sgemm), packed products alone (bench_packed)
#   decode tg128 on 1 and 2 threads, GPT-2-small and Llama-110M: strata, llama-bench -p 0 -n 128
# One JSON line per measurement into $OUT/compare.jsonl; compare_summary.py prints medians and
# ratios.  Env: LLAMA_BENCH (llama-bench binary built from source outside this repository; the
# llama.cpp rows are skipped without it), GGUF_GPT2, GGUF_LLAMA (the two F32 GGUF files),
# CORETYPE (OPENBLAS_CORETYPE, default SkylakeX), ROUNDS (default 3), OUT (default /tmp/strata-bench-compare), LLAMA_ARGS (default "--poll 0":
# llama.cpp's worker threads sleep instead of spinning, as strata's do under
# OMP_WAIT_POLICY=passive; on a shared machine its default spinning pool ran 2-thread decode
# 10-15x slower than 1 thread).  llama.cpp keeps its default F16 KV cache (this build refuses
# -ctk f32); at tg128 the cache is ~1% of the bytes a step reads.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
out=${OUT:-${TMPDIR:-/tmp}/strata-bench-compare}
rounds=${ROUNDS:-3}
mkdir -p "$out"
libs=$(pkg-config --cflags --libs openblas lapacke jansson libpcre2-8 hdf5)
cc -O2 -fopenmp -I"$root/include" "$here/bench_forward.c" "$build/libstrata.a" -o "$out/bench_forward" $libs -lm
cc -O2 -fopenmp -I"$root/include" -I"$root/lib" "$here/bench_packed.c" "$build/libstrata.a" -o "$out/bench_packed" $libs -lm
/usr/bin/python3 "$root/bench/make_gpt2_small.py" "$out/gpt2s"
/usr/bin/python3 "$here/make_llama_110m.py" "$out/llama110m"
res=$out/compare.jsonl
: > "$res"
bf=$out/bench_forward
export OMP_WAIT_POLICY=${WAIT_POLICY:-passive}
# OpenBLAS's fastest sgemm kernel on AVX-512 CPUs (Debian's build picks a slower one or an AVX2
# one by default); strata's forward uses OpenBLAS only for attention, the sgemm rows are the
# reference "peak" on the same products
export OPENBLAS_CORETYPE=${CORETYPE:-SkylakeX}
note() { echo "{\"note\":\"$*\",\"time\":\"$(date -u +%T)\",\"load\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}" >> "$res"; }
llama() {   # llama-bench ARGS...: one JSON line (3 repetitions) tagged with what it ran, plus
            # its process CPU time per repetition: (CPU of -r 3) - (CPU of -r 1), halved, so
            # model loading and llama-bench's warm-up run cancel out
  [ -n "${LLAMA_BENCH:-}" ] || return 0
  local c1 c3 line
  # shellcheck disable=SC2086
  /usr/bin/time -o "$out/llama.time" -f '%U %S' "$LLAMA_BENCH" "$@" ${LLAMA_ARGS---poll 0} -r 1 -o jsonl > /dev/null 2>&1 || true
  c1=$(tail -1 "$out/llama.time")
  # shellcheck disable=SC2086
  line=$(/usr/bin/time -o "$out/llama.time" -f '%U %S' "$LLAMA_BENCH" "$@" ${LLAMA_ARGS---poll 0} -r 3 -o jsonl 2>/dev/null | tail -1) || true
  c3=$(tail -1 "$out/llama.time")
  [ -n "$line" ] || return 0
  local cpu
  cpu=$(echo "$c1 $c3" | awk '{ printf "%.4f", (($3 + $4) - ($1 + $2)) / 2 }')
  echo "$line" | sed "s/^{/{\"engine\":\"llama.cpp\",\"cpu_per_rep_s\":$cpu,/" >> "$res"
}
note "start: $(nproc) cpus, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), build $build"
for r in $(seq "$rounds"); do
  note "round $r"
  for nt in 1 2; do OMP_NUM_THREADS=$nt "$bf" triad $nt 256 5 >> "$res"; done
  for nt in 1 2; do
    export OMP_NUM_THREADS=$nt OPENBLAS_NUM_THREADS=1
    for T in 128 512; do
      "$bf" fwd "$out/gpt2s" 1 $T $nt last 2 | sed 's/^{/{"engine":"strata",/' >> "$res"
      llama -m "${GGUF_GPT2:-}" -p $T -n 0 -t $nt
      "$bf" sgemm 768 3072 12 1 $T $nt 2 >> "$res"
      "$out/bench_packed" $T $nt 2 >> "$res"
    done
    for m in gpt2s llama110m; do
      g=$([ $m = gpt2s ] && echo "${GGUF_GPT2:-}" || echo "${GGUF_LLAMA:-}")
      "$bf" decode "$out/$m" 128 $nt 1 | sed "s/^{/{\"engine\":\"strata\",\"model\":\"$m\",/" >> "$res"
      llama -m "$g" -p 0 -n 128 -t $nt
    done
  done
done
note "done"
/usr/bin/python3 "$here/compare_summary.py" "$res"
