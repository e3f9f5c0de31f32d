#!/usr/bin/env python3
"""Per-class CIFAR-10 test accuracy on the whole test file beside its lossless part.

The test file in shared/data is partly re-encoded (shared/data/README.md): 4,593 records are
lossless, 5,407 (all animal classes) are JPEG q75 copies. Given the predictions that
`vitgrad eval CKPT --predictions FILE.csv` writes, this prints top-1 and per-class accuracy on all
10,000 images, on the lossless records only (provenance column `lossless == 1`), and on the exact
official records 0-999.

    python3 tests/reference/lossless_split.py PRED.csv [PRED2.csv ...] [--provenance PATH]
"""
import argparse
import csv
import gzip
import os

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]
HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_PROVENANCE = os.path.normpath(os.path.join(HERE, "..", "..", "..", "shared", "data",
                                                   "test_batch_provenance.csv.gz"))


def read_provenance(path):
    with gzip.open(path, "rt") as f:
        return {int(r["record"]): (int(r["label"]), r["lossless"] == "1") for r in csv.DictReader(f)}


def read_predictions(path):
    with open(path) as f:
        return [(int(r["index"]), int(r["label"]), int(r["predicted"])) for r in csv.DictReader(f)]


def accuracy(rows):
    hit = [0] * 10
    seen = [0] * 10
    for _, label, pred in rows:
        seen[label] += 1
        hit[label] += label == pred
    total = sum(seen)
    top1 = 100.0 * sum(hit) / total if total else float("nan")
    per = [100.0 * h / s if s else float("nan") for h, s in zip(hit, seen)]
    return top1, per, seen


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("predictions", nargs="+")
    ap.add_argument("--provenance", default=DEFAULT_PROVENANCE)
    args = ap.parse_args()
    prov = read_provenance(args.provenance)
    for path in args.predictions:
        rows = read_predictions(path)
        for idx, label, _ in rows:
            if prov[idx][0] != label:
                raise SystemExit(f"{path}: record {idx} has label {label}, the provenance file says {prov[idx][0]}")
        splits = {"all": rows, "lossless": [r for r in rows if prov[r[0]][1]],
                  "records 0-999": [r for r in rows if r[0] < 1000]}
        print(f"{path}:")
        results = {k: accuracy(v) for k, v in splits.items()}
        print("  " + " | ".join(f"{k}: top-1 {v[0]:.2f}% ({sum(v[2])} images)" for k, v in results.items()))
        print(f"  {'class':<11}" + "".join(f"{k:>22}" for k in splits))
        for c in range(10):
            cells = [f"{v[1][c]:6.2f}% of {v[2][c]:5d}" for v in results.values()]
            print(f"  {CLASSES[c]:<11}" + "".join(f"{x:>22}" for x in cells))


if __name__ == "__main__":
    main()
