#!/bin/sh
# Rebuilds models/grammar-tiny, the main job's default model, with strata alone:
# a grammar corpus (strata corpus) -> a 3-layer GPT-2 trained by strata train.
# usage: models/grammar-tiny/make.sh [WORKDIR]    (needs build/strata; ~20-40 min on 1 core)
set -eu
cd "$(dirname "$0")/../.."
S=build/strata
W=${1:-build/grammar-tiny}
mkdir -p "$W"
$S corpus grammar --docs 20000 --seed 1 --out "$W/train.jsonl" --tokenizer-out "$W/tok" --overwrite
$S corpus grammar --docs 500 --seed 2 --out "$W/eval.jsonl" --overwrite
$S train --out "$W/run" --overwrite --n-layer 3 --n-head 4 --d-model 64 --d-mlp 256 \
    --n-ctx 128 --seq 96 --vocab 49 --jsonl "$W/train.jsonl" --eval "$W/eval.jsonl" \
    --tokenizer "$W/tok" --steps 2000 --batch 16 --lr 3e-3 --warmup 100 --init-std 0.02 \
    --seed 0 --threads 1 --save-every 500 --json > "$W/summary.json"
D=models/grammar-tiny
for f in config.json model.safetensors tokenizer.json tokenizer_config.json trainer_state.json; do
    cp "$W/run/final/$f" "$D/$f"
done
cp "$W/run/log.jsonl" "$D/log.jsonl"
cp "$W/summary.json" "$D/summary.json"
