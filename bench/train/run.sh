#!/bin/bash
# bench/train/run.sh — training throughput and peak memory, strata vs PyTorch eager (issue 14).
#
#   bench/train/run.sh [BUILD_DIR] [WORK_DIR]
#
# Three shapes (random N(0, 0.02^2) GPT-2 weights from make_init.py, random token rows of
# length T, the same start and the same batches for both sides):
#   toy    2-layer attention-only, d_model 64, 4 heads, T 64, vocab 64, batch 8
#   small  4-layer, d_model 256, 4 heads, d_mlp 1024, T 128, vocab 512, batch 8
#   gpt2s  GPT-2-small width: 12 x 768, 12 heads, d_mlp 3072, vocab 50257, T 128, batch 4
# Both sides: AdamW (decay 0.01 on 2-D tensors), clip 1.0, lr 1e-3 constant, THREADS threads.
# Each program runs twice, with N1 and N2 steps; the differences give
#   cpu tok/s  = (N2 - N1) * B * T / (CPU seconds of the N2 run - of the N1 run)
#                (start-up, the torch import and strata's final checkpoint cancel out; CPU time
#                 is what a loaded, shared machine distorts least)
#   wall tok/s = (N2 - N1) * B * T / (wall seconds difference)
# and the order is interleaved strata, torch, strata, torch (REPS times).  Peak RSS of the N2
# runs (/usr/bin/time), beside what strata must hold: params + grads + AdamW m, v +
# activations (`--json` memory_bytes).
# Tunables (env): THREADS (1), REPS (2), SHAPES ("toy small gpt2s"); OPENBLAS_CORETYPE passes to
# both programs (they load the same OpenBLAS), so the kernel is the same on both sides.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:-$root/build}
work=${2:-/tmp/strata-bench-train}
THREADS=${THREADS:-1} REPS=${REPS:-2} SHAPES=${SHAPES:-"toy small gpt2s"}
cores=$(nproc --all)
export OMP_NUM_THREADS=$THREADS
mkdir -p "$work"
echo "== machine: $cores cores, $(lscpu | grep 'Model name' | sed 's/ \+/ /g'), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "== torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), threads $THREADS"
echo "== OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE-(unset: OpenBLAS picks)}; both programs load the same OpenBLAS"
timed() {   # timed OUT_PREFIX cmd... : writes OUT_PREFIX.time (user sys wall maxrss_kb)
    local pfx=$1; shift
    /usr/bin/time -f "%U %S %e %M" -o "$pfx.time" "$@" > "$pfx.out"
}
for shape in $SHAPES; do
    case $shape in
        toy)   L=2;  H=4;  D=64;  F=256;  T=64;  V=64;    B=8;  N1=100; N2=1000; EXTRA=attn_only ;;
        small) L=4;  H=4;  D=256; F=1024; T=128; V=512;   B=8;  N1=5;  N2=25;  EXTRA= ;;
        gpt2s) L=12; H=12; D=768; F=3072; T=128; V=50257; B=4;  N1=2;  N2=4;   EXTRA= ;;
    esac
    dir="$work/$shape"
    [ -f "$dir/init/model.safetensors" ] || /usr/bin/python3 "$here/make_init.py" "$dir/init" $L $H $D $F $T $V $EXTRA
    /usr/bin/python3 -c "
import random
r = random.Random(1)
with open('$dir/rows.txt', 'w') as f:
    for _ in range($B * $N2):
        f.write(' '.join(str(r.randrange($V)) for _ in range($T)) + '\n')"
    echo "== $shape: L=$L H=$H d=$D d_mlp=$F ${EXTRA} T=$T V=$V batch=$B steps $N1 and $N2"
    echo "== OpenBLAS kernel: $("$build/strata" info "$dir/init" | sed -n 's/^OpenBLAS *//p')"
    for rep in $(seq "$REPS"); do
        for impl in strata torch; do
            for n in $N1 $N2; do
                if [ $impl = strata ]; then
                    timed "$dir/$impl.$n" "$build/strata" train --init "$dir/init" --tokens-file "$dir/rows.txt" \
                        --out "$dir/out" --overwrite --steps $n --batch $B --lr 1e-3 --schedule constant \
                        --weight-decay 0.01 --clip 1 --threads "$THREADS" --json
                else
                    timed "$dir/$impl.$n" /usr/bin/python3 "$here/torch_train.py" "$dir/init" "$dir/rows.txt" $n $B "$THREADS"
                fi
            done
            /usr/bin/python3 - "$dir" $impl $N1 $N2 $((B * T)) <<'PY'
import json, sys
d, impl, n1, n2, tok = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
a = list(map(float, open(f"{d}/{impl}.{n1}.time").read().split()))
b = list(map(float, open(f"{d}/{impl}.{n2}.time").read().split()))
r = {"impl": impl, "cpu_tok_s": round((n2 - n1) * tok / ((b[0] + b[1]) - (a[0] + a[1])), 1),
     "wall_tok_s": round((n2 - n1) * tok / (b[2] - a[2]), 1), "peak_rss_mib": round(b[3] / 1024, 1)}
out = json.loads(open(f"{d}/{impl}.{n2}.out").read().strip().splitlines()[-1])
if impl == "strata":
    m = out["memory_bytes"]
    r["holds_mib"] = {k: round(v / 2**20, 1) for k, v in m.items()}
    r["holds_total_mib"] = round(sum(m.values()) / 2**20, 1)
r["final_loss"] = out.get("final_loss", out.get("loss"))
print(json.dumps(r))
PY
        done
    done
done
