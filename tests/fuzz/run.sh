#!/bin/sh
# tests/fuzz/run.sh [SECONDS] [BUILD_DIR] [HARNESS...] — runs each libFuzzer
# harness for SECONDS (default 5) on its seeds: the committed ones in
# tests/fuzz/seeds/<harness>/ plus real files from ../shared, copied into a
# scratch corpus. Exit status 1 if any harness found a crash, a sanitizer
# report or a leak (the reproducer is kept in $OUT, default
# ${TMPDIR:-/tmp}/strata-fuzz-out). Prints one line per harness:
# executions, coverage (libFuzzer's "cov" and "ft"), corpus size, seconds.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
secs=${1:-5}
build=$(cd "${2:-$root/build-fuzz}" && pwd)
if [ $# -ge 2 ]; then shift 2; else shift $#; fi
shared=$(cd "$root/../shared" 2>/dev/null && pwd || echo "")
out=${OUT:-${TMPDIR:-/tmp}/strata-fuzz-out}
mkdir -p "$out"
harnesses=${*:-"fuzz_model_hf fuzz_gguf fuzz_tokenizer_json fuzz_vocab_merges fuzz_tokenize fuzz_acts fuzz_capture_input"}
status=0
for h in $harnesses; do
  bin=$build/$h
  [ -x "$bin" ] || { echo "$h: not built ($bin)"; status=1; continue; }
  corpus=$(mktemp -d "${TMPDIR:-/tmp}/strata-corpus-$h.XXXXXX")
  [ -d "$here/seeds/$h" ] && cp "$here/seeds/$h"/* "$corpus"/
  if [ -n "$shared" ]; then
    case $h in
      fuzz_model_hf)
        for m in stories260K aidreams260K; do
          d=$shared/models/$m/hf
          [ -f "$d/config.json" ] && { cat "$d/config.json"; printf '\n--\n'; cat "$d/model.safetensors"; } > "$corpus/$m"
        done ;;
      fuzz_gguf)
        cp "$shared"/models/*/*.gguf "$corpus"/ 2>/dev/null || true ;;
      fuzz_tokenizer_json)
        cp "$shared/models/stories260K/hf/tokenizer.json" "$corpus/stories260K.json" 2>/dev/null || true ;;
    esac
  fi
  log=$out/$h.log
  start=$(date +%s)
  # -rss_limit_mb: HDF5 and OpenBLAS map large areas; ASan needs room
  if (cd "$out" && "$bin" -max_total_time="$secs" -rss_limit_mb=4096 -max_len=1100000 \
        -timeout=60 -print_final_stats=1 "$corpus" > "$log" 2>&1); then r=ok; else r=FAILED; status=1; fi
  end=$(date +%s)
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]* corp: [0-9]*' "$log" | tail -1 || echo "")
  echo "$h: $r, $execs executions, $cov, $((end - start)) s"
  [ $r = ok ] || tail -40 "$log"
  rm -rf "$corpus"
done
exit $status
