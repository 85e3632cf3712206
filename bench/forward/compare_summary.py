#!/usr/bin/python3
"""Medians and ratios of a bench/forward/compare.sh run: python3 compare_summary.py compare.jsonl"""
import json
import statistics
import sys
from collections import defaultdict


def med(v):
    return statistics.median(v) if v else float("nan")


def main():
    rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip().startswith("{")]
    g = defaultdict(list)
    for r in rows:
        if "note" in r:
            if r["note"].startswith("start"):
                print("#", r["note"], "| load", r["load"])
            continue
        if r.get("engine") == "llama.cpp":
            name = r.get("model_filename", "")
            m = "llama110m" if "llama" in name.split("/")[-1] else "gpt2s"
            cpu = r.get("cpu_per_rep_s", 0)
            if r.get("n_gen", 0) > 0:
                g[("ll_dec", m, r["n_threads"])].append(r["avg_ts"])
                if cpu > 0:
                    g[("ll_dec_cpu", m, r["n_threads"])].append(r["n_gen"] / cpu)
            else:
                g[("ll_pf", r["n_prompt"], r["n_threads"])].append(r["avg_ts"])
                if cpu > 0:
                    g[("ll_pf_cpu", r["n_prompt"], r["n_threads"])].append(r["n_prompt"] / cpu)
        elif r.get("mode") == "triad":
            g[("triad", r["threads"])].append(r["gb_per_s"])
            g[("read", r["threads"])].append(r["read_gb_per_s"])
            if "read_gb_per_cpu_s" in r:
                g[("read_cpu", r["threads"])].append(r["read_gb_per_cpu_s"])
        elif r.get("mode") == "last":
            g[("st_pf", r["T"], r["threads"])].append(r["tokens_per_s"])
            g[("st_pf_gf", r["T"], r["threads"])].append(r["matmul_gflops_effective"])
            g[("st_pf_cpu", r["T"], r["threads"])].append(r["B"] * r["T"] / r["cpu_s"])
            g[("core",)].append(r["corename"])
            g[("st_pf_gfcpu", r["T"], r["threads"])].append((r["matmul_gflop"] + r["unembed_gflop"]) / r["cpu_s"])
        elif r.get("mode") == "sgemm":
            g[("sgemm", r["T"], r["threads"])].append(r["gflops"])
            g[("sgemm_cpu", r["T"], r["threads"])].append(r["gflops"] * r["best_s"] / r["cpu_s"])
        elif r.get("mode") == "packed_vs_sgemm":
            g[("pk", r["N"], r["threads"])].append(r["packed_gflops"])
            g[("pk_sg", r["N"], r["threads"])].append(r["sgemm_gflops"])
            g[("pk_cpu", r["N"], r["threads"])].append(r["packed_gflops_cpu"])
        elif r.get("mode") == "decode":
            g[("st_dec", r["model"], r["threads"])].append(r["tokens_per_s"])
            g[("st_dec_gb", r["model"], r["threads"])].append(r["weight_gb_per_s"])
            g[("st_dec_cpu", r["model"], r["threads"])].append(r["ngen"] / r["cpu_s"])
            g[("st_dec_gbcpu", r["model"], r["threads"])].append(r["weight_gb_per_s"] * r["best_s"] / r["cpu_s"])
    if g[("core",)]:
        print("# OpenBLAS kernel:", g[("core",)][0], "| medians of", len(g[("st_pf", 128, 1)]), "rounds")
    print("\n| prefill | threads | strata tok/s | llama.cpp tok/s | ratio | strata matmul GFLOP/s | "
          "OpenBLAS sgemm GFLOP/s (same products) | share of sgemm | packed products alone GFLOP/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for T in (128, 512):
        for nt in (1, 2):
            s, l = med(g[("st_pf", T, nt)]), med(g[("ll_pf", T, nt)])
            gf, sg, pk = med(g[("st_pf_gf", T, nt)]), med(g[("sgemm", T, nt)]), med(g[("pk", T, nt)])
            print("| 1x%d | %d | %.0f | %.0f | %.2fx | %.1f | %.1f | %.0f%% | %.1f |" %
                  (T, nt, s, l, s / l, gf, sg, 100 * gf / sg, pk))
    print("\nTokens per CPU-second (process CPU time; llama.cpp: per repetition, load and warm-up "
          "excluded) -- the figure a loaded machine disturbs least:\n")
    print("| work | threads | strata | llama.cpp | ratio |")
    print("|---|---|---|---|---|")
    for T in (128, 512):
        for nt in (1, 2):
            s, l = med(g[("st_pf_cpu", T, nt)]), med(g[("ll_pf_cpu", T, nt)])
            print("| prefill 1x%d | %d | %.0f | %.0f | %.2fx |" % (T, nt, s, l, s / l))
    for m in ("gpt2s", "llama110m"):
        for nt in (1, 2):
            s, l = med(g[("st_dec_cpu", m, nt)]), med(g[("ll_dec_cpu", m, nt)])
            print("| decode %s tg128 | %d | %.1f | %.1f | %.2fx |" % (m, nt, s, l, s / l))
    print("\nMatrix-product efficiency per CPU-second (GFLOP per second of process CPU time):\n")
    print("| prefill | threads | strata forward, matmul GFLOP/CPU-s | OpenBLAS sgemm, same products | "
          "share of sgemm | packed products alone |")
    print("|---|---|---|---|---|---|")
    for T in (128, 512):
        for nt in (1, 2):
            f, sg, pk = med(g[("st_pf_gfcpu", T, nt)]), med(g[("sgemm_cpu", T, nt)]), med(g[("pk_cpu", T, nt)])
            print("| 1x%d | %d | %.0f | %.0f | %.0f%% | %.0f |" % (T, nt, f, sg, 100 * f / sg, pk))
    print("\nDecode weight stream per CPU-second (GB/s while a core runs) against a read-only "
          "stream per CPU-second, same run:\n")
    print("| model | threads | strata weights GB/CPU-s | read-only stream GB/CPU-s | share |")
    print("|---|---|---|---|---|")
    for m in ("gpt2s", "llama110m"):
        for nt in (1, 2):
            w, rd = med(g[("st_dec_gbcpu", m, nt)]), med(g[("read_cpu", nt)])
            print("| %s | %d | %.1f | %.1f | %.0f%% |" % (m, nt, w, rd, 100 * w / rd))
    print("\n| decode tg128 | threads | strata tok/s | llama.cpp tok/s | ratio | strata weight GB/s | "
          "triad GB/s | share of triad | read-only stream GB/s | share of read |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for m in ("gpt2s", "llama110m"):
        for nt in (1, 2):
            s, l = med(g[("st_dec", m, nt)]), med(g[("ll_dec", m, nt)])
            gb, tr, rd = med(g[("st_dec_gb", m, nt)]), med(g[("triad", nt)]), med(g[("read", nt)])
            print("| %s | %d | %.1f | %.1f | %.2fx | %.1f | %.1f | %.0f%% | %.1f | %.0f%% |" %
                  (m, nt, s, l, s / l, gb, tr, 100 * gb / tr, rd, 100 * gb / rd))


if __name__ == "__main__":
    main()
