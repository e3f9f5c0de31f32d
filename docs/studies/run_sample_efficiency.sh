#!/usr/bin/env bash
# ConViT vs DeiT sample efficiency on CIFAR-10 subsets (docs/study-sample-efficiency.md).
# Run from the repository root after ./setup.sh: docs/studies/run_sample_efficiency.sh
# (BIN: the vitgrad binary, default build/vitgrad; OUT: where the runs go, default runs/study;
# EPOCHS: the budget in epochs of the full set, default 2).
# Then: python3 docs/studies/sample_efficiency_summary.py runs/study docs/studies/sample-efficiency
# Every run sees the same number of training images, EPOCHS epochs of the full set (2: 100k
# images), the epochs scaled by 1/fraction. `budget` runs only the 10% pair of seed 0, for the
# budget check: OUT=runs/study-300k EPOCHS=6 docs/studies/run_sample_efficiency.sh budget
# Two queues of single-threaded runs side by side (2 cores).
# Then the final checkpoint of each run is evaluated on the whole test file, with predictions
# for the per-class split into lossless and re-encoded records.
set -u
BIN=${BIN:-build/vitgrad}
OUT=${OUT:-runs/study}
EPOCHS=${EPOCHS:-2}
common=(--epochs "$EPOCHS" --warmup-epochs 0.4 --sched-per-step --epochs-scale-with-fraction
        --threads 1 --workers 1 --limit-test 1000 --track-internals --internals-images 512
        --checkpoint-every 100000 --log-every 100)
run() {  # model fraction seed
    local dir="$OUT/$1_f$2_s$3"
    [ -f "$dir/DONE" ] && return 0
    mkdir -p "$dir"
    "$BIN" train --model "$1" --train-fraction "$2" --seed "$3" --subset-seed "$3" \
        --output-dir "$dir" "${common[@]}" > "$dir/train.log" 2>&1 &&
    "$BIN" eval "$dir/checkpoint.safetensors" --threads 1 --workers 1 \
        --predictions "$dir/predictions.csv" > "$dir/eval.log" 2>&1
    local rc=$?
    [ $rc -eq 0 ] && touch "$dir/DONE"
    echo "$(date +%H:%M:%S) done $dir rc=$rc"
}
queue_a() { run convit_micro 0.1 0; run deit_micro 0.25 0; run convit_micro 0.5 0; run deit_micro 1 0; run convit_micro 0.1 1; }
queue_b() { run deit_micro 0.1 0; run convit_micro 0.25 0; run deit_micro 0.5 0; run convit_micro 1 0; run deit_micro 0.1 1; }
case "${1:-both}" in
    queue_a) queue_a ;;
    queue_b) queue_b ;;
    budget) run convit_micro 0.1 0 & run deit_micro 0.1 0 & wait ;;
    *) queue_a & queue_b & wait ;;
esac
