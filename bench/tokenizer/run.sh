#!/bin/sh
# bench/tokenizer/run.sh — strata vs tiktoken (npm) on the same texts, GPT-2 vocabulary.
#   BUILD=build-dir (with libstrata.a; default build)  SHARED=../shared
# Needs node + npm for the tiktoken side (installed into $BUILD/node); skipped without them.
set -e
cd "$(dirname "$0")/../.."
BUILD=${BUILD:-build}
SHARED=${SHARED:-../shared}
OUT=$BUILD/bench-tok
python3 bench/tokenizer/make_corpus.py "$OUT"
cc -O2 -Iinclude bench/tokenizer/bench_strata.c "$BUILD/libstrata.a" \
   $(pkg-config --libs jansson libpcre2-8) -lm -o "$OUT/bench_strata"
echo "== GPT-2 vocabulary ($SHARED/tokenizers/gpt2)"
"$OUT/bench_strata" "$SHARED/tokenizers/gpt2" "$OUT/english.txt" "$OUT/mixed.txt" "$OUT/code.txt"
if command -v node >/dev/null && command -v npm >/dev/null; then
  [ -d "$BUILD/node/node_modules/tiktoken" ] || npm install --prefix "$BUILD/node" --no-audit --no-fund tiktoken >/dev/null
  ORACLE_NODE_MODULES="$BUILD/node/node_modules" node bench/tokenizer/bench_tiktoken.mjs \
    "$OUT/english.txt" "$OUT/mixed.txt" "$OUT/code.txt"
else
  echo "SKIP tiktoken: node/npm not found"
fi
echo "== Mistral-7B SentencePiece vocabulary (no tiktoken equivalent)"
"$OUT/bench_strata" "$SHARED/tokenizers/mistral7b" "$OUT/english.txt" "$OUT/mixed.txt" "$OUT/code.txt"
