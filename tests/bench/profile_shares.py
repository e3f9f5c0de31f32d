#!/usr/bin/env python3
"""Groups a `perf record` profile of `vitgrad bench` into the parts of a training step (GEMM,
fused attention, thread-pool waits, copies, elementwise, norms, softmax, GPSA's gate, AdamW,
reductions, set-up, kernel) and prints each part's share of the samples as a Markdown table.

  perf record -F 1999 -o step.data -- build/vitgrad bench --steps-only --model convit_ti4 \\
      --batch 64 --no-phases --reps 6 --warmup 2 --no-fma-peak --ceiling-n 256
  tests/bench/profile_shares.py step.data [other.data ...]

Several files give one column each (e.g. before and after a change). Set-up (the random
initialisation, first-touch page clearing) is listed separately: it is not part of the steady step.
"""
import re
import subprocess
import sys

# (part, pattern over "dso symbol"); the first match wins.
PARTS = [
    ("GEMM (Eigen)", r"Eigen::internal::(gebp|gemm|general_matrix|parallelize_gemm)"),
    ("GEMM (oneDNN)", r"libdnnl|\[JIT\]|jit_"),
    # The fused kernel's softmax and gate rows are the same code as the standalone kernels' and
    # count under softmax and gated mix below.
    ("fused attention (tile products, packing)", r"small_gemm|cpu::attention_"),
    ("thread pool (libgomp waits, forks)", r"libgomp"),
    ("strided copies", r"cpu::copy\(|for_each_row<2ul, vg::cpu::copy"),
    ("elementwise (GELU, adds, muls, fills)", r"unary_(fwd|bwd)|binary_(fwd|bwd)|cpu::fill|scalar_op|where"),
    ("LayerNorm", r"layernorm"),
    ("softmax", r"softmax"),
    ("GPSA gated mix", r"gated_mix"),
    ("AdamW", r"adamw"),
    ("reductions (bias grads, sums)", r"reduce_|red::"),
    ("set-up (random init, libm)", r"random_fill|libm\.so|__cos|__ieee754"),
    ("kernel (page clearing, interrupts)", r"\[kernel"),
    ("memset / memcpy", r"__mem(set|cpy|move)"),
]


def shares(path):
    out = subprocess.run(["perf", "report", "-i", path, "--no-children", "--sort", "dso,sym",
                          "--stdio", "--percent-limit", "0"],
                         capture_output=True, text=True, check=True).stdout
    totals = {name: 0.0 for name, _ in PARTS}
    totals["other"] = 0.0
    for line in out.splitlines():
        m = re.match(r"\s*([\d.]+)%\s+(.*)", line)
        if not m:
            continue
        pct, rest = float(m.group(1)), m.group(2)
        for name, pat in PARTS:
            if re.search(pat, rest):
                totals[name] += pct
                break
        else:
            totals["other"] += pct
    return totals


def main():
    if len(sys.argv) < 2 or sys.argv[1] in ("-h", "--help"):
        print(__doc__)
        sys.exit(0 if len(sys.argv) > 1 else 2)
    cols = [shares(p) for p in sys.argv[1:]]
    print("| part | " + " | ".join(sys.argv[1:]) + " |")
    print("|---|" + "---:|" * len(cols))
    for name in [n for n, _ in PARTS] + ["other"]:
        print(f"| {name} | " + " | ".join(f"{c[name]:.1f}%" for c in cols) + " |")


if __name__ == "__main__":
    main()
