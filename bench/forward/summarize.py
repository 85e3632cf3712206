#!/usr/bin/python3
"""Turns bench/forward/run.sh's results.jsonl into the markdown tables of RESULTS.md.

usage: bench/forward/summarize.py [RESULTS_JSONL]   (default /tmp/strata-bench-forward/results.jsonl)
"""
import json
import sys
from collections import defaultdict

path = sys.argv[1] if len(sys.argv) > 1 else "/tmp/strata-bench-forward/results.jsonl"
rows = [json.loads(l) for l in open(path) if l.startswith("{")]
fwd = defaultdict(list)
for r in rows:
    key = (r["corename"], r["mode"], r["B"], r["T"], r["threads"], r.get("omp_wait_policy", "passive"))
    fwd[key].append(r)


def get(core, mode, B, T, nt, pol="passive"):
    v = fwd.get((core, mode, B, T, nt, pol))
    return min(v, key=lambda r: r["best_s"]) if v else None


cores = []
for r in rows:
    if r["corename"] not in cores:
        cores.append(r["corename"])
print("### Prefill (logits of the last position) and matmul efficiency\n")
print("| OpenBLAS core | threads | B x T | strata s | tokens/s | matmul GFLOP/s (effective) "
      "| same sgemm calls s | sgemm GFLOP/s | strata vs sgemm | CPU s strata / sgemm |")
print("|---|---|---|---|---|---|---|---|---|---|")
for c in cores:
    for nt in (1, 2):
        for B, T in ((8, 128), (1, 512)):
            f, s = get(c, "last", B, T, nt), get(c, "sgemm", B, T, nt)
            if not f or not s:
                continue
            print("| %s | %d | %dx%d | %.2f | %.0f | %.1f | %.2f | %.1f | %.0f%% | %.2f / %.2f |" % (
                c, nt, B, T, f["best_s"], f["tokens_per_s"], f["matmul_gflops_effective"], s["best_s"],
                s["gflops"], 100 * s["best_s"] / f["best_s"], f["cpu_s"], s["cpu_s"]))
print("\n### Capture of every blocks.*.hook_resid_post into memory (8x128, 2 threads)\n")
print("| OpenBLAS core | forward without capture s (runs) | with capture s (runs) | overhead (best vs best) | captured MB |")
print("|---|---|---|---|---|")
for c in cores:
    b = [r["best_s"] for r in fwd.get((c, "base", 8, 128, 2, "passive"), [])]
    k = [r["best_s"] for r in fwd.get((c, "capture", 8, 128, 2, "passive"), [])]
    if b and k:
        cm = fwd[(c, "capture", 8, 128, 2, "passive")][0]["capture_mb"]
        print("| %s | %s | %s | %+.1f%% | %.0f |" % (c, ", ".join("%.2f" % x for x in b),
              ", ".join("%.2f" % x for x in k), 100 * (min(k) / min(b) - 1), cm))
print("\n### Memory (peak RSS, 2 threads)\n")
print("| OpenBLAS core | run | peak RSS MB | weights MB | activations MB | logits out MB | capture MB | RSS / (weights + activations + outputs) |")
print("|---|---|---|---|---|---|---|---|")
for c in cores:
    for mode in ("last", "base", "capture", "all"):
        f = get(c, mode, 8, 128, 2)
        if not f:
            continue
        need = f["weights_mb"] + f["activations_mb"] + f["logits_mb"] + f["capture_mb"]
        print("| %s | %s 8x128 | %.0f | %.0f | %.0f | %.0f | %.0f | %.2f |" % (
            c, mode, f["peak_rss_mb"], f["weights_mb"], f["activations_mb"], f["logits_mb"], f["capture_mb"],
            f["peak_rss_mb"] / need))
print("\n### Where the time goes (8x128, 2 threads, wall s summed over 12 layers)\n")
for c in cores:
    f = get(c, "profile", 8, 128, 2)
    if f:
        st = f["stages_s"]
        tot = st["sum"]
        print("- %s: total %.2f s: " % (c, tot) + ", ".join(
            "%s %.2f (%.0f%%)" % (k, v, 100 * v / tot) for k, v in st.items() if k != "sum" and v >= 0.005))
print("\n### Logits everywhere vs last position only (8x128, 2 threads)\n")
for c in cores:
    a, l = get(c, "all", 8, 128, 2), get(c, "last", 8, 128, 2)
    if a and l:
        print("- %s: all positions %.2f s (%.0f tok/s, +%.1f GFLOP unembedding, %.0f MB of logits) vs last only %.2f s (%.0f tok/s)"
              % (c, a["best_s"], a["tokens_per_s"], a["unembed_gflop"], a["logits_mb"], l["best_s"], l["tokens_per_s"]))
print("\n### OMP_WAIT_POLICY (8x128, 2 threads, prefill)\n")
for c in cores:
    u, p = get(c, "last", 8, 128, 2, "unset"), get(c, "last", 8, 128, 2)
    if u and p:
        print("- %s: passive %.2f s, unset (spin) %.2f s" % (c, p["best_s"], u["best_s"]))
