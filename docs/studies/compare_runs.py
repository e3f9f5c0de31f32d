#!/usr/bin/env python3
"""Two or more `vitgrad train` runs side by side: per-epoch metrics, the final checkpoint's accuracy
on the whole test file and, per class, on its lossless and JPEG parts, and one SVG of the curves.

Each run directory needs metrics.jsonl and, for the final numbers, predictions.csv (or .csv.gz) written by
`vitgrad eval RUN/checkpoint.safetensors --predictions RUN/predictions.csv`.

    python3 compare_runs.py OUT_PREFIX LABEL=RUN_DIR [LABEL=RUN_DIR ...] [--provenance PATH]

writes OUT_PREFIX.md (tables) and OUT_PREFIX.svg (test top-1 and training loss per epoch).
Python standard library only.
"""
import argparse
import csv
import gzip
import json
import os
import statistics

from sample_efficiency_summary import CLASSES, COLOURS, Svg, nice_ticks, read_provenance


def per_class(pred_path, lossless):
    parts = {k: ([0] * 10, [0] * 10) for k in ("all", "lossless", "jpeg")}
    with (gzip.open(pred_path, "rt") if pred_path.endswith(".gz") else open(pred_path)) as f:
        for r in csv.DictReader(f):
            i, y, p = int(r["index"]), int(r["label"]), int(r["predicted"])
            for k in ("all", "lossless" if lossless[i] else "jpeg"):
                parts[k][0][y] += y == p
                parts[k][1][y] += 1
    out = {}
    for k, (hit, seen) in parts.items():
        out[k] = dict(top1=100.0 * sum(hit) / max(sum(seen), 1),
                      per=[100.0 * h / s if s else float("nan") for h, s in zip(hit, seen)], seen=seen)
        out[k]["balanced"] = statistics.mean(out[k]["per"])
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out")
    ap.add_argument("runs", nargs="+", metavar="LABEL=RUN_DIR")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--provenance", default=os.path.normpath(os.path.join(
        here, "..", "..", "..", "shared", "data", "test_batch_provenance.csv.gz")))
    args = ap.parse_args()
    lossless = read_provenance(args.provenance)
    runs = []
    for spec in args.runs:
        label, path = spec.split("=", 1)
        recs = [json.loads(line) for line in open(os.path.join(path, "metrics.jsonl"))]
        pred = next((p for p in (os.path.join(path, "predictions.csv"), os.path.join(path, "predictions.csv.gz"))
                     if os.path.exists(p)), None)
        runs.append(dict(label=label, recs=recs, acc=per_class(pred, lossless) if pred else None))
    L = ["| run | epoch | lr | train loss | test loss | test top-1 | test top-5 | s/epoch |",
         "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in runs:
        for e in r["recs"]:
            L.append(f"| {r['label']} | {e['epoch'] + 1} | {e['lr']:.3g} | {e['train_loss']:.4f} | {e['test_loss']:.4f} "
                     f"| {e['top1']:.2f} | {e['top5']:.2f} | {e['epoch_seconds']:.0f} |")
    L.append("")
    L.append("Final checkpoint, per class (%): all images of the test file, its lossless records, its "
             "JPEG re-encoded records (images per class in brackets).")
    L.append("")
    L.append("| class | " + " | ".join(f"{r['label']}: all | lossless | JPEG" for r in runs if r["acc"]) + " |")
    L.append("|---|" + "---:|---:|---:|" * sum(1 for r in runs if r["acc"]))
    ref = next(r for r in runs if r["acc"])["acc"]
    for k in range(10):
        cells = []
        for r in runs:
            if r["acc"]:
                a = r["acc"]
                cells += [f"{a['all']['per'][k]:.1f}", f"{a['lossless']['per'][k]:.1f}",
                          "–" if a["jpeg"]["seen"][k] == 0 else f"{a['jpeg']['per'][k]:.1f}"]
        L.append(f"| {CLASSES[k]} ({ref['lossless']['seen'][k]} / {ref['jpeg']['seen'][k]}) | " + " | ".join(cells) + " |")
    cells = []
    for r in runs:
        if r["acc"]:
            a = r["acc"]
            cells += [f"**{a['all']['top1']:.2f}**", f"**{a['lossless']['top1']:.2f}** (bal. {a['lossless']['balanced']:.2f})",
                      f"{a['jpeg']['top1']:.2f}"]
    L.append("| **top-1** | " + " | ".join(cells) + " |")
    L.append("")
    with open(args.out + ".md", "w") as f:
        f.write("\n".join(L))
    print("\n".join(L))

    es = [e["epoch"] + 1 for r in runs for e in r["recs"]]
    tops = [e["top1"] for r in runs for e in r["recs"]]
    s = Svg("Test top-1 (solid) and training loss ×10 (dashed) per epoch", "epoch", "top-1 % / loss ×10",
            es, tops + [10 * e["train_loss"] for r in runs for e in r["recs"]], w=600)
    s.axes(sorted(set(es)), nice_ticks(s.y0, s.y1))
    for i, r in enumerate(runs):
        c = COLOURS[i % len(COLOURS)]
        s.line([e["epoch"] + 1 for e in r["recs"]], [e["top1"] for e in r["recs"]], c, r["label"])
        s.line([e["epoch"] + 1 for e in r["recs"]], [10 * e["train_loss"] for e in r["recs"]], c, None, dash="6 3")
    s.save(args.out + ".svg")


if __name__ == "__main__":
    main()
