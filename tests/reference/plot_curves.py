#!/usr/bin/env python3
"""Plots the learning curves of a compare_training.sh run, vitgrad next to the PyTorch reference:
the training-batch loss every 20 steps (from the two train.log files), and per epoch the test top-1,
the train and test loss, and the training images/s (from curves.jsonl).

usage: /usr/bin/python3 tests/reference/plot_curves.py OUT_DIR docs/img/out.svg [--title T]
           [--extra LABEL:IMPL:RUN_DIR ...]
--extra adds another run of one implementation (RUN_DIR holds its metrics.jsonl and train.log, e.g.
a second seed), drawn dashed in that implementation's colour.
"""
import argparse
import json
import os
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {"vitgrad": dict(color="tab:blue", marker="o"), "pytorch": dict(color="tab:orange", marker="s")}
LABEL = {"vitgrad": "vitgrad", "pytorch": "PyTorch reference"}
# vitgrad: "epoch 1/3 step 20/195 loss 2.2978 ..." (1-based epoch); train_reference.py:
# "  epoch 0 step 20/195 loss 2.3016 ..." (0-based epoch). Both print the loss of that one batch.
STEP_RE = {"vitgrad": re.compile(r"^epoch (\d+)/\d+ step (\d+)/(\d+) loss ([\d.]+)"),
           "pytorch": re.compile(r"^\s*epoch (\d+) step (\d+)/(\d+) loss ([\d.]+)")}


def step_losses(path, impl):
    pts = []
    if not os.path.exists(path):
        return pts
    for line in open(path):
        m = STEP_RE[impl].match(line)
        if m:
            epoch, step, per_epoch, loss = int(m[1]), int(m[2]), int(m[3]), float(m[4])
            epoch -= 1 if impl == "vitgrad" else 0
            pts.append(((epoch * per_epoch + step) / per_epoch, loss))
    return pts


def load_metrics(path, impl):
    """Per-epoch rows in the units of curves.jsonl (top-1 in percent)."""
    rows = []
    for line in open(path):
        r = json.loads(line)
        if impl == "pytorch":
            r["top1"] *= 100
        rows.append(r)
    return rows


def draw(axes, label, impl, rows, pts, dashed):
    st = dict(STYLE[impl])
    if dashed:
        st.update(linestyle=":", marker="^", alpha=0.8)
    if pts:
        axes[0].plot([p[0] for p in pts], [p[1] for p in pts], label=label, color=st["color"],
                     linewidth=1, linestyle=st.get("linestyle", "-"), alpha=st.get("alpha", 1.0))
    ep = [r["epoch"] + 1 for r in rows]
    axes[1].plot(ep, [r["top1"] for r in rows], label=label, **st)
    axes[2].plot(ep, [r["train_loss"] for r in rows], label=f"{label} train", **st)
    test_st = dict(st, linestyle=":" if dashed else "--")
    axes[2].plot(ep, [r["test_loss"] for r in rows], label=f"{label} test", **test_st)
    axes[3].plot(ep, [r["images_per_s"] for r in rows], label=label, **st)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("out_dir")
    ap.add_argument("dst")
    ap.add_argument("--title", default="CIFAR-10")
    ap.add_argument("--extra", action="append", default=[])
    args = ap.parse_args()
    runs = {}
    for line in open(os.path.join(args.out_dir, "curves.jsonl")):
        r = json.loads(line)
        runs.setdefault(r["impl"], []).append(r)
    fig, axes = plt.subplots(1, 4, figsize=(17, 4.3))
    for impl in ("vitgrad", "pytorch"):
        pts = step_losses(os.path.join(args.out_dir, impl, "train.log"), impl)
        draw(axes, LABEL[impl], impl, runs.get(impl, []), pts, False)
    for spec in args.extra:
        label, impl, run_dir = spec.split(":", 2)
        draw(axes, label, impl, load_metrics(os.path.join(run_dir, "metrics.jsonl"), impl),
             step_losses(os.path.join(run_dir, "train.log"), impl), True)
    names = ["training-batch loss (soft-target CE, mixed)", "test top-1 (%)",
             "loss per epoch (train: soft targets; test: CE)", "training images/s (1 thread, shared host)"]
    for i, (ax, name) in enumerate(zip(axes, names)):
        ax.set_xlabel("epoch")
        ax.set_title(name, fontsize=9)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        if i > 0:
            ax.xaxis.get_major_locator().set_params(integer=True)
    axes[3].set_ylim(bottom=0)
    fig.suptitle(args.title, fontsize=10)
    fig.tight_layout()
    fig.savefig(args.dst)
    print(f"wrote {args.dst}")


if __name__ == "__main__":
    main()
