#!/bin/sh
# scripts/emergence.sh STUDY — the emergence studies of docs/EMERGENCE.md, each as corpus ->
# train -> sweep with the exact settings reported there.
#
#   induction    2-layer vs 1-layer attention-only models on `repeat`: induction score, ICL score
#                and loss on the repeated copy across training steps
#   grokking     modular addition with a train/test split, weight decay and the loss on the
#                answer only: train vs test accuracy, weight norm and participation ratio
#                across training (3 splits x 3 seeds)
#   scale        9 model sizes x 3 seeds, same recipe, on `addition`: exact match vs per-token
#                scores (per seed and the mean over seeds)
#   abstraction  `grammar`: probe accuracy of each latent variable per layer across checkpoints
#   figure       the ability-vs-scale figure from the four studies' sweeps (run them first)
#   all          the four studies, then the figure
#
# Output: results/emergence/STUDY/ (STRATA_RESULTS=DIR picks another root): corpora, the runs
# (step-<N>/ checkpoints), sweep.json, sweep.txt, *.svg, times.txt (wall and CPU seconds).
# Needs a built build/strata (cmake --build build --target strata_cli) and python3 (standard
# library only, for task files and the figure). THREADS (default 2) is passed to train/sweep.
set -eu
cd "$(dirname "$0")/.."
STUDY=${1:-}
ROOT=${STRATA_RESULTS:-results/emergence}
S=${STRATA:-build/strata}
TH=${THREADS:-2}
PY=${PYTHON:-python3}
[ -x "$S" ] || { echo "emergence.sh: $S not built (cmake --build build --target strata_cli)" >&2; exit 1; }

stamp() { date +%s; }
timed() {  # timed LABEL cmd... : runs cmd, appends "LABEL wall_s" to $O/times.txt
    label=$1; shift
    t0=$(stamp); "$@"; t1=$(stamp)
    echo "$label $((t1 - t0))" >> "$O/times.txt"
    echo "== $label: $((t1 - t0)) s" >&2
}
begin() { O=$ROOT/$1; rm -rf "$O"; mkdir -p "$O"; : > "$O/times.txt"; T0=$(stamp); }
finish() {
    echo "total $(( $(stamp) - T0 ))" >> "$O/times.txt"
    # CPU seconds of this shell's children (user + system), as `times` prints them
    times > "$O/.times"
    tail -1 "$O/.times" | sed 's/^/cpu_user_sys_children /' >> "$O/times.txt"
    rm -f "$O/.times"
    echo "== $1 done in $(( $(stamp) - T0 )) s; results in $O" >&2
}

induction() {
    begin induction
    # 60000 documents: a run of 3500 steps x 16 rows never sees a document twice (a 4000-document
    # corpus repeated 16 times was memorised instead: train loss 4.00, eval loss 4.12, no head)
    timed corpus "$S" corpus repeat --out "$O/train.jsonl" --docs 60000 --vocab 64 --seq-len 64 \
        --min-span 8 --max-span 24 --seed 1
    "$S" corpus repeat --out "$O/eval.jsonl" --docs 200 --vocab 64 --seq-len 64 --min-span 8 \
        --max-span 24 --seed 2
    "$PY" scripts/emergence_tasks.py copy "$O/eval.jsonl" > "$O/copy.jsonl"
    for L in 2 1; do
        timed "train_attn$L" "$S" train --out "$O/attn$L" --n-layer "$L" --n-head 4 --d-model 64 \
            --attn-only --n-ctx 64 --vocab 64 --jsonl "$O/train.jsonl" --steps "${IND_STEPS:-3500}" \
            --batch 16 --lr 2e-3 --schedule constant --warmup 20 --weight-decay 0 --init-std 0.1 \
            --seed 0 --save-every "${IND_EVERY:-100}" --threads "$TH" --json > "$O/train_attn$L.json"
    done
    timed sweep "$S" sweep "$O/attn2" "$O/attn1" --data "$O/eval.jsonl" \
        --measure "loss,icl,induction,task:$O/copy.jsonl" --induction-len 20 --induction-docs 32 \
        --threads "$TH" --quiet --json-out "$O/sweep.json" --plot "$O/induction.svg" > "$O/sweep.txt"
    finish induction
}

grokking() {
    begin grokking
    P=${GROK_P:-23}
    SEEDS=${GROK_SEEDS:-0 1 2}
    for F in ${GROK_FRACS:-0.3 0.4 0.6}; do
        R=$O/frac$F
        mkdir -p "$R"
        timed "corpus_$F" "$S" corpus modular --p "$P" --op add --train-frac "$F" --seed 0 \
            --out "$R/train.jsonl" --test-out "$R/test.jsonl" --task-out "$R/test_task.jsonl"
        "$PY" scripts/emergence_tasks.py answer "$R/train.jsonl" > "$R/train_task.jsonl"
        # the loss on the answer token only (--loss-mask answer: the corpus labels c with 1),
        # minibatches of 64 rows; the seeds of one split train side by side
        t0=$(stamp)
        pids=""
        for SEED in $SEEDS; do
            "$S" train --out "$R/seed$SEED" --n-layer 1 --n-head 4 --d-model 64 --d-mlp 256 \
                --n-ctx 8 --vocab $((P + 3)) --jsonl "$R/train.jsonl" --loss-mask answer \
                --steps "${GROK_STEPS:-6000}" --batch 64 --lr 3e-3 --schedule constant --warmup 10 \
                --weight-decay 1.0 --beta2 0.98 --init-std 0.02 --seed "$SEED" \
                --save-every "${GROK_EVERY:-200}" --threads "$TH" --json > "$R/train_seed$SEED.json" &
            pids="$pids $!"
        done
        for p in $pids; do wait "$p"; done   # set -e: a failed training stops the study
        echo "train_$F $(( $(stamp) - t0 ))" >> "$O/times.txt"
        for SEED in $SEEDS; do
            timed "sweep_${F}_seed$SEED" "$S" sweep "$R/seed$SEED" --data "$R/test.jsonl" \
                --measure "task:$R/train_task.jsonl,task:$R/test_task.jsonl,weights,geometry" \
                --threads "$TH" --quiet --json-out "$O/sweep_frac${F}_seed$SEED.json" \
                --plot "$O/grokking_frac${F}_seed$SEED.svg" > "$O/sweep_frac${F}_seed$SEED.txt"
        done
    done
    "$PY" scripts/emergence_grokking.py "$O"/sweep_frac*_seed*.json > "$O/summary.txt"
    finish grokking
}

scale() {
    begin scale
    D=${ADD_DIGITS:-2}
    timed corpus "$S" corpus addition --digits "$D" --docs 20000 --n-test 500 --reverse --seed 0 \
        --out "$O/train.jsonl" --task-out "$O/test_task.jsonl"
    SEEDS=${SCALE_SEEDS:-0 1 2}
    for W in ${SCALE_WIDTHS:-8 12 16 20 24 28 32 40 48}; do
        t0=$(stamp)
        pids=""
        for SEED in $SEEDS; do   # the seeds of one width train side by side
            mkdir -p "$O/d$W"
            "$S" train --out "$O/d$W/seed$SEED" --n-layer 2 --n-head 4 --d-model "$W" \
                --d-mlp $((4 * W)) --n-ctx 16 --vocab 14 --jsonl "$O/train.jsonl" \
                --steps "${SCALE_STEPS:-1500}" --batch 32 --lr 3e-3 --schedule cosine --warmup 50 \
                --weight-decay 0.01 --init-std 0.02 --seed "$SEED" --threads "$TH" --json \
                > "$O/train_d${W}_seed$SEED.json" &
            pids="$pids $!"
        done
        for p in $pids; do wait "$p"; done   # set -e: a failed training stops the study
        echo "train_d$W $(( $(stamp) - t0 ))" >> "$O/times.txt"
    done
    for SEED in $SEEDS; do
        dirs=""
        for W in ${SCALE_WIDTHS:-8 12 16 20 24 28 32 40 48}; do dirs="$dirs $O/d$W/seed$SEED/final"; done
        # shellcheck disable=SC2086
        timed "sweep_seed$SEED" "$S" sweep $dirs --measure "task:$O/test_task.jsonl" --x params \
            --threads "$TH" --quiet --json-out "$O/sweep_seed$SEED.json" --plot "$O/scale_seed$SEED.svg" \
            > "$O/sweep_seed$SEED.txt"
    done
    cp "$O/sweep_seed0.json" "$O/sweep.json"
    "$PY" scripts/emergence_seeds.py "$O"/sweep_seed*.json > "$O/seeds.txt"
    finish scale
}

abstraction() {
    begin abstraction
    timed corpus "$S" corpus grammar --docs 3000 --seed 0 --out "$O/train.jsonl" --tokenizer-out "$O/tokenizer"
    # 60 eval documents and 3-fold CV keep the probe sweep (11 checkpoints x 3 labels x 4 depths x
    # (hold-out + 3 folds + control) fits) at ~200 CPU-seconds; 150 documents and 5 folds cost
    # ~66 CPU-seconds per checkpoint
    "$S" corpus grammar --docs "${ABS_EVAL_DOCS:-60}" --seed 1 --out "$O/eval.jsonl"
    timed train "$S" train --out "$O/run" --n-layer 3 --n-head 4 --d-model 64 --d-mlp 256 \
        --n-ctx 128 --vocab 49 --jsonl "$O/train.jsonl" --tokenizer "$O/tokenizer" \
        --steps "${ABS_STEPS:-1000}" --batch 8 --lr 2e-3 --schedule cosine --warmup 50 \
        --weight-decay 0.01 --init-std 0.02 --seed 0 --save-every "${ABS_EVERY:-100}" \
        --threads "$TH" --json > "$O/train.json"
    timed sweep "$S" sweep "$O/run" --data "$O/eval.jsonl" \
        --measure "loss,probe:subj_number,probe:quote_depth,probe:attr" --probe-cv "${ABS_CV:-3}" \
        --threads "$TH" --quiet --json-out "$O/sweep.json" --plot "$O/abstraction.svg" > "$O/sweep.txt"
    finish abstraction
}

figure() {
    O=$ROOT/figure
    mkdir -p "$O"
    "$PY" scripts/emergence_figure.py "$ROOT" "$O/ability_vs_scale.svg"
}

case "$STUDY" in
    induction|grokking|scale|abstraction|figure) "$STUDY" ;;
    all) induction; grokking; scale; abstraction; figure ;;
    *) sed -n '2,20p' "$0" | sed 's/^# \{0,1\}//'; exit 2 ;;
esac
