#!/usr/bin/env python3
"""The ability-vs-scale figure of docs/EMERGENCE.md, from the studies' sweep.json files.

usage: emergence_figure.py RESULTS_ROOT OUT.svg      (standard library only)

x: training compute C = 6 * n_params * tokens_seen (FLOPs, log axis): a checkpoint of a training
run sits at its own compute, each model of the size series at its final compute. y: each ability
as measured (accuracies, induction scores, probe accuracies are in [0, 1]); a mean log-probability
is drawn as exp(mean log p), the geometric-mean probability of an answer token.
The steepest interval that `strata sweep` reported for that measure (its transition, x_steep_lo
.. x_steep_hi) is drawn thick, with its sharpness in the legend. Curves whose study has not been
run are left out (listed in the legend as missing).
"""
import json
import math
import os
import sys

# (study, family suffix, measure, label)
CURVES = [
    ("induction", "attn2", "induction", "induction head score (2-layer)"),
    ("induction", "attn2", "task:copy.jsonl:token_accuracy", "copy accuracy (2-layer)"),
    ("induction", "attn1", "induction", "induction head score (1-layer control)"),
    ("grokking", "seed0", "task:train_task.jsonl:exact_match", "modular (40% train, seed 0): train accuracy"),
    ("grokking", "seed0", "task:test_task.jsonl:exact_match", "modular (40% train, seed 0): test accuracy"),
    ("scale", "models", "task:test_task.jsonl:exact_match", "addition exact match (9 sizes, seed 0)"),
    ("scale", "models", "task:test_task.jsonl:answer_logprob", "addition p per token (9 sizes, seed 0)"),
    ("abstraction", "run", "probe:subj_number:acc", "grammar: subject number probe"),
    ("abstraction", "run", "probe:quote_depth:acc", "grammar: quotation depth probe"),
    ("abstraction", "run", "probe:attr:acc", "grammar: attribute probe"),
]
COLORS = ["#1f77b4", "#2ca02c", "#7f7f7f", "#d62728", "#ff7f0e", "#9467bd", "#8c564b",
          "#e377c2", "#17becf", "#bcbd22"]


def load(root, study):
    p = os.path.join(root, study, "sweep_frac0.4_seed0.json" if study == "grokking" else "sweep.json")
    try:
        with open(p) as f:
            return json.load(f)
    except (OSError, ValueError):   # not run, or still running
        return None


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    root, out = sys.argv[1], sys.argv[2]
    curves, missing = [], []
    for i, (study, fam, meas, label) in enumerate(CURVES):
        sw = load(root, study)
        if sw is None:
            missing.append(label)
            continue
        pts = [p for p in sw["points"] if p["family"].rstrip("/").endswith(fam) or
               (fam == "models" and p["family"] == "models")]
        xy = []
        for p in pts:
            v = p["measures"].get(meas)
            if v is None or p["n_params"] is None or not p["tokens_seen"]:
                continue
            xy.append((6.0 * p["n_params"] * p["tokens_seen"], v, p["x"]))
        xy.sort()
        if len(xy) < 2:
            missing.append(label)
            continue
        ys = [y for _, y, _ in xy]
        lo, hi = min(ys), max(ys)
        # accuracies and scores are in [0, 1] as measured; a mean log-probability is shown as
        # exp(mean log p), the geometric-mean probability per token (also in [0, 1])
        norm = [math.exp(y) if meas.endswith("logprob") else y for y in ys]
        tr = next((t for t in sw["transitions"] if t["measure"] == meas and
                   (t["family"].rstrip("/").endswith(fam) or t["family"] == fam)), None)
        seg = None
        if tr and tr.get("x_steep_lo") is not None:
            xs = [x for _, _, x in xy]
            if tr["x_steep_lo"] in xs and tr["x_steep_hi"] in xs:
                seg = (xs.index(tr["x_steep_lo"]), xs.index(tr["x_steep_hi"]))
        curves.append((label, [c for c, _, _ in xy], norm, seg, tr, COLORS[i % len(COLORS)], lo, hi))
    W, H, ML, MR, MT, MB = 980, 560, 70, 330, 40, 50
    allx = [math.log10(c) for cv in curves for c in cv[1]]
    x0, x1 = (min(allx), max(allx)) if allx else (0, 1)
    if x1 == x0:
        x1 = x0 + 1
    pw, ph = W - ML - MR, H - MT - MB

    def sx(c):
        return ML + (math.log10(c) - x0) / (x1 - x0) * pw

    def sy(v):
        return MT + (1 - v) * ph

    o = ['<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif">' % (W, H),
         '<rect width="100%" height="100%" fill="white"/>',
         '<text x="%d" y="22" font-size="15">Abilities vs training compute (6 x parameters x tokens seen); '
         'log-probabilities drawn as exp(mean log p)</text>' % ML,
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ML, MT + ph, ML + pw, MT + ph),
         '<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="black"/>' % (ML, MT, ML, MT + ph)]
    for d in range(math.ceil(x0), math.floor(x1) + 1):
        o.append('<text x="%.1f" y="%d" font-size="11" text-anchor="middle">1e%d</text>' % (sx(10 ** d), MT + ph + 16, d))
        o.append('<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#eee"/>' % (sx(10 ** d), MT, sx(10 ** d), MT + ph))
    for v in (0, 0.5, 1):
        o.append('<text x="%d" y="%.1f" font-size="11" text-anchor="end">%.1f</text>' % (ML - 5, sy(v) + 4, v))
    o.append('<text x="%d" y="%d" font-size="12" text-anchor="middle">training compute (FLOPs, log)</text>' % (ML + pw // 2, H - 10))
    ly = MT
    for label, cx, ny, seg, tr, col, lo, hi in curves:
        pts = " ".join("%.1f,%.1f" % (sx(c), sy(v)) for c, v in zip(cx, ny))
        o.append('<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>' % (col, pts))
        if seg:
            a, b = seg
            o.append('<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="5" opacity="0.6"/>'
                     % (sx(cx[a]), sy(ny[a]), sx(cx[b]), sy(ny[b]), col))
        sharp = "sharpness %.2f" % tr["sharpness"] if tr and tr.get("sharpness") is not None else "flat"
        o.append('<rect x="%d" y="%d" width="12" height="4" fill="%s"/>' % (W - MR + 10, ly + 4, col))
        o.append('<text x="%d" y="%d" font-size="11">%s</text>' % (W - MR + 28, ly + 10, label))
        o.append('<text x="%d" y="%d" font-size="10" fill="#555">%s; range %.3g .. %.3g</text>' % (W - MR + 28, ly + 23, sharp, lo, hi))
        ly += 32
    for label in missing:
        o.append('<text x="%d" y="%d" font-size="10" fill="#999">not run: %s</text>' % (W - MR + 10, ly + 10, label))
        ly += 16
    o.append("</svg>")
    tmp = out + ".tmp"
    with open(tmp, "w") as f:
        f.write("\n".join(o) + "\n")
    os.replace(tmp, out)
    print("wrote %s (%d curves, %d missing)" % (out, len(curves), len(missing)))


if __name__ == "__main__":
    main()
