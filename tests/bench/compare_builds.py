#!/usr/bin/env python3
"""Op-level timings of two vitgrad builds side by side, for a before/after table of a change.

Runs `vitgrad bench --ops-only --json` of each build in turn, ROUNDS times (A, B, A, B, ...), so
both see the same machine state, and prints each op's best median over the rounds and the ratio
new/old. Ops that only one build measures are listed with a dash.

  tests/bench/compare_builds.py OLD_VITGRAD NEW_VITGRAD [--rounds 3] [--match sum,max,softmax]
                                [-- extra bench arguments, e.g. --model convit_ti4 --batch 64]
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile


def run_bench(binary, extra):
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "bench.json")
        subprocess.run([binary, "bench", "--ops-only", "--json", out, *extra], check=True,
                       stdout=subprocess.DEVNULL)
        with open(out) as f:
            report = json.load(f)
    return {(r["model"], r["batch"], r["op"], r["shape"]): r for r in report.get("ops", [])}


def main():
    argv = sys.argv[1:]
    extra = []
    if "--" in argv:
        cut = argv.index("--")
        argv, extra = argv[:cut], argv[cut + 1:]
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("old", help="the vitgrad binary before the change")
    p.add_argument("new", help="the vitgrad binary after the change")
    p.add_argument("--rounds", type=int, default=3, help="alternating runs of each build (1-20)")
    p.add_argument("--match", default="",
                   help="comma-separated substrings; only ops whose name holds one are shown")
    a = p.parse_args(argv)
    if not 1 <= a.rounds <= 20:
        p.error(f"--rounds {a.rounds} is outside 1-20")
    for b in (a.old, a.new):
        if not os.access(b, os.X_OK):
            p.error(f"{b} is not an executable")
    best = {"old": {}, "new": {}}
    for i in range(a.rounds):
        for side, binary in (("old", a.old), ("new", a.new)):
            print(f"round {i + 1}/{a.rounds}: {side}", file=sys.stderr, flush=True)
            for key, r in run_bench(binary, extra).items():
                m = r["time"]["median_ms"]
                if key not in best[side] or m < best[side][key]["time"]["median_ms"]:
                    best[side][key] = r
    wanted = [s for s in a.match.split(",") if s]
    keys = sorted(set(best["old"]) | set(best["new"]), key=lambda k: (k[0], k[1], k[2]))
    print("| model | batch | op | shape | old ms | new ms | new/old | new GB/s |")
    print("|---|---:|---|---|---:|---:|---:|---:|")
    for k in keys:
        if wanted and not any(w in k[2] for w in wanted):
            continue
        o, n = best["old"].get(k), best["new"].get(k)
        om = f"{o['time']['median_ms']:.3f}" if o else "-"
        nm = f"{n['time']['median_ms']:.3f}" if n else "-"
        ratio = f"{n['time']['median_ms'] / o['time']['median_ms']:.2f}" if o and n else "-"
        gbps = f"{n['gbps']:.1f}" if n and n["gbps"] else ""
        print(f"| {k[0]} | {k[1]} | {k[2]} | {k[3]} | {om} | {nm} | {ratio} | {gbps} |")


if __name__ == "__main__":
    main()
