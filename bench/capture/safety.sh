#!/bin/bash
# bench/capture/safety.sh — what the capture-safety work of issue 16 costs (README.md,
# "Safety costs"):
#   1. `strata capture` wall time on a small model (many batches: per-batch overhead of the
#      fallocate claim, the input hash and the locks shows most there), OLD vs NEW build,
#      interleaved;
#   2. `--resume` of a complete file with the same input (re-tokenizes and checks every
#      stored document; nothing to run) vs the capture itself;
#   3. util/sha256 (st_sha256_file through `strata`'s provenance: a capture's start-up) vs
#      coreutils sha256sum on the same file.
#
#   bench/capture/safety.sh OLD_BUILD_DIR NEW_BUILD_DIR [WORK_DIR]
# Tunables (env): DOCS (20000), REPS (3), HASH_MB (512).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
old=$1 new=$2 work=${3:-/tmp/strata-bench-safety}
DOCS=${DOCS:-20000} REPS=${REPS:-3} HASH_MB=${HASH_MB:-512}
model=$root/../shared/models/stories260K/hf
mkdir -p "$work"
/usr/bin/python3 - "$work/corpus.txt" "$DOCS" <<'PY'
import random, sys
words = ("once upon a time there was little girl named lily she loved to play with her ball "
         "in the park one day tom saw big red dog").split()
r = random.Random(0)
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        f.write(" ".join(r.choice(words) for _ in range(r.randint(5, 40))) + ".\n")
PY
echo "== machine: $(nproc) cores, $(lscpu | sed -n 's/^Model name: *//p'), load $(cut -d' ' -f1-3 /proc/loadavg)"
run() { # build out extra...
    local b=$1 out=$2; shift 2
    local t0=$(date +%s.%N)
    "$b/strata" capture "$model" --hooks 'blocks.*.hook_resid_post' --out "$out" \
        --text-file "$work/corpus.txt" --threads 1 --quiet "$@" 2>/dev/null
    echo "$(date +%s.%N) - $t0" | bc
}
echo "== capture of $DOCS documents (stories260K, every resid_post, all positions), seconds"
for i in $(seq "$REPS"); do
    rm -f "$work/old.h5" "$work/new.h5"
    o=$(run "$old" "$work/old.h5"); n=$(run "$new" "$work/new.h5")
    echo "rep $i: old $o  new $n  ($(ls -l "$work/new.h5" | awk '{printf "%.0f MB", $5/1e6}'))"
done
echo "== --resume of the complete file, same input (checks every stored document), seconds"
for i in $(seq "$REPS"); do echo "rep $i: $(run "$new" "$work/new.h5" --resume)"; done
echo "== SHA-256 of a ${HASH_MB} MiB file: sha256sum vs util/sha256 (tests/bench_sha256)"
head -c $((HASH_MB << 20)) /dev/urandom > "$work/blob"
gcc -O2 -I"$root/lib" -I"$root/include" "$root/lib/util/sha256.c" "$root/lib/util/err.c" \
    "$here/bench_sha256.c" -o "$work/bench_sha256"
for i in $(seq "$REPS"); do
    t0=$(date +%s.%N); sha256sum "$work/blob" > /dev/null; t1=$(date +%s.%N)
    s=$("$work/bench_sha256" "$work/blob"); p=$("$work/bench_sha256" "$work/blob" portable)
    echo "rep $i: sha256sum $(echo "$HASH_MB / ($t1 - $t0)" | bc) MiB/s, strata $s, strata $p"
done
rm -f "$work/blob"
