#!/bin/sh
# Installs the system packages strata needs to build, test and benchmark.
# Debian 12 / Ubuntu 22.04+ (apt). Elsewhere install the equivalents:
#   HDF5 (C library + headers), OpenBLAS, LAPACKE, Check, jansson, PCRE2 (8-bit),
#   pkg-config, CMake >= 3.20, a C11 compiler; for the Python tests numpy, h5py,
#   pytest, scikit-learn and torch (the reference checks; tests that need a missing one skip); valgrind
#   (the valgrind_cli test), clang with libFuzzer and libomp (tests/fuzz), strace
#   (fault injection in tests/python/test_capture_faults.py; skipped without it).
# Usage: scripts/install-deps.sh [--mpi]   (uses sudo when not root)
#   --mpi  also Open MPI and Debian's parallel HDF5 for the -DSTRATA_MPI=ON build
#          (docs/SCALE.md); the serial build keeps using the serial HDF5.
set -eu
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config \
    libhdf5-dev libopenblas-dev liblapacke-dev check libjansson-dev libpcre2-dev \
    python3 python3-venv python3-numpy python3-h5py python3-pytest python3-sklearn python3-torch \
    valgrind strace clang libclang-rt-14-dev libomp-dev
if [ "${1:-}" = "--mpi" ]; then
  $SUDO apt-get install -y -q --no-install-recommends \
      openmpi-bin libopenmpi-dev libhdf5-openmpi-dev
elif [ -n "${1:-}" ]; then
  echo "install-deps.sh: unknown option '$1' (only --mpi)" >&2
  exit 2
fi
