#!/bin/sh
# The induction Must-show of issue 14: attention-only GPT-2 models trained by `strata train` on
# the `repeat` corpus (random tokens, one span copied later at a random distance), scored at
# every saved checkpoint by `strata attn --induction R` (random BOS + S + S documents the model
# never saw; docs/ATTENTION.md). Prints one row per checkpoint: layers, init std, seed, step,
# training loss, the best head and its induction score.
#
# usage: scripts/induction-study.sh [OUT]          (default results/induction)
# environment (defaults in brackets; LAYERS="" only makes the corpus): LAYERS ["1 2"], STDS ["0.02 0.1"], SEEDS ["0"],
#   STEPS [2000], LR [3e-3], BATCH [32], SAVE_EVERY [250], R [16], THREADS [1]
# Runs already in OUT are kept (rerun with FORCE=1 to retrain); several invocations with
# different LAYERS/STDS/SEEDS may share OUT, the table covers every run found there.
# Needs build/strata (cmake --build build --target strata_cli). Each run of 2000 steps is
# about 4.1M tokens: ~2 min at 35k tokens/s on one core.
set -eu
cd "$(dirname "$0")/.."
S=build/strata
OUT=${1:-results/induction}
LAYERS=${LAYERS-"1 2"}
STDS=${STDS-"0.02 0.1"}
SEEDS=${SEEDS:-0}
STEPS=${STEPS:-2000}
LR=${LR:-3e-3}
BATCH=${BATCH:-32}
SAVE_EVERY=${SAVE_EVERY:-250}
R=${R:-16}
THREADS=${THREADS:-1}
mkdir -p "$OUT"
if [ ! -f "$OUT/repeat.jsonl" ]; then
    # 64 tokens per document, vocabulary 64 (id 0 = BOS), spans of 8..31 tokens copied at a
    # distance uniform in [span, 63 - span]
    $S corpus repeat --docs 20000 --vocab 64 --seq-len 64 --min-span 8 --max-span 31 --seed 1 \
        --out "$OUT/repeat.jsonl" --tokenizer-out "$OUT/tokenizer" --overwrite
fi
for L in $LAYERS; do
    for STD in $STDS; do
        for SEED in $SEEDS; do
            RUN="$OUT/L$L-std$STD-seed$SEED"
            if [ -e "$RUN/final" ] && [ "${FORCE:-0}" != 1 ]; then continue; fi
            echo "== train $RUN" >&2
            $S train --out "$RUN" --overwrite --n-layer "$L" --n-head 4 --d-model 64 --attn-only \
                --n-ctx 64 --vocab 64 --jsonl "$OUT/repeat.jsonl" --tokenizer "$OUT/tokenizer" \
                --steps "$STEPS" --batch "$BATCH" --lr "$LR" --schedule constant --warmup 100 \
                --init-std "$STD" --seed "$SEED" --threads "$THREADS" --save-every "$SAVE_EVERY" \
                --json > "$RUN.summary.json"
            for D in "$RUN"/step-*; do
                $S attn "$D" --induction "$R" --threads "$THREADS" --json > "$D/induction.json"
            done
        done
    done
done
/usr/bin/env python3 - "$OUT" <<'PY'
import glob, json, os, re, sys
out = sys.argv[1]
rows = []
for run in sorted(glob.glob(os.path.join(out, "L*-std*-seed*"))):
    if not os.path.isdir(run):
        continue
    L, std, seed = re.match(r"L(\d+)-std([\d.e-]+)-seed(\d+)$", os.path.basename(run)).groups()
    loss = {}
    with open(os.path.join(run, "log.jsonl")) as f:
        for line in f:
            d = json.loads(line)
            loss[d["step"]] = d["loss"]
    for sd in glob.glob(os.path.join(run, "step-*")):
        p = os.path.join(sd, "induction.json")
        if not os.path.exists(p):
            continue
        step = int(sd.rsplit("-", 1)[1])
        heads = json.load(open(p))["heads"]
        b = max(heads, key=lambda h: h["induction"])
        rows.append((int(L), float(std), int(seed), step, loss.get(step), b["layer"], b["head"],
                     b["induction"]))
rows.sort()
print("layers init_std seed  step    loss  best_head  induction")
for L, std, seed, step, lo, bl, bh, ind in rows:
    print(f"{L:6d} {std:8g} {seed:4d} {step:5d} {lo if lo is None else round(lo, 3)!s:>7}  "
          f"{bl:>5}.{bh:<4d}  {ind:9.3f}")
best = {}
for L, std, seed, step, lo, bl, bh, ind in rows:
    k = (L, std, seed)
    if ind > best.get(k, (-1, None))[0]:
        best[k] = (ind, step)
    first = best.setdefault(("first>0.5",) + k, None)
    if ind > 0.5 and (first is None or step < first):
        best[("first>0.5",) + k] = step
print("\nrun (layers, init_std, seed): best induction score (at step); first checkpoint above 0.5")
for k, v in sorted((k, v) for k, v in best.items() if k[0] != "first>0.5"):
    print(f"  {k}: {v[0]:.3f} (step {v[1]}); first > 0.5: {best.get(('first>0.5',) + k)}")
PY
