#!/bin/sh
# tests/valgrind_cli.sh CLI SHARED_DIR — the main CLI flows on stories260K under
# valgrind memcheck: info, tokenize, run, generate, capture, probe, pca, cka,
# lens, attn.  Fails on any memory error or definitely lost block (exit 99
# from valgrind).  OpenMP/OpenBLAS threads: 1 (valgrind serialises threads;
# the pool's still-reachable blocks are not errors).  Skips (exit 77) without
# valgrind or the model.
set -eu
cli=$1
shared=$2
model=$shared/models/stories260K/hf
command -v valgrind >/dev/null || { echo "valgrind not installed: skipped"; exit 77; }
[ -d "$model" ] || { echo "$model not present: skipped"; exit 77; }
tmp=$(mktemp -d "${TMPDIR:-/tmp}/strata-vg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 STRATA_QUIET=1
vg() {
  echo "== strata $*"
  valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
    --show-leak-kinds=definite "$cli" "$@" > "$tmp/out" 2> "$tmp/err" || {
      rc=$?; cat "$tmp/err"; echo "strata $* failed under valgrind (exit $rc)"; exit 1; }
}
printf '{"text": "Once upon a time there was a cat.", "noun": [[27, 30, 1]]}\n' > "$tmp/in.jsonl"
i=0
while [ $i -lt 12 ]; do
  printf '{"text": "The little dog ran to the park and saw a big tree.", "noun": [[4, 10, 1], [19, 23, 1]]}\n' >> "$tmp/in.jsonl"
  printf '{"text": "She was happy and she played all day with her friend.", "noun": [[49, 55, 1]]}\n' >> "$tmp/in.jsonl"
  i=$((i + 1))
done
vg info "$model"
vg tokenize "$model" "Once upon a time"
vg run "$model" "Once upon a time" --top 3
vg generate "$model" "Once upon a time" -n 8
vg capture "$model" --hooks 'blocks.*.hook_resid_post,blocks.0.attn.hook_pattern' --jsonl "$tmp/in.jsonl" --out "$tmp/a.h5" --quiet
vg capture "$model" --hooks 'blocks.*.hook_resid_post,blocks.0.attn.hook_pattern' --jsonl "$tmp/in.jsonl" --out "$tmp/a.h5" --quiet --resume
vg probe "$tmp/a.h5" --label noun --hooks 'blocks.*.hook_resid_post' --quiet
vg pca "$tmp/a.h5" --hooks 'blocks.*.hook_resid_post' -k 4 --quiet
vg cka "$tmp/a.h5" --hooks 'blocks.*.hook_resid_post' --quiet
vg lens "$model" "Once upon a time" --top 2
vg attn "$model" --induction 8 --n-docs 2
# bad input paths too: errors must not leak or touch invalid memory
if valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
     "$cli" probe "$tmp/a.h5" --label nosuch > /dev/null 2> "$tmp/err"; then :; else
  [ $? -eq 99 ] && { cat "$tmp/err"; echo "probe error path: memory errors"; exit 1; }
fi
echo "valgrind: all flows clean"
