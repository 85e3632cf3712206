#!/bin/sh
# The main job, from a fresh machine: install, build, capture a model's residual stream over a
# labelled corpus, fit linear probes on every layer (with a Hewitt & Liang control task) and
# print the layer-by-layer tables.
#
# usage: scripts/main-job.sh [MODEL [CORPUS]]
#   no MODEL  the default model models/grammar-tiny (trained by strata on `strata corpus
#             grammar`, committed in the repository): a fresh held-out grammar corpus, probes
#             on its latent variables per token: subj_number (the number the pending verb must
#             agree with), quote_depth, attr (an entity's colour named sentences earlier)
#   MODEL     HF model directory or .gguf (e.g. ../shared/models/stories260K/hf): probes for
#             "is this token inside a quotation?" on CORPUS
#   CORPUS    text file, one document per line (default examples/stories.txt)
# Set STRATA_SKIP_INSTALL=1 to skip the apt step on a machine that already has the packages.
# Output goes to results/main-job/ (outside build/, which .ci/run deletes); STRATA_RESULTS=DIR
# picks another folder.
set -eu
cd "$(dirname "$0")/.."
DEFAULT_MODEL=models/grammar-tiny
MODEL=${1:-$DEFAULT_MODEL}
CORPUS=${2:-examples/stories.txt}
OUT=${STRATA_RESULTS:-results/main-job}
if [ "${STRATA_SKIP_INSTALL:-0}" != 1 ]; then scripts/install-deps.sh; fi
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo
cmake --build build -j"$(nproc)" --target strata_cli
mkdir -p "$OUT"
if [ "$MODEL" = "$DEFAULT_MODEL" ] && [ $# -lt 2 ]; then
    echo "== model (default: $MODEL, see $MODEL/README.md)"
    build/strata info "$MODEL" | head -4
    echo "== corpus: 300 held-out grammar documents (seed 7; the model was trained on seed 1)"
    build/strata corpus grammar --docs 300 --seed 7 --out "$OUT/corpus.jsonl" --overwrite
    echo "== capture: hook_embed, every blocks.*.hook_resid_post and attention pattern"
    build/strata capture "$MODEL" --hooks 'hook_embed,blocks.*.hook_resid_post,blocks.*.attn.hook_pattern' \
        --jsonl "$OUT/corpus.jsonl" --out "$OUT/acts.h5" --overwrite --quiet
    for LABEL in subj_number quote_depth attr; do
        echo "== probe: $LABEL, logistic regression, held-out documents, control task"
        build/strata probe "$OUT/acts.h5" --label "$LABEL" --group doc --control \
            --plot "$OUT/probe-$LABEL.svg" --csv "$OUT/probe-$LABEL.csv"
    done
    echo "(plots: $OUT/probe-*.svg, tables: $OUT/probe-*.csv, activations: $OUT/acts.h5)"
    echo "== report"
    build/strata report "$OUT/acts.h5" --model "$MODEL" --group doc --out "$OUT/report.html" --quiet
    exit 0
fi
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
