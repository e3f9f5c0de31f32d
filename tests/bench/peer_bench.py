#!/usr/bin/env python3
"""The PyTorch peer of `vitgrad bench --steps-only`: the same training-step configurations
(forward, cross-entropy, backward, AdamW; drop path 0) timed the same way, printed and written
as JSON with the same fields.

The models are the independent ConViT / DeiT definitions of tests/reference/make_reference.py
(written from the papers, timm's structure and parameter names), written the way timm writes its
attention for speed: q scaled before q k^T, qkv.unbind, the GPSA relative-position table cached
and its normalisation in place. Their GPSA computes the positional attention once per forward
([1, H, N, N]), as vitgrad does, not per image as the official ConViT code does; against the
official ConViT code and timm's VisionTransformer see docs/benchmarks.md ("The PyTorch peer
against the official code"). The Refiner configurations (*_refiner) refine every MHSA block's attention maps with
the DLA of tests/reference/make_refiner_reference.py (nn.Conv2d, nn.BatchNorm2d in training mode).
FCViT (fcvit_*) is the released model as tests/reference/make_fcvit_reference.py writes it.

Run with Debian's torch:  /usr/bin/python3 tests/bench/peer_bench.py --model deit_ti4 --batch 64
On a GPU (any python whose torch has CUDA): --device cuda, and --compile for torch.compile's
default mode (compilation happens in the warm-up steps, whose time is reported separately).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "reference"))
import make_reference as ref  # noqa: E402
import make_refiner_reference as refiner_ref  # noqa: E402
import make_fcvit_reference as fcvit_ref  # noqa: E402

# The benchmark configurations (vitgrad's bench_config): CIFAR 32x32, patch 4, 10 classes.
CONFIGS = {
    "convit_ti4": dict(arch="convit", embed_dim=192, depth=12, num_heads=4, local_up_to_layer=10),
    "deit_ti4": dict(arch="deit", embed_dim=192, depth=12, num_heads=3, local_up_to_layer=0),
    "convit_micro": dict(arch="convit", embed_dim=96, depth=6, num_heads=4, local_up_to_layer=4),
    "deit_micro": dict(arch="deit", embed_dim=96, depth=6, num_heads=4, local_up_to_layer=0),
}
# Registry names: DeiT-Ti/4, and the same with Refiner's attention-map refinement (paper mode).
CONFIGS["deit_cifar_tiny"] = dict(CONFIGS["deit_ti4"])
CONFIGS["deit_cifar_tiny_refiner"] = dict(CONFIGS["deit_ti4"], refiner_expand=3, refiner_kernel=3)
for c in CONFIGS.values():
    c.update(img_size=32, patch_size=4, num_classes=10, distilled=False, qkv_bias=c["arch"] == "deit")
# FCViT at vitgrad's CIFAR sizes (stride-2 stem), with the released modules: nn.Conv2d for the
# depthwise 11x11 and 3x3 convolutions (what the released code falls back to without the
# MegEngine kernels), einsum and torch.std_mean in the global context.
for name, depths, widths in (("fcvit_cifar_tiny", [3, 3, 5, 2], [32, 64, 160, 320]),
                             ("fcvit_cifar_micro", [1, 1, 2, 1], [16, 32, 64, 128])):
    CONFIGS[name] = dict(arch="fcvit", img_size=32, patch_size=2, num_classes=10, num_heads=8,
                         fcvit_depths=depths, fcvit_widths=widths, fcvit_mlp_ratios=[8, 8, 4, 4],
                         fcvit_kernel=11)


def fcvit_flops(c):
    """2 per multiply-add of every conv, Linear and context similarity, as vitgrad's fcvit_flops."""
    w, k = c["fcvit_widths"], c["fcvit_kernel"]
    side = (c["img_size"] + 6 - 7) // c["patch_size"] + 1
    macs = 3 * 49 * w[0] * side * side
    for s in range(4):
        C, R, N = w[s], w[s] * c["fcvit_mlp_ratios"][s], side * side
        h, r = max(C // 8, 16), C // 8
        rnd = C * N + C * 2 * r + r * C + C * k * k * N + 2 * C * h * N
        macs += c["fcvit_depths"][s] * (2 * rnd + 2 * C * R * N + R * 9 * N)
        if s < 3:
            side = (side + 2 - 3) // 2 + 1
            macs += C * w[s + 1] * 9 * side * side
    return 2 * (macs + w[3] * c["num_classes"])


def forward_flops(c):
    """2 per multiply-add of every matmul, as vitgrad's models::forward_flops."""
    if c["arch"] == "fcvit":
        return fcvit_flops(c)
    D, H, K = c["embed_dim"], c["num_heads"], c["num_classes"]
    M, N = 4 * D, (c["img_size"] // c["patch_size"]) ** 2
    P = 3 * c["patch_size"] ** 2

    def block(T):
        macs = T * D * 3 * D + 2 * T * T * D + T * D * D + 2 * T * D * M
        e, k = c.get("refiner_expand", 0), c.get("refiner_kernel", 3)
        if e:  # the refiner's 1x1 expansion, depthwise k x k and 1x1 reduction over T x T maps
            macs += T * T * (H * e * H + e * H * k * k + e * H * H)
        return macs

    macs = N * P * D
    if c["arch"] == "convit":
        L_loc = min(c["local_up_to_layer"], c["depth"])
        macs += L_loc * (block(N) + N * N * 3 * H) + (c["depth"] - L_loc) * block(N + 1) + D * K
    else:
        macs += c["depth"] * block(N + 1) + D * K
    return 2 * macs


def summarize(ms):
    s = sorted(ms)

    def pct(p):
        pos = p * (len(s) - 1)
        lo = int(pos)
        hi = min(lo + 1, len(s) - 1)
        return s[lo] + (pos - lo) * (s[hi] - s[lo])

    return dict(median_ms=pct(0.5), min_ms=s[0], max_ms=s[-1], q1_ms=pct(0.25), q3_ms=pct(0.75),
                reps=len(s))


def bench_step(name, batch, dtype, warmup, reps, phases, device="cpu", compile_model=False):
    c = CONFIGS[name]
    torch.manual_seed(0)
    if c["arch"] == "fcvit":
        model = fcvit_ref.FCViT(c).to(dtype).to(device)
    elif c.get("refiner_expand"):
        model = refiner_ref.paper_model(c).to(dtype).to(device)
    else:
        model = (ref.ConViT if c["arch"] == "convit" else ref.DeiT)(c).to(dtype).to(device)
    model.train()
    run_model = torch.compile(model) if compile_model else model

    def sync():
        if device != "cpu":
            torch.cuda.synchronize()

    # The timm/DeiT decay rule, as vitgrad's optimiser applies it.
    decay, no_decay = [], []
    for n, p in model.named_parameters():
        skip = p.ndim <= 1 or n.endswith(".bias") or n in ("pos_embed", "cls_token")
        (no_decay if skip else decay).append(p)
    opt = torch.optim.AdamW([{"params": decay, "weight_decay": 0.05},
                             {"params": no_decay, "weight_decay": 0.0}], lr=1e-3)
    x = torch.randn(batch, 3, c["img_size"], c["img_size"], dtype=dtype).to(device)
    labels = torch.tensor([(i * 7 + 3) % c["num_classes"] for i in range(batch)]).to(device)
    fwd, bwd, upd = [], [], []
    last = {}

    def step(split):
        sync()
        t0 = time.perf_counter()
        opt.zero_grad(set_to_none=True)
        loss = F.cross_entropy(run_model(x), labels)
        if split:
            sync()
        t1 = time.perf_counter()
        loss.backward()
        if split:
            sync()
        t2 = time.perf_counter()
        opt.step()
        last["loss"] = loss.item()  # also waits for the device
        t3 = time.perf_counter()
        if split:
            fwd.append(1e3 * (t1 - t0))
            bwd.append(1e3 * (t2 - t1))
            upd.append(1e3 * (t3 - t2))
        return 1e3 * (t3 - t0)

    t_warm = time.perf_counter()
    for _ in range(warmup):
        step(False)
    warmup_s = time.perf_counter() - t_warm
    if device != "cpu":
        torch.cuda.reset_peak_memory_stats()
    ms = [step(False) for _ in range(reps)]
    r = dict(model=name, params=sum(p.numel() for p in model.parameters()), batch=batch,
             device=device, dtype=str(dtype).replace("torch.", ""), threads=torch.get_num_threads(),
             mode="compile" if compile_model else "eager", warmup_s=warmup_s, step=summarize(ms))
    r["ms_per_step"] = r["step"]["median_ms"]
    r["images_per_s"] = batch * 1e3 / r["ms_per_step"]
    r["flops_per_step"] = 3.0 * forward_flops(c) * batch
    r["gflops"] = r["flops_per_step"] / (r["ms_per_step"] * 1e6)
    r["loss"] = last["loss"]
    # No allocator statistics on the CPU: the process's peak resident set instead.
    r["peak_rss_bytes"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    if device != "cpu":
        r["peak_bytes"] = torch.cuda.max_memory_allocated()
    if phases:
        for _ in range(reps):
            step(True)
        r["phases"] = dict(forward=summarize(fwd), backward=summarize(bwd), optimizer=summarize(upd))
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="convit_ti4,deit_ti4", help="comma-separated: " + ", ".join(CONFIGS))
    ap.add_argument("--batch", default="64,128", help="comma-separated batch sizes")
    ap.add_argument("--threads", type=int, default=0, help="intra-op threads (0: torch's default)")
    ap.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--no-phases", action="store_true", help="skip the forward / backward / optimiser split")
    ap.add_argument("--json", help="also write the results to this JSON file")
    ap.add_argument("--device", default="cpu", help="cpu | cuda | cuda:N")
    ap.add_argument("--compile", action="store_true", help="time torch.compile(model) (default mode)")
    a = ap.parse_args()
    if a.compile and not hasattr(torch, "compile"):
        sys.exit(f"peer_bench: --compile, but torch {torch.__version__} has no torch.compile (2.0 or later)")
    if a.device != "cpu" and not torch.cuda.is_available():
        sys.exit(f"peer_bench: --device {a.device}, but this torch ({torch.__version__}) sees no CUDA device")
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    dtype = getattr(torch, a.dtype)
    env = {k: os.environ.get(k, "") for k in ("GLIBC_TUNABLES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE",
                                              "OMP_NUM_THREADS")}
    where = torch.cuda.get_device_name(torch.device(a.device)) if a.device != "cpu" else "cpu"
    print(f"peer: torch {torch.__version__} on {where}{' (torch.compile)' if a.compile else ''}, "
          f"{torch.get_num_threads()} threads, dtype {a.dtype}, "
          f"load average {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    print("peer environment: " + ", ".join(f"{k}={v!r}" for k, v in env.items()))
    report = dict(torch=torch.__version__, device=a.device, device_name=where,
                  mode="compile" if a.compile else "eager", threads=torch.get_num_threads(),
                  dtype=a.dtype, environment=env,
                  load_average_start=" ".join(f"{v:.2f}" for v in os.getloadavg()), steps=[])
    print(f"{'model':<13} {'params':>9} {'batch':>5} {'thr':>3} {'ms/step':>9} {'[min, max]':>19} "
          f"{'img/s':>7} {'GFLOP':>8} {'GFLOP/s':>8} {'fwd / bwd / opt ms':>24}")
    for m in a.model.split(","):
        if m not in CONFIGS:
            sys.exit(f"peer_bench: unknown model '{m}'; known: {', '.join(CONFIGS)}")
        for b in map(int, a.batch.split(",")):
            r = bench_step(m, b, dtype, a.warmup, a.reps, not a.no_phases, a.device, a.compile)
            ph = r.get("phases")
            split = (f"{ph['forward']['median_ms']:.0f} / {ph['backward']['median_ms']:.0f} / "
                     f"{ph['optimizer']['median_ms']:.0f}") if ph else ""
            rng = f"[{r['step']['min_ms']:.1f}, {r['step']['max_ms']:.1f}]"
            print(f"{m:<13} {r['params']:>9} {b:>5} {r['threads']:>3} {r['ms_per_step']:>9.1f} {rng:>19} "
                  f"{r['images_per_s']:>7.1f} {r['flops_per_step'] / 1e9:>8.1f} {r['gflops']:>8.1f} {split:>24}",
                  flush=True)
            report["steps"].append(r)
    report["load_average_end"] = " ".join(f"{v:.2f}" for v in os.getloadavg())
    if a.json:
        with open(a.json, "w") as f:
            json.dump(report, f, indent=2)


if __name__ == "__main__":
    main()
