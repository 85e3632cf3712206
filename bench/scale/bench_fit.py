#!/usr/bin/python3
"""Strong scaling of the distributed probe fit (and PCA, CKA) from 1 to N ranks.

Writes a capture-format file (h5py) of R rows x d float32 for one hook with a
noisy binary label, then runs, interleaved and repeated:

  serial   the serial build's `strata probe F --label y --json`
  mpi1     the MPI build, one rank (no mpirun: serial semantics)
  mpiN     `mpirun -np N` of the MPI build

each with one thread per rank (OMP_NUM_THREADS = OPENBLAS_NUM_THREADS = 1), and
prints the wall time and the CPU time (all ranks) of every run, the medians per
configuration, the speedup mpi1 / mpiN, and the L-BFGS iteration count (all ranks run the same L-BFGS).
`serial` vs `mpi1` shows what the MPI build costs a one-process run; pass
--serial-base to also time another serial CLI (e.g. one built before the
distributed fitting existed) to show the serial build is not slowed.

usage: bench_fit.py SERIAL_CLI MPI_CLI [--rows 120000] [--d 512] [--np 2] [--reps 3]
                    [--mem-limit 64M] [--what probe,pca,cka] [--serial-base CLI] [--dir /tmp]
"""
import argparse
import json
import os
import resource
import statistics
import subprocess
import time

import h5py
import numpy as np

ap = argparse.ArgumentParser()
ap.add_argument("serial")
ap.add_argument("mpi")
ap.add_argument("--rows", type=int, default=120000)
ap.add_argument("--d", type=int, default=512)
ap.add_argument("--np", type=int, default=2)
ap.add_argument("--reps", type=int, default=3)
ap.add_argument("--mem-limit", default="64M")
ap.add_argument("--what", default="probe")
ap.add_argument("--serial-base", default=None)
ap.add_argument("--dir", default="/tmp")
ap.add_argument("--keep", action="store_true")
a = ap.parse_args()
R, d = a.rows, a.d
path = os.path.join(a.dir, f"strata_bench_scale_{R}x{d}.h5")
if not os.path.exists(path):
    rng = np.random.default_rng(0)
    direction = rng.normal(size=d).astype(np.float32) / np.sqrt(d)
    mix = (rng.normal(size=(d, d)) / np.sqrt(d)).astype(np.float32)
    t = time.time()
    with h5py.File(path, "w") as f:
        f.attrs["format"] = "strata-activations"
        f.attrs["format_version"] = "1.0"
        f.attrs["complete"] = True
        f.attrs["hooks"] = ["blocks.0.hook_resid_post", "blocks.1.hook_resid_post"]
        f.attrs["labels"] = ["y"]
        f.attrs["n_rows"] = np.int64(R)
        f.attrs["n_tokens"] = np.int64(R)
        f.create_dataset("tokens", data=(np.arange(R) % 5000).astype(np.int32))
        f.create_dataset("rows", data=np.arange(R, dtype=np.int64))
        f.create_dataset("docs/offsets", data=np.arange(0, R + 1, 100, dtype=np.int64))
        chunk = (max(1, (1 << 20) // (4 * d)), d)
        d0 = f.create_dataset("acts/blocks.0.hook_resid_post", (R, d), np.float32, chunks=chunk)
        d1 = f.create_dataset("acts/blocks.1.hook_resid_post", (R, d), np.float32, chunks=chunk)
        ys = f.create_dataset("labels/y", (R,), np.float32)
        step = 20000
        for r0 in range(0, R, step):
            n = min(step, R - r0)
            z = rng.normal(size=(n, d)).astype(np.float32)
            X = z @ mix + 5.0 * (np.arange(d) % 17 == 0)   # correlated, some large means
            y = ((z @ direction) + rng.normal(size=n) * 0.7 > 0).astype(np.float32)
            d0[r0:r0 + n] = X
            d1[r0:r0 + n] = np.tanh(X) + 0.1 * X
            ys[r0:r0 + n] = y
    print(f"wrote {path} ({os.path.getsize(path) / 2**20:.0f} MiB) in {time.time() - t:.0f} s")

env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", STRATA_QUIET="1",
           OMPI_ALLOW_RUN_AS_ROOT="1", OMPI_ALLOW_RUN_AS_ROOT_CONFIRM="1",
           OMPI_MCA_mpi_yield_when_idle="1")  # a waiting rank yields its core (shared machine)
cmds = {
    "probe": ["probe", path, "--label", "y", "--hooks", "blocks.0.hook_resid_post", "--json",
              "--mem-limit", a.mem_limit],
    "pca": ["pca", path, "--hooks", "blocks.0.hook_resid_post", "-k", "10", "--json"],
    "cka": ["cka", path, "--json"],
}
configs = [("serial", [a.serial]), ("mpi1", [a.mpi]),
           (f"mpi{a.np}", ["mpirun", "--oversubscribe", "-np", str(a.np), a.mpi])]
if a.serial_base:
    configs.insert(1, ("serial_base", [a.serial_base]))
times = {}
cpus = {}
for what in a.what.split(","):
    for rep in range(a.reps):
        for name, pre in configs:       # interleaved: one run of each, then again
            t = time.time()
            ru0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            out = subprocess.run(pre + cmds[what], env=env, capture_output=True, text=True)
            dt = time.time() - t
            ru1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu = (ru1.ru_utime - ru0.ru_utime) + (ru1.ru_stime - ru0.ru_stime)
            if out.returncode != 0:
                raise SystemExit(f"{name} {what} failed: {out.stderr[-2000:]}")
            extra = ""
            if what == "probe":
                r = json.loads(out.stdout)["results"][0]
                extra = f" n_iter {r['n_iter']} test_acc {r['test_accuracy']:.4f} fit_s {r['fit_seconds']:.2f}"
            print(f"{what:5s} {name:11s} rep {rep}: {dt:7.2f} s wall, {cpu:7.2f} CPU-s (all ranks){extra}",
                  flush=True)
            times.setdefault((what, name), []).append(dt)
            cpus.setdefault((what, name), []).append(cpu)
print()
for what in a.what.split(","):
    med = {n: statistics.median(times[(what, n)]) for n, _ in configs}
    line = ", ".join(f"{n} {v:.2f} s" for n, v in med.items())
    print(f"{what}: median wall {line}; speedup mpi1/mpi{a.np} = {med['mpi1'] / med[f'mpi{a.np}']:.2f}x")
    mc = {n: statistics.median(cpus[(what, n)]) for n, _ in configs}
    print(f"{what}: median CPU-s " + ", ".join(f"{n} {v:.2f}" for n, v in mc.items()))
if not a.keep:
    os.remove(path)
