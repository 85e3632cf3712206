#!/bin/sh
# tests/mpi/fit_cli.sh — `mpirun -np 2|3 strata probe|pca|cka` against the same commands run
# as one process (the MPI build without mpirun: serial semantics), on a capture of the real
# stories260K model made by strata in the test.
# usage: sh fit_cli.sh "<mpiexec + flags>" <strata CLI> <source dir>   (exit 77 = skip)
# Tolerances (docs/SCALE.md): probe coefficients 2e-3 * max(1, max|coef|) (float32 objective,
# as against scikit-learn); accuracies within 1/n_test; PCA covariance solver and CKA (float64)
# 1e-9 relative, randomized PCA (float32 block products) 1e-6.
set -eu
MPIEXEC=$1
STRATA=$2
SRC=$3
MODEL="$SRC/../shared/models/stories260K"
PY=/usr/bin/python3
[ -d "$MODEL" ] || { echo "skip: no $MODEL"; exit 77; }
$PY -c 'import numpy, h5py' 2>/dev/null || { echo "skip: $PY lacks numpy/h5py"; exit 77; }
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
cd "$T"
$PY "$SRC/bench/probe/stories_corpus.py" c.jsonl --docs 60 >/dev/null
"$STRATA" capture "$MODEL" --hooks 'blocks.*.hook_resid_post' --jsonl c.jsonl --out c.h5 --quiet

run() { # run NAME NP ARGS... : stdout to NAME.out, stderr to NAME.err
    name=$1; np=$2; shift 2
    if [ "$np" = 1 ]; then "$STRATA" "$@" >"$name.out" 2>"$name.err"
    else $MPIEXEC -n "$np" "$STRATA" "$@" >"$name.out" 2>"$name.err"; fi
}
for np in 1 2 3; do
    run probe$np $np probe c.h5 --label in_quote --json --cv 3 --control --shuffled --group doc \
        --tol 1e-6 --save probe$np.h5
    run ridge$np $np probe c.h5 --label in_quote --kind ridge --json --cv 3
    run pca$np $np pca c.h5 --json -k 4
    run rsvd$np $np pca c.h5 --json -k 4 --solver rsvd
    run cka$np $np cka c.h5 --json
    cp c.h5 w$np.h5
    run write$np $np pca w$np.h5 -k 3 --write-projections
done

$PY - <<'EOF'
import json, sys
import h5py, numpy as np

def load(name):
    with open(name + ".out") as f:
        return json.load(f)  # fails if a second rank printed too

bad = []
for np_ in (2, 3):
    for kind in ("probe", "ridge"):
        a, b = load(f"{kind}1"), load(f"{kind}{np_}")
        assert len(a["results"]) == len(b["results"])
        for ra, rb in zip(a["results"], b["results"]):
            assert ra["hook"] == rb["hook"]
            for k in ("n_rows", "n_train", "n_test", "split", "n_documents"):
                if ra[k] != rb[k]:
                    bad.append(f"{kind} np{np_} {ra['hook']} {k}: {ra[k]} vs {rb[k]}")
            slack = 1.0 / ra["n_test"] + 1e-9
            for k, v in ra.items():
                if k in ("fit_seconds", "n_iter", "converged") or not isinstance(v, float):
                    continue
                w = rb[k]
                tol = 1e-4 if k in ("log_loss", "auroc") or k.endswith("r2") else slack
                if abs(v - w) > tol:
                    bad.append(f"{kind} np{np_} {ra['hook']} {k}: {v} vs {w}")
    with h5py.File("probe1.h5") as f1, h5py.File(f"probe{np_}.h5") as f2:
        for hook in f1["probes"]:
            c1, c2 = f1["probes"][hook]["coef"][()], f2["probes"][hook]["coef"][()]
            i1, i2 = f1["probes"][hook]["intercept"][()], f2["probes"][hook]["intercept"][()]
            sc = max(1.0, float(np.abs(c1).max()), float(np.abs(i1).max()))
            d = max(float(np.abs(c1 - c2).max()), float(np.abs(i1 - i2).max())) / sc
            print(f"probe --save np{np_} {hook}: coef diff / scale {d:.3g}")
            if not d <= 2e-3:
                bad.append(f"saved probe np{np_} {hook}: {d}")
    for kind in ("pca", "rsvd"):
        a, b = load(f"{kind}1"), load(f"{kind}{np_}")
        for ra, rb in zip(a["results"], b["results"]):
            assert ra["n_rows"] == rb["n_rows"], (ra["n_rows"], rb["n_rows"])
            # covariance solver: float64; randomized: float32 block products
            tol = 1e-9 if ra["solver"] == "cov" else 1e-6
            for k in ("explained_variance", "explained_variance_ratio"):
                d = np.max(np.abs(np.array(ra[k]) - rb[k]) / np.abs(ra[k]))
                if not d <= tol:
                    bad.append(f"{kind} np{np_} {ra['hook']} {k}: rel diff {d}")
            for k in ("participation_ratio", "total_variance"):
                if not abs(ra[k] - rb[k]) <= tol * abs(ra[k]):
                    bad.append(f"{kind} np{np_} {ra['hook']} {k}: {ra[k]} vs {rb[k]}")
    a, b = load("cka1"), load(f"cka{np_}")
    d = float(np.max(np.abs(np.array(a["cka"]) - np.array(b["cka"]))))
    print(f"cka np{np_}: max diff {d:.3g}")
    if not d <= 1e-9:
        bad.append(f"cka np{np_}: {d}")
    # --write-projections: rank 0 writes the same components and projections
    with h5py.File("w1.h5") as f1, h5py.File(f"w{np_}.h5") as f2:
        for hook in f1["pca"]:
            for ds in ("components", "projections", "explained_variance"):
                x, y = f1["pca"][hook][ds][()], f2["pca"][hook][ds][()]
                d = float(np.max(np.abs(x - y))) / max(1.0, float(np.max(np.abs(x))))
                if not d <= 1e-6:  # projections are float32
                    bad.append(f"written pca np{np_} {hook}/{ds}: {d}")
if bad:
    print("\n".join(bad))
    sys.exit(1)
print("json/saved outputs agree")
EOF

# a bad argument is one error on every rank, printed once (by rank 0), non-zero exit
if $MPIEXEC -n 3 "$STRATA" probe c.h5 --label no_such_label >bad.out 2>bad.err; then
    echo "FAIL: a missing label did not fail"; exit 1
fi
n=$(grep -c "no label 'no_such_label'" bad.err || true)
[ "$n" = 1 ] || { echo "FAIL: the error was printed $n times:"; cat bad.err; exit 1; }
[ ! -s bad.out ] || { echo "FAIL: output on stdout after an error"; exit 1; }
echo "fit_cli: OK"
