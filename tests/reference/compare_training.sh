#!/usr/bin/env bash
# Trains the same model with the same recipe knobs and seed in vitgrad and in the independent
# PyTorch implementation (train_reference.py), both at once with one thread each, and collects
# their per-epoch metrics into one JSON-lines file for plot_curves.py.
#
# usage: tests/reference/compare_training.sh [OUT_DIR]
# environment (defaults in brackets): VITGRAD [build-cmp/vitgrad], PYTHON [/usr/bin/python3],
#   MODEL [convit_cifar_micro], EPOCHS [3], BATCH [256], WARMUP [1], SEED [0],
#   LIMIT_TRAIN [0 = all 50000], LIMIT_TEST [0 = all 10000],
#   DATA [../shared/data next to the repository] (the directory holding cifar-10-batches-bin/),
#   COLLECT_ONLY [0] (1: only rebuild OUT/curves.jsonl from the two metrics files)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OUT="${1:-$ROOT/runs/compare}"
VITGRAD="${VITGRAD:-$ROOT/build-cmp/vitgrad}"
PYTHON="${PYTHON:-/usr/bin/python3}"
MODEL="${MODEL:-convit_cifar_micro}"
EPOCHS="${EPOCHS:-3}"
BATCH="${BATCH:-256}"
WARMUP="${WARMUP:-1}"
SEED="${SEED:-0}"
LIMIT_TRAIN="${LIMIT_TRAIN:-0}"
LIMIT_TEST="${LIMIT_TEST:-0}"
DATA="${DATA:-$(cd "$ROOT/.." && pwd)/shared/data}"
mkdir -p "$OUT/vitgrad" "$OUT/pytorch"
export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1

VG_RC=0; PT_RC=0
if [[ "${COLLECT_ONLY:-0}" != 1 ]]; then
    echo "$(date -u +%FT%TZ) start: $MODEL, $EPOCHS epochs, batch $BATCH, warmup $WARMUP (per step), seed $SEED" \
        | tee "$OUT/compare.log"

    # Everything else is the default recipe on both sides. --workers 0 builds vitgrad's batches on the
    # training thread, as the PyTorch script does, so each run uses one core.
    "$VITGRAD" train --model "$MODEL" --dataset cifar10 --data-dir "$DATA" --output-dir "$OUT/vitgrad" \
        --epochs "$EPOCHS" --batch-size "$BATCH" --warmup-epochs "$WARMUP" --sched-per-step true \
        --seed "$SEED" --threads 1 --workers 0 --limit-train "$LIMIT_TRAIN" --limit-test "$LIMIT_TEST" \
        --log-every 20 > "$OUT/vitgrad/train.log" 2>&1 &
    VG_PID=$!

    "$PYTHON" "$ROOT/tests/reference/train_reference.py" --model "$MODEL" \
        --data-dir "$DATA/cifar-10-batches-bin" --epochs "$EPOCHS" --batch-size "$BATCH" \
        --warmup-epochs "$WARMUP" --sched-per-step --seed "$SEED" --threads 1 \
        --limit-train "$LIMIT_TRAIN" --limit-test "$LIMIT_TEST" \
        --out "$OUT/pytorch/metrics.jsonl" > "$OUT/pytorch/train.log" 2>&1 &
    PT_PID=$!

    wait "$VG_PID" || VG_RC=$?
    echo "$(date -u +%FT%TZ) vitgrad finished, rc $VG_RC" | tee -a "$OUT/compare.log"
    wait "$PT_PID" || PT_RC=$?
    echo "$(date -u +%FT%TZ) pytorch finished, rc $PT_RC" | tee -a "$OUT/compare.log"
fi

# One line per (implementation, epoch) with the fields both sides log, in the same units: top-1 in
# percent (vitgrad logs percent, train_reference.py a fraction) and training seconds without the
# evaluation (vitgrad's epoch_seconds, train_reference.py's train_seconds).
"$PYTHON" - "$OUT" <<'PY' | tee "$OUT/curves.jsonl"
import json, sys
out = sys.argv[1]
for impl in ("vitgrad", "pytorch"):
    try:
        lines = open(f"{out}/{impl}/metrics.jsonl").read().splitlines()
    except FileNotFoundError:
        continue
    for line in lines:
        r = json.loads(line)
        top1 = r["top1"] * 100 if impl == "pytorch" else r["top1"]
        secs = r["train_seconds"] if impl == "pytorch" else r["epoch_seconds"]
        print(json.dumps({"impl": impl, "epoch": r["epoch"], "lr": r["lr"], "train_loss": r["train_loss"],
                          "test_loss": r["test_loss"], "top1": top1, "images_per_s": r["images_per_s"],
                          "train_seconds": secs}))
PY
exit $(( VG_RC != 0 || PT_RC != 0 ))
