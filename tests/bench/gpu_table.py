#!/usr/bin/env python3
"""Prints vitgrad's GPU step rows (`vitgrad bench --device cuda --steps-only --json ...`) beside the
PyTorch peer's (tests/bench/peer_bench.py --device cuda [--compile] --json ...): one row per
(model, batch), ms/step for each side and vitgrad's time over each peer's. A missing or failed
side shows as n/a. Used by tests/gpu_check.sh; needs only the standard library.

  tests/bench/gpu_table.py --vitgrad vg.json --eager eager.json --compiled compiled.json
"""
import argparse
import json
import os


def load_steps(path):
    """{(model, batch): step record} from a JSON report, or {} when the file is absent or bad."""
    if not path or not os.path.exists(path):
        return {}
    try:
        with open(path) as f:
            report = json.load(f)
    except (OSError, ValueError):
        return {}
    return {(s["model"], int(s["batch"])): s for s in report.get("steps", [])}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vitgrad", required=True)
    ap.add_argument("--eager")
    ap.add_argument("--compiled")
    a = ap.parse_args()
    sides = [("vitgrad", load_steps(a.vitgrad)), ("eager", load_steps(a.eager)),
             ("compile", load_steps(a.compiled))]
    keys = sorted(set().union(*(s.keys() for _, s in sides)))
    if not keys:
        print("gpu_table: no step results to show")
        return
    ms = lambda table, k: table[k]["ms_per_step"] if k in table else None  # noqa: E731
    fmt_ms = lambda v: f"{v:.2f}" if v is not None else "n/a"  # noqa: E731
    print(f"{'model':<13} {'batch':>5} {'vitgrad ms':>11} {'eager ms':>9} {'compile ms':>11} "
          f"{'vg/eager':>9} {'vg/compile':>11} {'vitgrad img/s':>14}")
    for k in keys:
        v, e, c = (ms(t, k) for _, t in sides)
        ratio = lambda p: f"{v / p:.2f}" if v is not None and p else "n/a"  # noqa: E731
        ips = f"{sides[0][1][k]['images_per_s']:.0f}" if v is not None else "n/a"
        print(f"{k[0]:<13} {k[1]:>5} {fmt_ms(v):>11} {fmt_ms(e):>9} {fmt_ms(c):>11} "
              f"{ratio(e):>9} {ratio(c):>11} {ips:>14}")


if __name__ == "__main__":
    main()
