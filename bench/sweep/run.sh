#!/bin/sh
# bench/sweep/run.sh RUN_DIR EVAL.jsonl LABEL [N_CKPT] — wall time of one `strata sweep` over the
# first N_CKPT (20) step-* checkpoints of a training folder, against running the single commands
# one by one on each checkpoint (what a user would script without sweep):
#   loss        strata eval CK --tokens-file EVAL_IDS
#   induction   strata attn CK --tokens-file EVAL_IDS --induction R --n-docs 32   (prev-token on
#               the corpus + induction on random BOS+S+S, like the sweep's)
#   probe       strata capture CK --jsonl EVAL --hooks resid_pre/post + strata probe --cv 5 --control
#   geometry    strata pca on that capture
# (the ICL score has no single command; the sweep computes it on the same pass, so the sweep
# does strictly more work). Runs interleave: sweep, singles, sweep, singles (ROUNDS, default 3).
# Prints wall and CPU seconds (user + system of the commands) of each side; TH threads per
# command (default 2).
set -eu
RUN=$1; EVAL=$2; LABEL=$3; N=${4:-20}
STRATA=${STRATA:-build/strata}
R=${R:-20}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
trap 'exit 1' INT TERM
# a folder of N checkpoints (symlinks) and the eval ids as a tokens file
mkdir "$T/run"
ls -d "$RUN"/step-* | sort -t- -k2 -n | head -n "$N" | while read -r d; do ln -s "$(cd "$d" && pwd)" "$T/run/$(basename "$d")"; done
python3 -c "import json,sys
for l in open(sys.argv[1]):
    if l.strip(): print(' '.join(map(str, json.loads(l)['ids'])))" "$EVAL" > "$T/eval.ids"
now() { date +%s.%N; }
# PROBE=0 leaves the probe (capture + 5-fold CV + control per layer) out of both sides
PROBE=${PROBE:-1}
MEAS="loss,icl,induction,geometry"
[ "$PROBE" = 1 ] && MEAS="$MEAS,probe:$LABEL"
sweep() {
    "$STRATA" sweep "$T/run" --data "$EVAL" --measure "$MEAS" \
        --induction-len "$R" --induction-docs 32 --probe-cv 5 --threads "${TH:-2}" --quiet --json > "$T/sweep.json"
}
singles() {
    for d in "$T"/run/step-*; do
        "$STRATA" eval "$d" --tokens-file "$T/eval.ids" --json --threads "${TH:-2}" > /dev/null
        "$STRATA" attn "$d" --tokens-file "$T/eval.ids" --induction "$R" --seed 0 --n-docs 32 --json --threads "${TH:-2}" --quiet > /dev/null
        "$STRATA" capture "$d" --jsonl "$EVAL" --hooks 'blocks.0.hook_resid_pre,blocks.*.hook_resid_post' \
            --out "$T/c.h5" --overwrite --threads "${TH:-2}" --quiet
        if [ "$PROBE" = 1 ]; then
            "$STRATA" probe "$T/c.h5" --label "$LABEL" --cv 5 --control --json --quiet > /dev/null
        fi
        "$STRATA" pca "$T/c.h5" --json --quiet > /dev/null
    done
}
echo "checkpoints: $(ls "$T/run" | wc -l), eval docs: $(wc -l < "$T/eval.ids")"
# CPU seconds (user + system) of all finished children of this shell, from `times`
# (`times` must run in this shell, not in a $(...) subshell, which has no children yet)
cpu() { tail -1 "$1" | awk '{ sub(/s$/, "", $1); sub(/s$/, "", $2); split($1, u, "m"); split($2, s, "m"); print u[1] * 60 + u[2] + s[1] * 60 + s[2] }'; }
echo "threads per command: ${TH:-2}; load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
for round in $(seq "${ROUNDS:-3}"); do
    times > "$T/ta"; a=$(now); sweep; b=$(now); times > "$T/tb"; singles; c=$(now); times > "$T/tc"
    ca=$(cpu "$T/ta"); cb=$(cpu "$T/tb"); cc=$(cpu "$T/tc")
    python3 -c "import sys; a,b,c,x,y,z=map(float,sys.argv[1:]); print('round %s: sweep %.1f s wall %.1f s CPU, single commands %.1f s wall %.1f s CPU, ratio wall %.2f CPU %.2f' % ('$round', b-a, y-x, c-b, z-y, (c-b)/(b-a), (z-y)/(y-x)))" "$a" "$b" "$c" "$ca" "$cb" "$cc"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
