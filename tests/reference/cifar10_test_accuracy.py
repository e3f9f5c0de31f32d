#!/usr/bin/env python3
"""Top-1 and per-class accuracy of CIFAR-10 test logits on the whole test_batch.bin and on its
lossless part.

The shared test_batch.bin holds 4,593 exact records and 5,407 JPEG re-encoded ones (all in animal
classes; shared/data/README.md, test_batch_provenance.csv.gz). This reads logits written by

  vitgrad inspect --checkpoint RUN/checkpoint.safetensors --count 10000 --logits-only \\
      --output logits.safetensors

(the first N test records in file order), takes the labels from test_batch.bin and the lossless
flags from the provenance file, and prints both accuracies side by side (JSON with --json).

  /usr/bin/python3 tests/reference/cifar10_test_accuracy.py logits.safetensors [--data-dir DIR]
"""
import argparse
import csv
import gzip
import json
import os
import struct

import numpy as np

CLASSES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def read_safetensors(path, name):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        base = 8 + n
        info = header[name]
        if info["dtype"] not in ("F32", "F64"):
            raise SystemExit(f"{path}: {name} has dtype {info['dtype']}, expected F32 or F64")
        lo, hi = info["data_offsets"]
        f.seek(base + lo)
        data = np.frombuffer(f.read(hi - lo), dtype=np.float32 if info["dtype"] == "F32" else np.float64)
        return data.reshape(info["shape"])


def accuracy(pred, labels, mask):
    total = {"images": int(mask.sum()), "top1": 100.0 * float((pred[mask] == labels[mask]).mean())}
    per_class = {}
    for k, name in enumerate(CLASSES):
        m = mask & (labels == k)
        per_class[name] = {"images": int(m.sum()),
                           "top1": 100.0 * float((pred[m] == k).mean()) if m.any() else None}
    total["per_class"] = per_class
    return total


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("logits", help="safetensors file with a \"logits\" [N, 10] tensor (vitgrad inspect)")
    here = os.path.dirname(os.path.abspath(__file__))
    ap.add_argument("--data-dir", default=os.path.join(here, "..", "..", "..", "shared", "data"),
                    help="directory holding cifar-10-batches-bin/ and test_batch_provenance.csv.gz")
    ap.add_argument("--json", help="also write the results here")
    a = ap.parse_args()

    logits = read_safetensors(a.logits, "logits")
    n = logits.shape[0]
    raw = np.fromfile(os.path.join(a.data_dir, "cifar-10-batches-bin", "test_batch.bin"), dtype=np.uint8)
    labels = raw.reshape(-1, 3073)[:n, 0].astype(np.int64)
    lossless = np.zeros(n, dtype=bool)
    with gzip.open(os.path.join(a.data_dir, "test_batch_provenance.csv.gz"), "rt") as f:
        for row in csv.DictReader(f):
            r = int(row["record"])
            if r < n:
                if int(row["label"]) != labels[r]:
                    raise SystemExit(f"record {r}: provenance label {row['label']} != file label {labels[r]}")
                lossless[r] = row["lossless"] == "1"
    pred = logits.argmax(axis=1)
    result = {"records": n, "all": accuracy(pred, labels, np.ones(n, dtype=bool)),
              "lossless": accuracy(pred, labels, lossless)}
    print(f"{'':<12} {'all':>16} {'lossless':>16}")
    print(f"{'top-1':<12} {result['all']['top1']:>8.2f}% ({result['all']['images']:>5}) "
          f"{result['lossless']['top1']:>8.2f}% ({result['lossless']['images']:>5})")
    for name in CLASSES:
        cells = []
        for key in ("all", "lossless"):
            c = result[key]["per_class"][name]
            cells.append(f"{c['top1']:>8.2f}% ({c['images']:>5})" if c["top1"] is not None else f"{'-':>17}")
        print(f"{name:<12} {cells[0]} {cells[1]}")
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=2)


if __name__ == "__main__":
    main()
