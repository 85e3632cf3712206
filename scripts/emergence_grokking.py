#!/usr/bin/env python3
"""Summary table of the grokking study (docs/EMERGENCE.md, section 2) from its sweep files.

usage: emergence_grokking.py sweep_frac<F>_seed<S>.json ...      (standard library only)

Per run (one split F, one seed): the first checkpoint step with train accuracy >= 0.99
("memorised"), the first with test accuracy >= 0.5 and >= 0.9, the gap between memorised and
test >= 0.9, the test accuracy's transition as `strata sweep` reported it (steepest interval,
10-90 % range, sharpness, total change), the test accuracy at the end and its minimum after
first reaching 0.9 (instability), and the weight norm and the participation ratio of the
residual stream after the block (geometry:pr@1) at step 0, at memorisation, at both ends of
the steepest test interval and at the end. "-" where a threshold is never reached.
"""
import json
import re
import sys

TRAIN = "task:train_task.jsonl:exact_match"
TEST = "task:test_task.jsonl:exact_match"


def first_at(points, key, level):
    for p in points:
        if p["measures"][key] >= level:
            return p["step"]
    return None


def at_step(points, step, key):
    for p in points:
        if p["step"] == step:
            return p["measures"].get(key)
    return None


def fmt(v, spec="{:.0f}"):
    return "-" if v is None else spec.format(v)


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("split seed memorised test>=0.5 test>=0.9 gap | test: steep(lo-hi) x10-x90 sharpness change "
          "final min-after-0.9 | weight norm: 0 / memorised / steep lo / steep hi / end | "
          "PR@1: 0 / memorised / steep lo / steep hi / end")
    for path in sys.argv[1:]:
        m = re.search(r"frac([0-9.]+)_seed([0-9]+)\.json$", path)
        split, seed = (m.group(1), m.group(2)) if m else (path, "?")
        with open(path) as f:
            sw = json.load(f)
        pts = sorted(sw["points"], key=lambda p: p["step"])
        mem = first_at(pts, TRAIN, 0.99)
        t50 = first_at(pts, TEST, 0.5)
        t90 = first_at(pts, TEST, 0.9)
        gap = t90 - mem if t90 is not None and mem is not None else None
        tr = next(t for t in sw["transitions"] if t["measure"] == TEST)
        after = [p["measures"][TEST] for p in pts if t90 is not None and p["step"] >= t90]
        lo, hi, end = tr["x_steep_lo"], tr["x_steep_hi"], pts[-1]["step"]
        wn = [at_step(pts, s, "weight_norm") for s in (0, mem, lo, hi, end)]
        pr = [at_step(pts, s, "geometry:pr@1") for s in (0, mem, lo, hi, end)]
        print(f"{split} {seed} {fmt(mem)} {fmt(t50)} {fmt(t90)} {fmt(gap)} | "
              f"{tr['x_steep']:.0f}({lo:.0f}-{hi:.0f}) {fmt(tr['x10'])}-{fmt(tr['x90'])} "
              f"{tr['sharpness']:.2f} {tr['total_change']:+.3f} {pts[-1]['measures'][TEST]:.3f} "
              f"{fmt(min(after) if after else None, '{:.3f}')} | "
              + " / ".join(fmt(v, "{:.1f}") for v in wn) + " | "
              + " / ".join(fmt(v, "{:.2f}") for v in pr))


if __name__ == "__main__":
    main()
