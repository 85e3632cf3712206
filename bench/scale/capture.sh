#!/bin/sh
# bench/scale/capture.sh — strong scaling of `strata capture` from 1 to 2 MPI ranks, 1 thread each.
#
# usage: bench/scale/capture.sh SERIAL_STRATA MPI_STRATA MODEL [DOCS] [REPS] [HOOKS]
#   SERIAL_STRATA  the default (serial) build's strata, e.g. build/strata
#   MPI_STRATA     the -DSTRATA_MPI=ON build's strata, e.g. build-mpi/strata
#
# Runs, interleaved REPS times (the machine may be shared: each round runs every variant once):
#   serial   SERIAL_STRATA capture ...                (the default build)
#   mpi-1    MPI_STRATA capture ... without mpirun    (one rank: the serial code path, MPI build)
#   np-1     mpirun -np 1 MPI_STRATA capture ...
#   np-2     mpirun -np 2 MPI_STRATA capture ...      (the distributed path)
# (VARIANTS="serial np-2" runs a subset.)
# on a generated corpus of DOCS lines (lengths 3..90 words), --batch 8 --threads 1, and prints
# wall seconds and the CPU seconds of the whole run (user + sys of every process), and the
# median ratios: serial / np-2 (strong scaling), serial / mpi-1 (the MPI build's one-rank
# cost).  Every np-2 file is checked equal to the serial one (bench/scale/same.py).
set -eu
SERIAL=$1
MPI=$2
MODEL=$3
DOCS=${4:-3000}
REPS=${5:-3}
HOOKS=${6:-blocks.*.hook_resid_post,blocks.*.mlp.hook_post}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d "${TMPDIR:-/tmp}/strata-scale.XXXXXX")
trap 'rm -rf "$T"' EXIT
export OMP_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1 STRATA_QUIET=1
# Open MPI busy-polls while a rank waits in a collective; on a shared machine (this one) that
# burns the CPU the other rank needs, so ranks yield when idle (a dedicated node would not).
export OMPI_MCA_mpi_yield_when_idle=${OMPI_MCA_mpi_yield_when_idle:-1}
MPIRUN=${MPIRUN:-mpirun}
if $MPIRUN --version 2>&1 | grep -q "Open MPI"; then MPIRUN="$MPIRUN --oversubscribe --bind-to none"; fi
/usr/bin/python3 - "$T/corpus.txt" "$DOCS" <<'EOF'
import random, sys
random.seed(1)
words = ("once upon a time there was a little girl named lily she liked to play with her dog "
         "in the park one day they saw a big red ball and ran home to tell her mom").split()
with open(sys.argv[1], "w") as f:
    for _ in range(int(sys.argv[2])):
        f.write(" ".join(random.choice(words) for _ in range(random.choice([3, 8, 20, 40, 60, 90]))).capitalize() + ".\n")
EOF
ARGS="--hooks $HOOKS --text-file $T/corpus.txt --batch 8 --threads 1 --quiet --overwrite"
# one timed run: prints "wall cpu" (seconds; cpu = user + sys of the children)
timed() {
    /usr/bin/python3 - "$@" <<'EOF'
import os, subprocess, sys, time
t0 = time.perf_counter()
r0 = os.times()
subprocess.run(sys.argv[1:], check=True)
r1 = os.times()
print(f"{time.perf_counter() - t0:.3f} {(r1.children_user - r0.children_user) + (r1.children_system - r0.children_system):.3f}")
EOF
}
echo "corpus: $DOCS documents; hooks $HOOKS; $(getconf _NPROCESSORS_ONLN) CPUs; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf "%-4s %-7s %9s %9s\n" rep variant wall_s cpu_s
: > "$T/times"
i=1
while [ "$i" -le "$REPS" ]; do
    for v in ${VARIANTS:-serial mpi-1 np-1 np-2}; do
        case $v in
            serial) r=$(timed "$SERIAL" capture "$MODEL" $ARGS --out "$T/serial.h5") ;;
            mpi-1)  r=$(timed "$MPI" capture "$MODEL" $ARGS --out "$T/mpi1.h5") ;;
            np-1)   r=$(timed $MPIRUN -np 1 "$MPI" capture "$MODEL" $ARGS --out "$T/np1.h5") ;;
            np-2)   r=$(timed $MPIRUN -np 2 "$MPI" capture "$MODEL" $ARGS --out "$T/np2.h5") ;;
        esac
        printf "%-4s %-7s %9s %9s\n" "$i" "$v" $r
        echo "$v $r" >> "$T/times"
    done
    /usr/bin/python3 "$HERE/same.py" "$T/serial.h5" "$T/np2.h5" > /dev/null || { echo "np-2 file differs"; exit 1; }
    i=$((i + 1))
done
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
/usr/bin/python3 - "$T/times" <<'EOF'
import statistics, sys
t = {}
for line in open(sys.argv[1]):
    v, w, c = line.split()
    t.setdefault(v, []).append((float(w), float(c)))
med = {v: (statistics.median(x[0] for x in r), statistics.median(x[1] for x in r)) for v, r in t.items()}
for v, (w, c) in med.items():
    print(f"median {v:7s} wall {w:8.2f} s  cpu {c:8.2f} s")
g = lambda v, i: med[v][i] if v in med else float("nan")
print(f"strong scaling serial/np-2 (wall): {g('serial', 0) / g('np-2', 0):.2f}x;  "
      f"np-1/np-2: {g('np-1', 0) / g('np-2', 0):.2f}x")
print(f"CPU seconds np-2 / serial: {g('np-2', 1) / g('serial', 1):.2f} (1.00 = no replicated work; "
      f"the wall-clock speedup on 2 idle cores is at most 2 / this)")
print(f"MPI build, one rank, vs serial build (wall): {g('mpi-1', 0) / g('serial', 0):.2f}, "
      f"(cpu): {g('mpi-1', 1) / g('serial', 1):.2f}")
EOF
