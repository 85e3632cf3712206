#!/bin/sh
# The main job, from a fresh machine: install, build, capture a model's residual stream over a
# corpus, fit "is this token inside a quotation?" probes on every layer (with a Hewitt & Liang
# control task) and print the layer-by-layer table.
#
# usage: scripts/main-job.sh [MODEL] [CORPUS]
#   MODEL   HF model directory or .gguf (default ../shared/models/stories260K/hf)
#   CORPUS  text file, one document per line (default examples/stories.txt)
# Set STRATA_SKIP_INSTALL=1 to skip the apt step on a machine that already has the packages.
# Output goes to results/main-job/ (outside build/, which .ci/run deletes); STRATA_RESULTS=DIR
# picks another folder.
set -eu
cd "$(dirname "$0")/.."
MODEL=${1:-../shared/models/stories260K/hf}
CORPUS=${2:-examples/stories.txt}
OUT=${STRATA_RESULTS:-results/main-job}
if [ "${STRATA_SKIP_INSTALL:-0}" != 1 ]; then scripts/install-deps.sh; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)" --target strata_cli
mkdir -p "$OUT"
/usr/bin/python3 examples/label_quotes.py "$CORPUS" > "$OUT/corpus.jsonl"
echo "== model"
build/strata info "$MODEL" | head -4
echo "== capture: hook_embed and every blocks.*.hook_resid_post"
build/strata capture "$MODEL" --hooks 'hook_embed,blocks.*.hook_resid_post' \
    --jsonl "$OUT/corpus.jsonl" --out "$OUT/acts.h5" --overwrite --quiet
echo "== probe: in_quote, logistic regression, split by document (5-fold GroupKFold), control task"
build/strata probe "$OUT/acts.h5" --label in_quote --group doc --cv 5 --control \
    --plot "$OUT/probe.svg" --csv "$OUT/probe.csv"
echo "(plot: $OUT/probe.svg, table: $OUT/probe.csv, activations: $OUT/acts.h5)"
echo "== report"
build/strata report "$OUT/acts.h5" --model "$MODEL" --group doc --out "$OUT/report.html" --quiet
