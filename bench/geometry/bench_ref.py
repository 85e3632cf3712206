"""Reference PCA timings: python3 bench_ref.py METHOD X.f32 N D K
METHOD: sklearn_full | sklearn_randomized | numpy_cov_eigh.
Prints one JSON line: seconds (fit only, data already in memory; cpu_seconds:
its CPU time, all threads), the sum of
the top-K explained variance ratios, the top-K ratios, and peak RSS (MiB,
whole process: interpreter + imports + the data array)."""
import json
import resource
import sys
import time

import numpy as np

method, path, n, d, k = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
X = np.fromfile(path, dtype=np.float32).reshape(n, d)
# One pass over the array before the timer (bench_strata.c does the same): on
# this VM the first read of freshly read()-filled pages is ~12x slower than
# the next, which would time the hypervisor, not the PCA.
X.sum(dtype=np.float64)
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
if method.startswith("sklearn"):
    from sklearn.decomposition import PCA
t = time.perf_counter()
c0 = time.process_time()
if method.startswith("sklearn"):
    p = PCA(n_components=k, svd_solver=method.split("_")[1], random_state=0).fit(X)
    evr = p.explained_variance_ratio_
elif method == "numpy_cov_eigh":
    c = np.cov(X, rowvar=False)
    lam = np.linalg.eigh(c)[0][::-1]
    evr = lam[:k] / lam.sum()
else:
    raise SystemExit("unknown method " + method)
sec = time.perf_counter() - t
cpu = time.process_time() - c0
print(json.dumps({"method": method, "seconds": sec, "cpu_seconds": cpu, "evr_sum": float(np.sum(evr)),
                  "evr": [float(v) for v in evr], "dtype": str(X.dtype),
                  "peak_rss_mib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "rss_after_load_mib": rss0}))
