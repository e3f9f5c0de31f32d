#!/usr/bin/env python3
"""Draws the comparison chart of docs/benchmarks.md as a dependency-free SVG: achieved training
GFLOP/s per configuration for vitgrad and the PyTorch peer (tuned, and stock when given), with the
GEMM ceiling that vitgrad measured in the same run as a dashed line.

  tests/bench/chart.py --tuned tuned.json [--stock stock.json] --out docs/benchmarks.svg
(the JSON files are compare.py --out summaries)
"""
import argparse
import json
import statistics

COLORS = {"vitgrad": "#1f77b4", "PyTorch tuned": "#ff7f0e", "PyTorch stock": "#bbbbbb"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tuned", required=True)
    ap.add_argument("--stock")
    ap.add_argument("--out", required=True)
    ap.add_argument("--title", default="Training step throughput, 2 threads (higher is better)")
    a = ap.parse_args()
    tuned = json.load(open(a.tuned))["rows"]
    stock = {(r["model"], r["batch"]): r for r in json.load(open(a.stock))["rows"]} if a.stock else {}
    series = ["vitgrad", "PyTorch tuned"] + (["PyTorch stock"] if stock else [])
    groups = []
    for r in tuned:
        vals = {"vitgrad": r["vg_gflops"], "PyTorch tuned": r["pt_gflops"]}
        if stock and (r["model"], r["batch"]) in stock:
            vals["PyTorch stock"] = stock[(r["model"], r["batch"])]["pt_gflops"]
        groups.append((f"{r['model']} b{r['batch']}", vals))
    ceiling = statistics.median(r["ceiling"] for r in tuned)

    W, H, left, right, top, bottom = 820, 420, 60, 20, 50, 70
    ymax = max([ceiling] + [v for _, vals in groups for v in vals.values()]) * 1.1
    pw, ph = W - left - right, H - top - bottom
    y = lambda v: top + ph - ph * v / ymax  # noqa: E731
    gw = pw / len(groups)
    bw = gw * 0.8 / len(series)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">',
           f'<rect width="{W}" height="{H}" fill="white"/>',
           f'<text x="{W / 2}" y="20" text-anchor="middle" font-size="15">{a.title}</text>']
    step = 50 if ymax > 200 else 20
    v = 0
    while v <= ymax:
        out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#eee"/>')
        out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v}</text>')
        v += step
    out.append(f'<text x="16" y="{top + ph / 2}" transform="rotate(-90 16 {top + ph / 2})" '
               f'text-anchor="middle">GFLOP/s (3 x forward matmul FLOPs / step time)</text>')
    for i, (name, vals) in enumerate(groups):
        x0 = left + i * gw + gw * 0.1
        for j, s in enumerate(series):
            if s not in vals:
                continue
            x = x0 + j * bw
            out.append(f'<rect x="{x:.1f}" y="{y(vals[s]):.1f}" width="{bw - 2:.1f}" '
                       f'height="{top + ph - y(vals[s]):.1f}" fill="{COLORS[s]}"/>')
            out.append(f'<text x="{x + bw / 2 - 1:.1f}" y="{y(vals[s]) - 3:.1f}" text-anchor="middle" '
                       f'font-size="10">{vals[s]:.0f}</text>')
        out.append(f'<text x="{left + i * gw + gw / 2:.1f}" y="{top + ph + 18}" text-anchor="middle">{name}</text>')
    out.append(f'<line x1="{left}" x2="{W - right}" y1="{y(ceiling):.1f}" y2="{y(ceiling):.1f}" '
               f'stroke="#d62728" stroke-dasharray="6,4"/>')
    out.append(f'<text x="{W - right - 4}" y="{y(ceiling) - 5:.1f}" text-anchor="end" fill="#d62728">'
               f'GEMM ceiling {ceiling:.0f} GFLOP/s (2048³ SGEMM via vg::matmul, median over the runs)</text>')
    lx = left
    for s in series:
        out.append(f'<rect x="{lx}" y="{H - 28}" width="12" height="12" fill="{COLORS[s]}"/>')
        out.append(f'<text x="{lx + 16}" y="{H - 18}">{s}</text>')
        lx += 140
    out.append("</svg>")
    with open(a.out, "w") as f:
        f.write("\n".join(out) + "\n")


if __name__ == "__main__":
    main()
