#!/bin/sh
# Installs the system packages strata needs to build, test and benchmark.
# Debian 12 / Ubuntu 22.04+ (apt). Elsewhere install the equivalents:
#   HDF5 (C library + headers), OpenBLAS, LAPACKE, Check, jansson, PCRE2 (8-bit),
#   pkg-config, CMake >= 3.20, a C11 compiler; for the Python tests numpy, h5py,
#   pytest (scikit-learn and torch optional: tests that need them skip); valgrind
#   (the valgrind_cli test), clang with libFuzzer and libomp (tests/fuzz).
# Usage: scripts/install-deps.sh           (uses sudo when not root)
set -eu
SUDO=""
if [ "$(id -u)" != "0" ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends \
    build-essential cmake pkg-config \
    libhdf5-dev libopenblas-dev liblapacke-dev check libjansson-dev libpcre2-dev \
    python3 python3-venv python3-numpy python3-h5py python3-pytest python3-sklearn \
    valgrind clang libclang-rt-14-dev libomp-dev
