#!/usr/bin/env python3
"""Mean over seeds of `strata sweep` size series, with the transition statistics of the mean curve.

usage: emergence_seeds.py SWEEP_SEED0.json SWEEP_SEED1.json ...     (standard library only)

Each file is one seed's sweep over the same model sizes (x = parameters, log axis). Prints, per
measure, every seed's transition (as the sweep reported it) and the statistics of the mean curve,
computed with the definitions of include/strata/transition.h (re-implemented here in a few lines:
steepest interval, sharpness = largest step in the direction of the total change / |change|,
10 % and 90 % crossings interpolated in log10 x).
"""
import json
import math
import sys


def transition(x, y):
    D = y[-1] - y[0]
    if D == 0:
        return None
    s = 1 if D > 0 else -1
    d = [s * (y[i + 1] - y[i]) for i in range(len(y) - 1)]
    k = max(range(len(d)), key=lambda i: (d[i], -i))
    u = [math.log10(v) for v in x]

    def cross(L):
        for i in range(len(y) - 1):
            if s * (y[i] - L) < 0 <= s * (y[i + 1] - L):
                return 10 ** (u[i] + (L - y[i]) / (y[i + 1] - y[i]) * (u[i + 1] - u[i]))
        return float("nan")

    return {"x_steep": 10 ** ((u[k] + u[k + 1]) / 2), "lo": x[k], "hi": x[k + 1],
            "x10": cross(y[0] + 0.1 * D), "x90": cross(y[0] + 0.9 * D), "sharpness": d[k] / abs(D),
            "change": D}


def main():
    runs = [json.load(open(p)) for p in sys.argv[1:]]
    if not runs:
        sys.exit(__doc__)
    names = [m for m in runs[0]["measures"]]
    for m in names:
        print("== %s" % m)
        curves = []
        for path, r in zip(sys.argv[1:], runs):
            pts = sorted((p["n_params"], p["measures"][m]) for p in r["points"] if p["measures"].get(m) is not None)
            curves.append(pts)
            t = next((t for t in r["transitions"] if t["measure"] == m), None)
            if t:
                print("  %-40s sharpness %.3f  steepest %g..%g  x10 %.0f  x90 %.0f  change %+.3f" % (
                    path.split("/")[-1], t["sharpness"], t["x_steep_lo"], t["x_steep_hi"], t["x10"],
                    t["x90"], t["total_change"]))
        xs = [x for x, _ in curves[0]]
        if any([x for x, _ in c] != xs for c in curves):
            print("  (seeds cover different sizes: no mean)")
            continue
        mean = [sum(c[i][1] for c in curves) / len(curves) for i in range(len(xs))]
        print("  mean over %d seeds: %s" % (len(curves), " ".join("%d:%.3f" % (x, v) for x, v in zip(xs, mean))))
        t = transition(xs, mean)
        if t:
            print("  mean curve: sharpness %.3f  steepest %g..%g  x10 %.0f  x90 %.0f  change %+.3f" % (
                t["sharpness"], t["lo"], t["hi"], t["x10"], t["x90"], t["change"]))


if __name__ == "__main__":
    main()
