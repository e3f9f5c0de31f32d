#!/usr/bin/env python3
"""Depthwise convolution, vitgrad against PyTorch's CPU conv2d, at the shapes `vitgrad bench` times
(FCViT's CIFAR stages: 11x11 pad 5 and the MLP's 3x3 pad 1; Refiner's 3x3 on 65x65 maps).

Runs `vitgrad bench --ops-only --filter dwconv` (a fresh process), reads its JSON, then times the
same shapes in PyTorch (a fresh process, same thread count) the way vitgrad's bench does: every
repetition runs the op enough times to last >= 20 ms, the median over repetitions is reported.
forward: F.conv2d(x, w, b, padding=p, groups=C); dx / dw: aten::convolution_backward with only
that gradient requested (what autograd runs for a depthwise conv2d on the CPU). Prints one table
with the ratio (vitgrad / PyTorch: below 1 means vitgrad is faster). --before OTHER_BINARY also
runs an earlier vitgrad build in the same run and adds its columns (a before/after table).

The peer runs "tuned" by default (the environment of tests/bench/compare.py and
shared/peers/RESULTS.md; the depthwise convolution itself does not call BLAS); --stock runs it as
installed.

  tests/bench/compare_dwconv.py --vitgrad build/vitgrad --batch 64 --reps 7
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from compare import TUNED, loadavg  # noqa: E402

PEER = r'''
import json, statistics, sys, time
import torch
import torch.nn.functional as F
torch.set_num_threads(int(sys.argv[1]))
warmup, reps, dtype = int(sys.argv[2]), int(sys.argv[3]), getattr(torch, sys.argv[4])
out = {}
for key in json.loads(sys.argv[5]):
    B, C, H, W, k, kind = key.split(",")
    B, C, H, W, k = int(B), int(C), int(H), int(W), int(k)
    p = (k - 1) // 2
    g = torch.Generator().manual_seed(0)
    x = torch.randn(B, C, H, W, generator=g, dtype=dtype)
    w = torch.randn(C, 1, k, k, generator=g, dtype=dtype)
    dy = torch.randn(B, C, H, W, generator=g, dtype=dtype)
    mask = {"dx": [True, False, False], "dw": [False, True, False]}.get(kind)
    def f():
        if mask is None:
            return F.conv2d(x, w, None, 1, p, 1, C)
        return torch.ops.aten.convolution_backward(dy, x, w, None, [1, 1], [p, p], [1, 1], False,
                                                   [0, 0], C, mask)
    with torch.no_grad():
        f()
        t0 = time.perf_counter(); f(); once = (time.perf_counter() - t0) * 1e3
        inner = min(1000, max(1, int(20.0 / max(once, 1e-3))))
        for _ in range(warmup):
            f()
        ms = []
        for _ in range(reps):
            t = time.perf_counter()
            for _ in range(inner):
                f()
            ms.append((time.perf_counter() - t) * 1e3 / inner)
    out[key] = dict(median_ms=statistics.median(ms), min_ms=min(ms), max_ms=max(ms))
print(json.dumps(out))
'''


def shape_key(op, shape):
    """'dwconv FCViT fwd', '[64,32,16,16] k11' -> '64,32,16,16,11,fwd'."""
    dims, k = shape.split(" k")
    return ",".join(dims.strip("[]").split(",") + [k, op.split()[-1]])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vitgrad", default=os.path.join(HERE, "..", "..", "build", "vitgrad"))
    ap.add_argument("--before", help="an earlier vitgrad binary to time in the same run")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter that has torch")
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=7)
    ap.add_argument("--filter", default="dwconv", help="vitgrad op-name filter (default: %(default)s)")
    ap.add_argument("--stock", action="store_true", help="run the peer untuned (as installed)")
    ap.add_argument("--markdown", help="also write the table as Markdown here")
    a = ap.parse_args()

    peer_env = dict(os.environ)
    for k in TUNED:
        peer_env.pop(k, None)
    if not a.stock:
        if not os.path.isdir(TUNED["LD_LIBRARY_PATH"]):
            sys.exit("compare_dwconv: install libopenblas0-openmp or pass --stock")
        peer_env.update(TUNED)
    print(f"threads {a.threads}, batch {a.batch}, {a.dtype}, warm-up {a.warmup}, reps {a.reps}, "
          f"peer {'stock' if a.stock else 'tuned'}, load average {loadavg()}", flush=True)

    def vitgrad_ops(binary):
        with tempfile.TemporaryDirectory(prefix="vg_dwconv_") as tmp:
            vj = os.path.join(tmp, "vitgrad.json")
            cmd = [binary, "bench", "--ops-only", "--filter", a.filter, "--batch", str(a.batch),
                   "--threads", str(a.threads), "--dtype", a.dtype, "--warmup", str(a.warmup),
                   "--reps", str(a.reps), "--no-fma-peak", "--ceiling-n", "256", "--json", vj]
            print("$ " + " ".join(cmd), flush=True)
            subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)
            with open(vj) as f:
                return {(o["op"], o["shape"]): o for o in json.load(f)["ops"] if o["op"].startswith("dwconv")}

    before = vitgrad_ops(a.before) if a.before else {}
    after = vitgrad_ops(a.vitgrad)
    ops = list(after.values())
    keys = [shape_key(o["op"], o["shape"]) for o in ops]
    cmd = [a.python, "-c", PEER, str(a.threads), str(a.warmup), str(a.reps), a.dtype, json.dumps(keys)]
    print(f"$ {a.python} -c <PyTorch timing of the same {len(keys)} ops>", flush=True)
    peer = json.loads(subprocess.run(cmd, check=True, env=peer_env, stdout=subprocess.PIPE,
                                     text=True).stdout)

    head = "| op | shape |"
    rule = "|---|---|"
    if before:
        head += " before ms | before GFLOP/s | before / PyTorch |"
        rule += "---:|---:|---:|"
    lines = [head + " vitgrad ms | vitgrad GFLOP/s | PyTorch ms | PyTorch GFLOP/s | vitgrad / PyTorch |",
             rule + "---:|---:|---:|---:|---:|"]
    for o, key in zip(ops, keys):
        vg_ms, pt_ms = o["time"]["median_ms"], peer[key]["median_ms"]
        row = f"| {o['op']} | {o['shape']} |"
        b = before.get((o["op"], o["shape"]))
        if before:
            row += (f" {b['time']['median_ms']:.3f} | {b['gflops']:.1f} | {b['time']['median_ms'] / pt_ms:.2f} |"
                    if b else " - | - | - |")
        lines.append(row + f" {vg_ms:.3f} | {o['gflops']:.1f} | {pt_ms:.3f} | "
                     f"{o['flops'] / (pt_ms * 1e6):.1f} | {vg_ms / pt_ms:.2f} |")
    table = "\n".join(lines)
    print("\nGFLOP/s count every tap of the kernel window, padding included (2 per multiply-add).\n")
    print(table)
    print(f"\nload average at the end {loadavg()}")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table + "\n")


if __name__ == "__main__":
    main()
