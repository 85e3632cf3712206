#!/bin/bash
# bench/train/run.sh — training throughput and peak memory, strata vs PyTorch eager (issue 14).
#
#   bench/train/run.sh [BUILD_DIR] [WORK_DIR]
#
# Three shapes (random N(0, 0.02^2) GPT-2 weights from make_init.py, random token rows of
# length T, batch B, the same start for both): "toy" 2-layer attention-only d_model 64;
# "small" 4-layer d_model 256; "gpt2s" GPT-2-small width (12 x 768, vocab 50257) for a few
# steps.  Both sides: AdamW (decay on 2-D tensors), clip 1.0, lr 1e-3 constant, THREADS
# threads; tokens/s over steps 2..N (step 1 is warm-up on both sides; strata's final
# checkpoint write is not counted: its number comes from the log line of the last step).
# Runs are interleaved strata, torch, strata, torch (REPS times) because the machine is shared.
# Peak RSS from /usr/bin/time (strata) and getrusage (torch), beside what strata must hold:
# params + grads + AdamW m, v + activations (`--json` memory_bytes).
# Tunables (env): THREADS (2), REPS (2), SHAPES ("toy small gpt2s").
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/strata-bench-train}
THREADS=${THREADS:-2} REPS=${REPS:-2} SHAPES=${SHAPES:-"toy small gpt2s"}
export OMP_NUM_THREADS=$THREADS
mkdir -p "$work"
echo "== machine: $(nproc) cores, $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== $("$build/strata" info "$work" 2>/dev/null | grep OpenBLAS || true)"
echo "== torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), threads $THREADS"
for shape in $SHAPES; do
    case $shape in
        toy)   L=2;  H=4;  D=64;  F=256;  T=64;  V=64;    B=32; STEPS=60; EXTRA=attn_only ;;
        small) L=4;  H=4;  D=256; F=1024; T=128; V=512;   B=16; STEPS=20; EXTRA= ;;
        gpt2s) L=12; H=12; D=768; F=3072; T=128; V=50257; B=4;  STEPS=4;  EXTRA= ;;
    esac
    dir="$work/$shape"
    [ -f "$dir/init/model.safetensors" ] || /usr/bin/python3 "$here/make_init.py" "$dir/init" $L $H $D $F $T $V $EXTRA
    /usr/bin/python3 -c "
import random, sys
r = random.Random(1)
with open('$dir/rows.txt', 'w') as f:
    for _ in range($B * $STEPS):
        f.write(' '.join(str(r.randrange($V)) for _ in range($T)) + '\n')"
    echo "== $shape: L=$L H=$H d=$D d_mlp=$F ${EXTRA} T=$T V=$V batch=$B steps=$STEPS"
    for rep in $(seq "$REPS"); do
        /usr/bin/time -v "$build/strata" train --init "$dir/init" --tokens-file "$dir/rows.txt" \
            --out "$dir/out" --overwrite --steps $STEPS --batch $B --lr 1e-3 --schedule constant \
            --weight-decay 0.01 --clip 1 --threads "$THREADS" --json > "$dir/strata.json" 2> "$dir/time.txt"
        /usr/bin/python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
log = [json.loads(l) for l in open(f"{d}/out/log.jsonl")]
# elapsed at step k = tokens_seen_k / tokens_per_s_k (both since the run started)
el = [e["tokens_seen"] / e["tokens_per_s"] for e in log]
tps = (log[-1]["tokens_seen"] - log[0]["tokens_seen"]) / (el[-1] - el[0])
s = json.load(open(f"{d}/strata.json"))
rss = [l for l in open(f"{d}/time.txt") if "Maximum resident" in l][0].split()[-1]
m = s["memory_bytes"]
need = (m["params"] + m["grads"] + m["optimizer"] + m["activations"]) / 2**20
print(json.dumps({"impl": "strata", "tokens_per_s": round(tps, 1), "loss": log[-1]["loss"],
                  "peak_rss_kb": int(rss), "needed_mib": round(need, 1),
                  "params_mib": round(m["params"] / 2**20, 1), "activations_mib": round(m["activations"] / 2**20, 1)}))
PY
        /usr/bin/python3 "$here/torch_train.py" "$dir/init" "$dir/rows.txt" $STEPS $B "$THREADS"
    done
done
