#!/bin/sh
# tests/mpi/capture.sh — distributed capture (docs/SCALE.md) against serial captures.
#
# argv: "<mpiexec + flags>" <strata CLI of the MPI build> <source dir>
#
# The serial reference is the serial build's strata (<source>/build/strata) when it exists,
# else the same MPI-built binary run without mpirun (one rank: the serial code path).  Files
# are compared value for value with h5py (every dataset, its shape, dtype and attributes, and
# every root attribute but `created`, the creation time).
#   1. text input with residual streams and attention patterns, -np 2 and -np 3 (uneven
#      parts), JSONL labels (span, number, per-token) with --positions last and --dtype f16,
#      token-id JSONL, a tokens file with --positions first;
#   2. more ranks than batches (2 documents, --batch 8, -np 3): the idle ranks take part, the
#      file equals the serial one, and rank 0 says so;
#   3. a rank killed with SIGKILL mid-capture: mpirun fails (non-zero, names the rank), no
#      hang; --resume with another rank count (-np 3) completes to the uninterrupted file;
#   4. bad input: MPI-IO unavailable (Open MPI without io components) -> error naming the
#      file, no file left; --compress -> refused; --resume of an interrupted file that a
#      serial capture began -> refused, file unchanged.
set -u
MPIEXEC=$1
STRATA=$2
SRC=$3
PY=/usr/bin/python3
$PY -c "import h5py, numpy" 2>/dev/null || { echo "skip: h5py/numpy for /usr/bin/python3 missing"; exit 77; }
SHARED=${STRATA_SHARED_DIR:-$SRC/../shared}
MODEL=$SHARED/models/stories260K/hf
[ -d "$MODEL" ] || MODEL=$SRC/models/grammar-tiny
SERIAL=$SRC/build/strata
[ -x "$SERIAL" ] || SERIAL=$STRATA
echo "model $MODEL; serial reference: $SERIAL"
T=$(mktemp -d "${TMPDIR:-/tmp}/strata-mpicap.XXXXXX")
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1
fail() { echo "FAIL: $*"; exit 1; }

$PY - "$T" <<'EOF'
import json, random, sys
d = sys.argv[1]
random.seed(7)
words = ("once upon a time there was a little girl named lily she liked to play with her dog "
         "in the park one day they saw a big red ball").split()
def line(): return " ".join(random.choice(words) for _ in range(random.choice([3, 5, 8, 13, 20, 40, 60, 90]))).capitalize() + "."
with open(f"{d}/corpus.txt", "w") as f:
    for i in range(150): f.write(line() + "\n")
    f.write("\n")                                   # a blank line is no document
with open(f"{d}/big.txt", "w") as f:
    for i in range(700): f.write(line() + "\n")
with open(f"{d}/two.txt", "w") as f:
    f.write("Once upon a time.\nThe dog saw a big red ball in the park.\n")
with open(f"{d}/c.jsonl", "w") as f:
    for i in range(60):
        t = line()
        o = {"text": t, "len": len(t) % 7, "score": random.random(), "spans": [[0, 5, 2], [6, 10, 1]]}
        if i % 5 == 0: o["extra"] = 3
        f.write(json.dumps(o) + "\n")
with open(f"{d}/ids.jsonl", "w") as f:
    for i in range(45):
        n = random.randint(1, 30)
        f.write(json.dumps({"ids": [random.randint(0, 250) for _ in range(n)],
                            "tag": [random.randint(0, 3) for _ in range(n)], "doc": i % 2}) + "\n")
with open(f"{d}/toks.txt", "w") as f:
    for i in range(37): f.write(" ".join(str(random.randint(0, 250)) for _ in range(random.randint(1, 40))) + "\n")
EOF

cat > "$T/cmp.py" <<'EOF'
import h5py, numpy as np, sys
a, b = h5py.File(sys.argv[1], "r"), h5py.File(sys.argv[2], "r")
bad = []
def attrs_equal(x, y):
    return all(k in y and np.array_equal(np.asarray(x[k]), np.asarray(y[k])) for k in x) and set(x) == set(y)
def walk(name, obj):
    if not isinstance(obj, h5py.Dataset): return
    if name not in b: bad.append(f"{name}: missing"); return
    o = b[name]
    if obj.shape != o.shape or obj.dtype != o.dtype:
        bad.append(f"{name}: {obj.shape} {obj.dtype} vs {o.shape} {o.dtype}"); return
    x, y = obj[()], o[()]
    if not np.array_equal(x, y, equal_nan=x.dtype.kind == "f"):
        bad.append(f"{name}: values differ")
    if not attrs_equal(obj.attrs, o.attrs): bad.append(f"{name}: attributes differ")
a.visititems(walk)
na, nb = [], []
a.visit(na.append); b.visit(nb.append)
if set(na) != set(nb): bad.append(f"objects differ: {set(na) ^ set(nb)}")
for k in set(a.attrs) | set(b.attrs):
    if k == "created": continue        # the creation time
    if k not in a.attrs or k not in b.attrs: bad.append(f"root attribute {k} missing"); continue
    if not np.array_equal(np.asarray(a.attrs[k]), np.asarray(b.attrs[k])):
        bad.append(f"root attribute {k}: {a.attrs[k]!r} vs {b.attrs[k]!r}")
if not bool(b.attrs["complete"]): bad.append("not complete")
print("\n".join(bad) if bad else "equal")
sys.exit(1 if bad else 0)
EOF
same() { $PY "$T/cmp.py" "$1" "$2" || fail "$3: $2 differs from the serial $1"; }

# 1. equal files, -np 2 and 3
HK='blocks.*.hook_resid_post,blocks.0.attn.hook_pattern,blocks.1.attn.hook_z[3],blocks.1.mlp.hook_post'
run_case() {   # name, capture arguments...
    name=$1; shift
    "$SERIAL" capture "$MODEL" --hooks "$HK" "$@" --out "$T/ref.h5" --overwrite --threads 1 --quiet \
        || fail "$name: serial capture failed"
    for np in 2 3; do
        $MPIEXEC -np $np "$STRATA" capture "$MODEL" --hooks "$HK" "$@" --out "$T/d.h5" --overwrite \
            --threads 1 --quiet || fail "$name: mpiexec -np $np failed"
        same "$T/ref.h5" "$T/d.h5" "$name -np $np"
        echo "ok: $name -np $np equals the serial capture"
    done
}
run_case text --text-file "$T/corpus.txt"
run_case "text --batch 3" --text-file "$T/corpus.txt" --batch 3
run_case "jsonl last" --jsonl "$T/c.jsonl" --positions last --batch 3
run_case "jsonl f16" --jsonl "$T/c.jsonl" --dtype f16 --batch 5 --max-tokens 20
run_case "ids jsonl" --jsonl "$T/ids.jsonl" --batch 4
run_case "tokens first" --tokens-file "$T/toks.txt" --positions first --batch 2

# 2. more ranks than batches
"$SERIAL" capture "$MODEL" --hooks "$HK" --text-file "$T/two.txt" --out "$T/ref.h5" --overwrite --threads 1 --quiet
$MPIEXEC -np 3 "$STRATA" capture "$MODEL" --hooks "$HK" --text-file "$T/two.txt" --out "$T/d.h5" --overwrite \
    --threads 1 > "$T/two.out" 2>&1 || { cat "$T/two.out"; fail "3 ranks, 2 documents"; }
grep -q "3 ranks for 1 batch of --batch 8 documents: 2 ranks will have nothing to run" "$T/two.out" \
    || { cat "$T/two.out"; fail "no note on idle ranks"; }
same "$T/ref.h5" "$T/d.h5" "3 ranks, 2 documents"
echo "ok: 3 ranks for 2 documents: idle ranks, the serial file"

# 3. a rank killed mid-capture, then --resume on 3 ranks
HB='blocks.*.hook_resid_post'
"$SERIAL" capture "$MODEL" --hooks "$HB" --text-file "$T/big.txt" --batch 2 --out "$T/bigref.h5" --threads 1 --quiet
$MPIEXEC -np 2 "$STRATA" capture "$MODEL" --hooks "$HB" --text-file "$T/big.txt" --batch 2 \
    --out "$T/k.h5" --threads 1 --quiet > "$T/kill.out" 2>&1 &
MP=$!
committed() {
    HDF5_USE_FILE_LOCKING=FALSE $PY -c "import h5py; print(int(h5py.File('$T/k.h5', 'r').attrs['n_docs']))" 2>/dev/null
}
n=""
i=0
while [ $i -lt 600 ]; do
    n=$(committed)
    [ -n "$n" ] && [ "$n" -gt 0 ] && break
    kill -0 $MP 2>/dev/null || break
    sleep 0.1
    i=$((i + 1))
done
[ -n "$n" ] && [ "$n" -gt 0 ] || { wait $MP; cat "$T/kill.out"; fail "no window committed before the job ended"; }
victim=""
for p in $(pgrep -f "capture .*$T/k.h5"); do
    if tr '\0' '\n' < /proc/$p/environ 2>/dev/null | grep -qx "OMPI_COMM_WORLD_RANK=1\|PMI_RANK=1\|PMIX_RANK=1"; then
        victim=$p
    fi
done
[ -n "$victim" ] || { wait $MP; echo "skip: cannot find rank 1's process (launcher without OMPI_COMM_WORLD_RANK)"; exit 77; }
kill -9 "$victim"
# no hang: the launcher must end the job
i=0
while kill -0 $MP 2>/dev/null && [ $i -lt 600 ]; do sleep 0.1; i=$((i + 1)); done
if kill -0 $MP 2>/dev/null; then kill -9 $MP; fail "the job hung after rank 1 was killed"; fi
wait $MP
rc=$?
cat "$T/kill.out"
[ $rc -ne 0 ] || {
    # the job may have finished between the poll and the kill
    complete=$(HDF5_USE_FILE_LOCKING=FALSE $PY -c "import h5py; print(bool(h5py.File('$T/k.h5','r').attrs['complete']))")
    [ "$complete" = True ] && { echo "skip: the capture finished before the kill"; exit 77; }
    fail "mpiexec returned 0 after a rank was killed"
}
grep -qi "rank 1" "$T/kill.out" || fail "the launcher's message does not name rank 1"
n=$(committed)
echo "killed rank 1 (pid $victim): mpiexec exit $rc, $n documents committed"
$MPIEXEC -np 3 "$STRATA" capture "$MODEL" --hooks "$HB" --text-file "$T/big.txt" --batch 2 \
    --out "$T/k.h5" --threads 1 --resume || fail "--resume on 3 ranks failed"
same "$T/bigref.h5" "$T/k.h5" "killed + resumed"
echo "ok: killed rank -> --resume -np 3 equals the uninterrupted capture"

# 4. bad input
rm -f "$T/nompi.h5"
if $MPIEXEC --version 2>&1 | grep -q "Open MPI\|OpenRTE"; then
    # Open MPI with its MPI-IO components excluded: MPI_File_open fails as on a file system
    # without MPI-IO support
    if OMPI_MCA_io='^ompio,romio321' $MPIEXEC -np 2 "$STRATA" capture "$MODEL" --hooks "$HB" \
            --text-file "$T/two.txt" --out "$T/nompi.h5" --threads 1 --quiet > "$T/nompi.out" 2>&1; then
        fail "a capture without MPI-IO succeeded"
    fi
    grep -q "nompi.h5: the file system does not support MPI-IO" "$T/nompi.out" \
        || { cat "$T/nompi.out"; fail "no MPI-IO message naming the file"; }
    [ ! -e "$T/nompi.h5" ] || fail "a file was left without MPI-IO"
    echo "ok: without MPI-IO: $(grep -m1 'does not support' "$T/nompi.out" | cut -c1-120)..."
fi
if $MPIEXEC -np 2 "$STRATA" capture "$MODEL" --hooks "$HB" --text-file "$T/two.txt" --out "$T/cz.h5" \
        --compress --threads 1 --quiet > "$T/cz.out" 2>&1; then fail "--compress accepted"; fi
grep -q "compress is not implemented for a distributed capture" "$T/cz.out" || { cat "$T/cz.out"; fail "--compress message"; }
echo "ok: --compress refused"
# an interrupted serial file: only a serial run continues it
cp "$T/bigref.h5" "$T/s.h5"
$PY - "$T/s.h5" <<'EOF'
import h5py, hashlib, struct, sys
with h5py.File(sys.argv[1], "r+") as f:   # as a killed serial capture leaves it: 10 committed
    off, to, tb, tok = f["docs/offsets"][:], f["docs/text_offsets"][:], f["docs/text_bytes"][:], f["tokens"][:]
    h = hashlib.sha256()                  # input_sha256 of the first 10 documents (docs/FORMAT.md)
    for i in range(10):
        h.update(struct.pack("<q", off[i + 1] - off[i])); h.update(tok[off[i]:off[i + 1]].astype("<i4").tobytes())
        h.update(struct.pack("<q", to[i + 1] - to[i])); h.update(tb[to[i]:to[i + 1]].tobytes())
    f.attrs["n_docs"] = 10; f.attrs["n_rows"] = int(f["docs/row_offsets"][10])
    f.attrs["n_tokens"] = int(off[10]); f.attrs["complete"] = False
    f.attrs.modify("input_sha256", h.hexdigest().encode())
    del f["docs/text"]
EOF
sum1=$(md5sum < "$T/s.h5")
if $MPIEXEC -np 2 "$STRATA" capture "$MODEL" --hooks "$HB" --text-file "$T/big.txt" --batch 2 \
        --out "$T/s.h5" --resume --threads 1 --quiet > "$T/s.out" 2>&1; then fail "resumed a serial file on 2 ranks"; fi
grep -q "was begun by a serial capture" "$T/s.out" || { cat "$T/s.out"; fail "serial-file message"; }
[ "$sum1" = "$(md5sum < "$T/s.h5")" ] || fail "the refused resume changed the file"
echo "ok: a serial file's distributed --resume is refused, file unchanged"
echo "all distributed capture checks passed"
