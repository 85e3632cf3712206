"""A tight address-space limit (ulimit -v) fails fast with a clear message
(issue: reliability, defect 13).  Before: Debian's OpenBLAS 0.3.21 spins
forever in blas_memory_alloc when its 128 MiB per-thread buffer cannot be
allocated, so `strata run` under `ulimit -v 100000` never returned.

Skipped for sanitizer builds (AddressSanitizer reserves terabytes of address
space and cannot run under RLIMIT_AS at all)."""
import os
import resource
import subprocess

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
CLI = os.environ.get("STRATA_CLI", "")
SHARED = os.environ.get("STRATA_SHARED_DIR", os.path.join(HERE, "..", "..", "..", "shared"))
MODEL = os.path.join(SHARED, "models", "stories260K", "hf")

pytestmark = [
    pytest.mark.skipif(not os.path.exists(CLI) or not os.path.isdir(MODEL),
                       reason="needs STRATA_CLI and the stories260K model"),
    pytest.mark.skipif(os.environ.get("STRATA_SANITIZED") == "1",
                       reason="AddressSanitizer cannot run under RLIMIT_AS"),
]


def run_limited(kib, *args, env=None):
    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (kib << 10, kib << 10))
    e = dict(os.environ)
    e.update(env or {})
    return subprocess.run([CLI, *args], capture_output=True, text=True, timeout=60,
                          preexec_fn=limit, env=e)


@pytest.mark.parametrize("kib", [100000, 200000])
def test_tight_limit_fails_fast(kib):
    r = run_limited(kib, "run", MODEL, "--ids", "1,403", "--top", "1")
    assert r.returncode == 1, (r.returncode, r.stderr)
    assert "address-space limit (ulimit -v)" in r.stderr and "OPENBLAS_NUM_THREADS=1" in r.stderr


def test_one_blas_thread_needs_less():
    r = run_limited(450000, "run", MODEL, "--ids", "1,403", "--top", "1",
                    env={"OPENBLAS_NUM_THREADS": "1"})
    assert r.returncode == 0, r.stderr
