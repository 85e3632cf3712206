#!/bin/bash
# bench/capture/kill_stress.sh — kill -9 `strata capture` at random moments,
# over and over, resuming each time; after every kill the file must open with
# plain h5py, say complete = false and have extents >= the committed counts.
# Each kill comes 0.1..SLEEP_MAX (default 3) seconds after the start.
# Stops at the first failure (HDF5's own error stack is shown:
# STRATA_HDF5_DEBUG=1).
#
#   bench/capture/kill_stress.sh STRATA_BIN MODEL_DIR CORPUS.txt [N_KILLS] [EXTRA capture options]
set -u
bin=$1 model=$2 corpus=$3 n=${4:-20}
shift 4 || shift $#
work=$(mktemp -d)
out=$work/k.h5
cmd=("$bin" capture "$model" --hooks 'blocks.*.hook_resid_post,blocks.*.attn.hook_pattern'
     --out "$out" --text-file "$corpus" --max-tokens 48 --batch 8 --threads 1 --quiet "$@")
first=1
for i in $(seq 1 "$n"); do
    if [ $first = 1 ]; then STRATA_HDF5_DEBUG=1 "${cmd[@]}" 2> "$work/err.txt" &
    else STRATA_HDF5_DEBUG=1 "${cmd[@]}" --resume 2> "$work/err.txt" & fi
    pid=$!
    sleep "$(awk -v s=$RANDOM -v m="${SLEEP_MAX:-3}" 'BEGIN { srand(s); printf "%.2f", 0.1 + rand() * m }')"
    kill -9 $pid 2> /dev/null
    wait $pid 2> /dev/null
    rc=$?
    if [ $rc != 137 ] && [ $rc != 0 ]; then echo "kill $i: capture failed (rc $rc)"; head -30 "$work/err.txt"; exit 1; fi
    [ -f "$out" ] || { echo "kill $i: killed before the file existed"; continue; }
    first=0
    /usr/bin/python3 - "$out" "$i" "$rc" <<'PY' || exit 1
import sys, h5py
with h5py.File(sys.argv[1], "r") as f:
    a = f.attrs
    d, r, t = int(a["n_docs"]), int(a["n_rows"]), int(a["n_tokens"])
    assert f["rows"].shape[0] >= r and f["tokens"].shape[0] >= t
    assert f["docs/offsets"][d] == t and f["docs/row_offsets"][d] == r
    for k in f["acts"]:
        assert f["acts"][k].shape[0] >= r
        f["acts"][k][max(0, r - 8):r]          # committed rows readable
    print(f"kill {sys.argv[2]}: rc {sys.argv[3]} complete={bool(a['complete'])} docs={d} rows={r} (extent {f['rows'].shape[0]})")
PY
    [ $rc = 0 ] && break
done
rm -rf "$work"
