#!/usr/bin/env python3
"""Runs vitgrad and the PyTorch peer on the same training-step configurations, alternating the two
per configuration (each run a fresh process), and prints ms/step (with several --rounds: each side's lowest median), their ratio, GFLOP/s and the
fraction of the GEMM ceiling and of the FMA peak that `vitgrad bench` measures in the same run.

The peer runs "tuned" by default, with exactly the environment of shared/peers/RESULTS.md:
  GLIBC_TUNABLES=glibc.malloc.hugetlb=1
  LD_LIBRARY_PATH=/usr/lib/x86_64-linux-gnu/openblas-openmp   (package libopenblas0-openmp)
  OPENBLAS_CORETYPE=SkylakeX
--stock runs it as installed instead (those three removed / inherited). vitgrad always runs with
the inherited environment (its caching allocator does the hugepage work itself).

  tests/bench/compare.py --vitgrad build/vitgrad --configs convit_ti4:64,deit_ti4:64 --reps 5
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TUNED = {"GLIBC_TUNABLES": "glibc.malloc.hugetlb=1",
         "LD_LIBRARY_PATH": "/usr/lib/x86_64-linux-gnu/openblas-openmp",
         "OPENBLAS_CORETYPE": "SkylakeX"}
DEFAULT_CONFIGS = "convit_ti4:64,deit_ti4:64,convit_ti4:128,deit_ti4:128,convit_micro:128,deit_micro:128"


def wait_for_quiet(max_load, wait_max):
    """Waits (at most wait_max seconds) until the 1-minute load average is below max_load."""
    t0 = time.time()
    while max_load > 0 and os.getloadavg()[0] >= max_load and time.time() - t0 < wait_max:
        time.sleep(5)


def run(cmd, env, log):
    print("$ " + " ".join(cmd), flush=True)
    p = subprocess.run(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log.write("$ " + " ".join(cmd) + "\n" + p.stdout + "\n")
    sys.stdout.write(p.stdout)
    if p.returncode != 0:
        sys.exit(f"compare: command failed with exit code {p.returncode}")


def rate_pcts(gflops, row):
    """'61%, 55%': a rate as a share of the run's GEMM ceiling and of its FMA peak."""
    fma = f"{100 * gflops / row['fma_peak']:.0f}%" if row["fma_peak"] > 0 else "n/a"
    return f"{100 * gflops / row['ceiling']:.0f}%, {fma}"


def loadavg():
    return " ".join(f"{v:.2f}" for v in os.getloadavg())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vitgrad", default=os.path.join(HERE, "..", "..", "build", "vitgrad"),
                    help="the vitgrad binary")
    ap.add_argument("--python", default="/usr/bin/python3", help="the interpreter that has torch")
    ap.add_argument("--configs", default=DEFAULT_CONFIGS, help="model:batch,... (default: %(default)s)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--warmup", type=int, default=2)
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1, help="repeat every vitgrad/peer pair this many times")
    ap.add_argument("--max-load", type=float, default=0,
                    help="before each run wait until the 1-minute load average is below this (0: never wait)")
    ap.add_argument("--wait-max", type=float, default=180, help="longest wait for --max-load, seconds")
    ap.add_argument("--phases", action="store_true", help="also time forward / backward / optimiser")
    ap.add_argument("--stock", action="store_true", help="run the peer untuned (as installed)")
    ap.add_argument("--out", help="write the summary (and the raw results) as JSON here")
    ap.add_argument("--markdown", help="write the result table as Markdown here")
    a = ap.parse_args()

    vg_env = dict(os.environ)
    peer_env = dict(os.environ)
    for k in TUNED:
        peer_env.pop(k, None)
    if not a.stock:
        if not os.path.isdir(TUNED["LD_LIBRARY_PATH"]):
            sys.exit("compare: install libopenblas0-openmp (apt-get install -y libopenblas0-openmp) "
                     "or pass --stock")
        peer_env.update(TUNED)
    else:
        peer_env["OPENBLAS_CORETYPE"] = os.environ.get("OPENBLAS_CORETYPE", "")
        if not peer_env["OPENBLAS_CORETYPE"]:
            peer_env.pop("OPENBLAS_CORETYPE")
    shown = ("GLIBC_TUNABLES", "LD_LIBRARY_PATH", "OPENBLAS_CORETYPE", "OMP_NUM_THREADS")
    peer_desc = ", ".join(f"{k}={peer_env.get(k, '(unset)')}" for k in shown)
    vg_desc = ", ".join(f"{k}={vg_env.get(k, '(unset)')}" for k in shown)
    print(f"peer ({'stock' if a.stock else 'tuned'}) environment: {peer_desc}")
    print(f"vitgrad environment: {vg_desc}")
    print(f"threads {a.threads}, warm-up {a.warmup}, reps {a.reps}, rounds {a.rounds}, load average {loadavg()}")

    configs = [(c.split(":")[0], int(c.split(":")[1])) for c in a.configs.split(",")]
    rows, raw = [], []
    tmp = tempfile.mkdtemp(prefix="vg_compare_")
    with open(os.path.join(tmp, "log.txt"), "w") as log:
        for model, batch in configs:
            vg_runs, pt_runs = [], []
            for r in range(a.rounds):
                vj, pj = os.path.join(tmp, f"vg_{model}_{batch}_{r}.json"), os.path.join(tmp, f"pt_{model}_{batch}_{r}.json")
                wait_for_quiet(a.max_load, a.wait_max)
                run([a.vitgrad, "bench", "--steps-only", "--model", model, "--batch", str(batch),
                     "--threads", str(a.threads), "--warmup", str(a.warmup), "--reps", str(a.reps),
                     "--json", vj] + ([] if a.phases else ["--no-phases"]), vg_env, log)
                wait_for_quiet(a.max_load, a.wait_max)
                run([a.python, os.path.join(HERE, "peer_bench.py"), "--model", model, "--batch", str(batch),
                     "--threads", str(a.threads), "--warmup", str(a.warmup), "--reps", str(a.reps),
                     "--json", pj] + ([] if a.phases else ["--no-phases"]), peer_env, log)
                with open(vj) as f:
                    vg_runs.append(json.load(f))
                with open(pj) as f:
                    pt_runs.append(json.load(f))
            raw.append(dict(model=model, batch=batch, vitgrad=vg_runs, peer=pt_runs))
            vs = [x["steps"][0] for x in vg_runs]
            ps = [x["steps"][0] for x in pt_runs]
            ceiling = statistics.median(x["ceiling"]["gemm_gflops"] for x in vg_runs)
            fma_peak = statistics.median(x["ceiling"]["fma_peak_gflops"] for x in vg_runs)
            # Noise on a shared machine only ever adds time: each side's lowest median over rounds.
            vg_ms = min(s["ms_per_step"] for s in vs)
            pt_ms = min(s["ms_per_step"] for s in ps)
            flops = vs[0]["flops_per_step"]
            rows.append(dict(model=model, batch=batch, params=vs[0]["params"], peer_params=ps[0]["params"],
                             vg_ms=vg_ms, vg_min=min(s["step"]["min_ms"] for s in vs),
                             vg_max=max(s["step"]["max_ms"] for s in vs),
                             pt_ms=pt_ms, pt_min=min(s["step"]["min_ms"] for s in ps),
                             pt_max=max(s["step"]["max_ms"] for s in ps),
                             ratio=vg_ms / pt_ms, gflop=flops / 1e9,
                             vg_gflops=flops / (vg_ms * 1e6), pt_gflops=ps[0]["flops_per_step"] / (pt_ms * 1e6),
                             ceiling=ceiling, fma_peak=fma_peak, vg_peak_mib=max(s["peak_bytes"] for s in vs) / 2**20,
                             pt_rss_mib=max(s["peak_rss_bytes"] for s in ps) / 2**20,
                             vg_phases=vs[0].get("phases"), pt_phases=ps[0].get("phases"),
                             load=f"{vg_runs[0]['load_average_start']} / {pt_runs[-1]['load_average_end']}"))

    head = ("| config | batch | vitgrad ms/step [min, max] | PyTorch ms/step [min, max] | vitgrad / PyTorch "
            "| GFLOP/step | vitgrad GFLOP/s (% ceiling, % FMA peak) | PyTorch GFLOP/s (% ceiling, % FMA peak) "
            "| vitgrad peak MiB | PyTorch peak RSS MiB |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    lines = [head]
    for r in rows:
        lines.append(f"| {r['model']} | {r['batch']} | {r['vg_ms']:.0f} [{r['vg_min']:.0f}, {r['vg_max']:.0f}] | "
                     f"{r['pt_ms']:.0f} [{r['pt_min']:.0f}, {r['pt_max']:.0f}] | {r['ratio']:.2f} | {r['gflop']:.1f} | "
                     f"{r['vg_gflops']:.0f} ({rate_pcts(r['vg_gflops'], r)}) | "
                     f"{r['pt_gflops']:.0f} ({rate_pcts(r['pt_gflops'], r)}) | "
                     f"{r['vg_peak_mib']:.0f} | {r['pt_rss_mib']:.0f} |")
    ceilings = ", ".join(f"{r['ceiling']:.0f}" for r in rows)
    peaks = ", ".join(f"{r['fma_peak']:.0f}" for r in rows)
    table = "\n".join(lines)
    print()
    print(table)
    print(f"\nGEMM ceiling (2048^3 through vg::matmul) per configuration, GFLOP/s: {ceilings}")
    print(f"FMA peak (register loop, all threads) per configuration, GFLOP/s: {peaks}")
    print(f"peer: {'stock' if a.stock else 'tuned'}; load average at the end {loadavg()}; logs in {tmp}")
    if a.markdown:
        with open(a.markdown, "w") as f:
            f.write(table + "\n")
    if a.out:
        with open(a.out, "w") as f:
            json.dump(dict(peer="stock" if a.stock else "tuned", peer_environment=peer_desc,
                           vitgrad_environment=vg_desc, threads=a.threads, warmup=a.warmup, reps=a.reps,
                           rounds=a.rounds, rows=rows, raw=raw), f, indent=2)


if __name__ == "__main__":
    main()
