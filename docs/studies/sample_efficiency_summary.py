#!/usr/bin/env python3
"""Tables and figures of the ConViT vs DeiT sample-efficiency study (docs/study-sample-efficiency.md).

Reads the run directories that run_sample_efficiency.sh writes (metrics.jsonl, eval.log,
predictions.csv or .csv.gz) and
the test file's provenance (which records are lossless), and writes into OUT_DIR:
  results.md            one row per run, the gap per fraction, per-class accuracy on the lossless part
  gap.svg               ConViT minus DeiT top-1 against the training fraction (ConViT Table 2's shape)
  nonlocality.svg       per-layer non-locality against the epoch, one ConViT and one DeiT run (Fig. 5)
  gates.svg             each GPSA layer's mean gate sigma(lambda) against the epoch (Fig. 6)
Python standard library only (no plotting package): the SVG is written by hand.

    python3 sample_efficiency_summary.py RUNS_DIR OUT_DIR [--provenance PATH]
"""
import argparse
import csv
import gzip
import json
import os
import re
import statistics

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
RUN = re.compile(r"(?P<model>\w+?)_f(?P<frac>[0-9.]+)_s(?P<seed>\d+)$")
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f"]


def read_provenance(path):
    with gzip.open(path, "rt") as f:
        return {int(r["record"]): r["lossless"] == "1" for r in csv.DictReader(f)}


def read_run(path, lossless):
    m = RUN.match(os.path.basename(path))
    if not m or not all(os.path.exists(os.path.join(path, f)) for f in ("DONE", "metrics.jsonl", "eval.log")):
        return None  # unfinished, or skipped
    records = [json.loads(line) for line in open(os.path.join(path, "metrics.jsonl"))]
    ev = open(os.path.join(path, "eval.log")).read()
    top = re.search(r"top-1 ([0-9.]+)%\s+top-5 ([0-9.]+)%", ev)
    images = int(re.search(r"\((\d+) images\)", ev).group(1))
    hit = {k: [0] * 10 for k in ("all", "lossless", "jpeg")}
    seen = {k: [0] * 10 for k in ("all", "lossless", "jpeg")}
    pred = os.path.join(path, "predictions.csv")
    with (open(pred) if os.path.exists(pred) else gzip.open(pred + ".gz", "rt")) as f:
        for r in csv.DictReader(f):
            i, y, p = int(r["index"]), int(r["label"]), int(r["predicted"])
            for part in ("all", "lossless" if lossless[i] else "jpeg"):
                seen[part][y] += 1
                hit[part][y] += y == p
    per = {k: [100.0 * h / s if s else float("nan") for h, s in zip(hit[k], seen[k])] for k in hit}
    return dict(model=m["model"], frac=float(m["frac"]), seed=int(m["seed"]), dir=path,
                records=records, top1=float(top.group(1)), top5=float(top.group(2)), images=images,
                per=per, seen=seen,
                lossless_top1=100.0 * sum(hit["lossless"]) / max(sum(seen["lossless"]), 1),
                lossless_balanced=statistics.mean(per["lossless"]),
                )


class Svg:
    """A line chart: axes with ticks, labelled polylines, a legend."""

    def __init__(self, title, xlabel, ylabel, xs, ys, w=560, h=360, logx=False):
        self.w, self.h, self.logx = w, h, logx
        self.l, self.r, self.t, self.b = 64, 150, 34, 48
        import math
        self.math = math
        self.x0, self.x1 = (math.log10(min(xs)), math.log10(max(xs))) if logx else (min(xs), max(xs))
        lo, hi = min(ys), max(ys)
        pad = 0.08 * (hi - lo or 1.0)
        self.y0, self.y1 = lo - pad, hi + pad
        self.parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
                      f'font-family="sans-serif" font-size="12">',
                      f'<rect width="{w}" height="{h}" fill="white"/>',
                      f'<text x="{w / 2 - self.r / 2 + self.l / 2}" y="20" text-anchor="middle" '
                      f'font-size="14">{title}</text>',
                      f'<text x="{self.l + (w - self.l - self.r) / 2}" y="{h - 10}" '
                      f'text-anchor="middle">{xlabel}</text>',
                      f'<text transform="translate(16,{self.t + (h - self.t - self.b) / 2}) '
                      f'rotate(-90)" text-anchor="middle">{ylabel}</text>']
        self.legend = 0

    def px(self, x):
        v = self.math.log10(x) if self.logx else x
        return self.l + (v - self.x0) / ((self.x1 - self.x0) or 1) * (self.w - self.l - self.r)

    def py(self, y):
        return self.h - self.b - (y - self.y0) / ((self.y1 - self.y0) or 1) * (self.h - self.t - self.b)

    def axes(self, xticks, yticks, fmt="{:g}"):
        p = self.parts
        p.append(f'<rect x="{self.l}" y="{self.t}" width="{self.w - self.l - self.r}" '
                 f'height="{self.h - self.t - self.b}" fill="none" stroke="black"/>')
        for x in xticks:
            X = self.px(x)
            p.append(f'<line x1="{X}" y1="{self.h - self.b}" x2="{X}" y2="{self.h - self.b + 4}" stroke="black"/>')
            p.append(f'<text x="{X}" y="{self.h - self.b + 17}" text-anchor="middle">{fmt.format(x)}</text>')
        for y in yticks:
            Y = self.py(y)
            p.append(f'<line x1="{self.l}" y1="{Y}" x2="{self.w - self.r}" y2="{Y}" stroke="#ddd"/>')
            p.append(f'<text x="{self.l - 6}" y="{Y + 4}" text-anchor="end">{y:g}</text>')

    def hline(self, y, colour="#888"):
        Y = self.py(y)
        self.parts.append(f'<line x1="{self.l}" y1="{Y}" x2="{self.w - self.r}" y2="{Y}" '
                          f'stroke="{colour}" stroke-dasharray="4 3"/>')

    def line(self, xs, ys, colour, label, dash=None, marker=True):
        pts = " ".join(f"{self.px(x):.1f},{self.py(y):.1f}" for x, y in zip(xs, ys))
        d = f' stroke-dasharray="{dash}"' if dash else ""
        self.parts.append(f'<polyline points="{pts}" fill="none" stroke="{colour}" stroke-width="2"{d}/>')
        if marker:
            for x, y in zip(xs, ys):
                self.parts.append(f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="3" fill="{colour}"/>')
        if label:
            Y = self.t + 10 + 18 * self.legend
            X = self.w - self.r + 10
            self.parts.append(f'<line x1="{X}" y1="{Y}" x2="{X + 22}" y2="{Y}" stroke="{colour}" stroke-width="2"{d}/>')
            self.parts.append(f'<text x="{X + 28}" y="{Y + 4}">{label}</text>')
            self.legend += 1

    def points(self, xs, ys, colour):
        for x, y in zip(xs, ys):
            self.parts.append(f'<circle cx="{self.px(x):.1f}" cy="{self.py(y):.1f}" r="4" fill="none" stroke="{colour}"/>')

    def save(self, path):
        with open(path, "w") as f:
            f.write("\n".join(self.parts + ["</svg>"]) + "\n")


def nice_ticks(lo, hi, n=5):
    import math
    step = 10 ** math.floor(math.log10((hi - lo) / n or 1))
    for m in (1, 2, 2.5, 5, 10):
        if (hi - lo) / (m * step) <= n:
            step *= m
            break
    t = math.ceil(lo / step) * step
    out = []
    while t <= hi + 1e-9:
        out.append(round(t, 10))
        t += step
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("runs")
    ap.add_argument("out")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--provenance", default=os.path.normpath(os.path.join(
        here, "..", "..", "..", "shared", "data", "test_batch_provenance.csv.gz")))
    args = ap.parse_args()
    lossless = read_provenance(args.provenance)
    runs = [r for r in (read_run(os.path.join(args.runs, d), lossless) for d in sorted(os.listdir(args.runs))) if r]
    if not runs:
        raise SystemExit(f"no finished runs in {args.runs}")
    os.makedirs(args.out, exist_ok=True)
    runs.sort(key=lambda r: (r["frac"], r["model"], r["seed"]))
    L = []
    L.append("| model | fraction | seed | epochs | final top-1 (10,000) | top-5 | lossless part: top-1 "
             "| lossless part: class-balanced | JPEG part: top-1 |")
    L.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in runs:
        jpeg = r["per"]["jpeg"]
        jpeg_top1 = 100.0 * sum(h * s / 100.0 for h, s in zip(
            [0 if v != v else v for v in jpeg], r["seen"]["jpeg"])) / max(sum(r["seen"]["jpeg"]), 1)
        L.append(f"| {r['model']} | {r['frac']:g} | {r['seed']} | {len(r['records'])} | {r['top1']:.2f} "
                 f"| {r['top5']:.2f} | {r['lossless_top1']:.2f} | {r['lossless_balanced']:.2f} | {jpeg_top1:.2f} |")
    L.append("")
    # The gap per fraction (mean over the seeds both models ran).
    fracs = sorted({r["frac"] for r in runs})
    gap_rows, gaps, gaps_ll = [], [], []
    for f in fracs:
        c = [r for r in runs if r["frac"] == f and r["model"].startswith("convit")]
        d = [r for r in runs if r["frac"] == f and r["model"].startswith("deit")]
        if not c or not d:
            continue
        mc, md = statistics.mean(r["top1"] for r in c), statistics.mean(r["top1"] for r in d)
        lc = statistics.mean(r["lossless_balanced"] for r in c)
        ld = statistics.mean(r["lossless_balanced"] for r in d)
        gaps.append((f, mc - md))
        gaps_ll.append((f, lc - ld))
        per_seed = ", ".join(f"seed {a['seed']}: {a['top1'] - b['top1']:+.2f}" for a in c for b in d
                             if a["seed"] == b["seed"])
        gap_rows.append(f"| {f:g} | {len(c)} | {mc:.2f} | {md:.2f} | **{mc - md:+.2f}** ({per_seed}) "
                        f"| {lc:.2f} | {ld:.2f} | **{lc - ld:+.2f}** |")
    L.append("| fraction | seeds | ConViT top-1 | DeiT top-1 | gap | ConViT lossless bal. "
             "| DeiT lossless bal. | gap |")
    L.append("|---:|---:|---:|---:|---|---:|---:|---|")
    L += gap_rows
    L.append("")
    L.append("Per class on the lossless part of the test file (%; images per class: "
             + ", ".join(f"{CLASSES[k]} {runs[0]['seen']['lossless'][k]}" for k in range(10)) + "):")
    L.append("")
    L.append("| model | fraction | seed | " + " | ".join(CLASSES) + " |")
    L.append("|---|---:|---:|" + "---:|" * 10)
    for r in runs:
        L.append(f"| {r['model']} | {r['frac']:g} | {r['seed']} | "
                 + " | ".join(f"{v:.1f}" for v in r["per"]["lossless"]) + " |")
    L.append("")
    with open(os.path.join(args.out, "results.md"), "w") as f:
        f.write("\n".join(L))
    print("\n".join(L))

    if gaps:
        ys = [g for _, g in gaps] + [g for _, g in gaps_ll] + [0.0]
        s = Svg("ConViT − DeiT, final-epoch test top-1", "fraction of CIFAR-10 training images (log scale)",
                "top-1 gap (points)", fracs, ys, logx=True)
        s.axes(fracs, nice_ticks(s.y0, s.y1))
        s.hline(0.0)
        s.line([f for f, _ in gaps], [g for _, g in gaps], COLOURS[0], "all 10,000 images")
        s.line([f for f, _ in gaps_ll], [g for _, g in gaps_ll], COLOURS[1], "lossless part,", dash="6 3")
        s.parts.append(f'<text x="{s.w - s.r + 38}" y="{s.t + 10 + 18 * 2}">class-balanced</text>')
        s.save(os.path.join(args.out, "gap.svg"))

    # Internals curves: the smallest fraction's seed-0 runs have the most epochs.
    f0 = fracs[0]
    pick = {m: next((r for r in runs if r["frac"] == f0 and r["seed"] == 0 and r["model"].startswith(m)), None)
            for m in ("convit", "deit")}
    series = []
    for m, r in pick.items():
        if not r or "internals" not in r["records"][0]:
            continue
        recs = r["records"]
        init = recs[0].get("internals_init")
        epochs = ([0] if init else []) + [rec["epoch"] + 1 for rec in recs]
        layers = len(recs[0]["internals"]["layers"])
        for li in range(layers):
            vals = ([statistics.mean(init["layers"][li]["nonlocality"])] if init else []) + \
                   [statistics.mean(rec["internals"]["layers"][li]["nonlocality"]) for rec in recs]
            series.append((m, li, epochs, vals, recs[0]["internals"]["layers"][li]["kind"]))
    if series:
        allv = [v for s_ in series for v in s_[3]]
        alle = [e for s_ in series for e in s_[2]]
        s = Svg(f"Non-locality per layer (fraction {f0:g}, seed 0)", "epoch", "mean non-locality (patches)",
                alle, allv, w=640)
        s.axes(nice_ticks(min(alle), max(alle), 6), nice_ticks(s.y0, s.y1))
        for m, li, es, vs, kind in series:
            s.line(es, vs, COLOURS[li % len(COLOURS)], f"{'ConViT' if m == 'convit' else 'DeiT'} L{li + 1} ({kind})",
                   dash=None if m == "convit" else "6 3", marker=False)
        s.save(os.path.join(args.out, "nonlocality.svg"))
    r = pick.get("convit")
    if r and r["records"][0].get("gates"):
        recs = r["records"]
        init = recs[0].get("internals_init")
        es = ([0] if init else []) + [rec["epoch"] + 1 for rec in recs]
        gates = len(recs[0]["gates"])
        allv = []
        lines = []
        for li in range(gates):
            vs = ([statistics.mean(init["layers"][li]["gate"])] if init else []) + \
                 [statistics.mean(rec["gates"][li]) for rec in recs]
            lo = ([min(init["layers"][li]["gate"])] if init else []) + [min(rec["gates"][li]) for rec in recs]
            hi = ([max(init["layers"][li]["gate"])] if init else []) + [max(rec["gates"][li]) for rec in recs]
            allv += lo + hi
            lines.append((li, vs, lo, hi))
        s = Svg(f"ConViT gates σ(λ) (fraction {f0:g}, seed 0)", "epoch", "σ(λ): 1 = positional, 0 = content",
                es, allv + [0.0, 1.0], w=640)
        s.axes(nice_ticks(min(es), max(es), 6), [0, 0.2, 0.4, 0.6, 0.8, 1.0])
        for li, vs, lo, hi in lines:
            c = COLOURS[li % len(COLOURS)]
            s.line(es, vs, c, f"layer {li + 1} mean", marker=False)
            s.line(es, lo, c, None, dash="2 3", marker=False)
            s.line(es, hi, c, None, dash="2 3", marker=False)
        s.parts.append(f'<text x="{s.w - s.r + 10}" y="{s.t + 10 + 18 * len(lines) + 4}">dotted: min/max head</text>')
        s.save(os.path.join(args.out, "gates.svg"))


if __name__ == "__main__":
    main()
