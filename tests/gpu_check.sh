#!/usr/bin/env bash
# The checks that need a CUDA GPU, in one command (`./setup.sh gpu-check`), meant to finish in
# under 8 minutes on one recent GPU with a 16-core host. Every part writes its log under
# $GPU_CHECK_DIR and gets one PASS / FAIL / SKIP line in the summary table at the end; a failing
# part never stops the next one.
#
#   build      CUDA build of vitgrad_tests and vitgrad (in $CUDA_BUILD_DIR)
#   cuda       every "cuda*" test case but the model references: the op-table parity suite,
#              larger shapes, edge inputs, runtime and optimiser tests
#   reference  the tiny ConViT / DeiT PyTorch dumps (tests/reference) on CUDA
#   memcheck   compute-sanitizer memcheck over the parity suite
#   train      1 epoch of convit_cifar_tiny on $TRAIN_IMAGES images, on the CPU and on CUDA with
#              one seed: the first $STEPS_COMPARED step losses must agree within $LOSS_TOL
#   bench      `vitgrad bench --device cuda` step rows beside PyTorch eager and torch.compile
#   racecheck  compute-sanitizer racecheck over the shapes suite (the kernels with shared
#              memory), last, as time allows
#
# Without a GPU it says so and exits 0 (GPU_CHECK_FORCE=1 runs every part anyway: a dry run, in
# which the device parts report SKIP or FAIL). Exit status: 1 when a part failed, else 0.
# Environment (defaults): CUDA_BUILD_DIR (build-cuda), GPU_CHECK_DIR ($CUDA_BUILD_DIR/gpu-check),
# CUDA_ARCH (nvidia-smi's compute capability, else 90), JOBS (nproc), PYTHON (the first of
# python3, /usr/bin/python3, python that imports torch), TRAIN_IMAGES (2048), STEPS_COMPARED (5),
# LOSS_TOL (2e-3), BENCH_MODELS (convit_ti4,deit_ti4), BENCH_BATCH (128), VITGRAD_DATA (data root),
# GPU_CHECK_BUDGET (480 s: a part that would start with less than 30 s of it left is skipped, and
# each part's time limit is cut to what is left).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 1

CUDA_BUILD_DIR="${CUDA_BUILD_DIR:-build-cuda}"
GPU_CHECK_DIR="${GPU_CHECK_DIR:-$CUDA_BUILD_DIR/gpu-check}"
JOBS="${JOBS:-$(nproc)}"
TRAIN_IMAGES="${TRAIN_IMAGES:-2048}"
STEPS_COMPARED="${STEPS_COMPARED:-5}"
LOSS_TOL="${LOSS_TOL:-2e-3}"
BENCH_MODELS="${BENCH_MODELS:-convit_ti4,deit_ti4}"
BENCH_BATCH="${BENCH_BATCH:-128}"
GPU_CHECK_BUDGET="${GPU_CHECK_BUDGET:-480}"
TESTS="$CUDA_BUILD_DIR/vitgrad_tests"
VITGRAD="$CUDA_BUILD_DIR/vitgrad"
START=$SECONDS

# --- is there a GPU? -------------------------------------------------------------------------------
gpu_present() {
    if command -v nvidia-smi >/dev/null 2>&1; then
        nvidia-smi -L 2>/dev/null | grep -q '^GPU '
    else
        compgen -G '/dev/nvidia[0-9]*' >/dev/null
    fi
}
HAVE_GPU=1
if ! gpu_present; then
    HAVE_GPU=0
    if [ "${GPU_CHECK_FORCE:-0}" != 1 ]; then
        echo "gpu-check: no CUDA GPU on this machine (nvidia-smi lists none, or is absent with no /dev/nvidia*); nothing to check."
        echo "gpu-check: run it on a machine with a GPU, or GPU_CHECK_FORCE=1 for a dry run."
        exit 0
    fi
    echo "gpu-check: no CUDA GPU found; GPU_CHECK_FORCE=1, so every part runs as a dry run"
fi
mkdir -p "$GPU_CHECK_DIR"

# --- the summary ---------------------------------------------------------------------------------
declare -a PART_NAMES=() PART_RESULTS=() PART_SECONDS=() PART_NOTES=()
record() {  # name result seconds note
    PART_NAMES+=("$1")
    PART_RESULTS+=("$2")
    PART_SECONDS+=("$3")
    PART_NOTES+=("$4")
    printf 'gpu-check: %-9s %s (%ss) %s\n' "$1" "$2" "$3" "$4"
}

# Runs a part's command with a time limit (cut to the budget left), its output in
# $GPU_CHECK_DIR/<name>.log; sets RC (124 or 137: timed out).
run_logged() {  # name limit_seconds command...
    local name=$1 limit=$2
    shift 2
    local left=$((GPU_CHECK_BUDGET - (SECONDS - START)))
    ((left < limit)) && limit=$((left > 30 ? left : 30))
    echo "gpu-check: $name (limit ${limit}s): $*" | tee "$GPU_CHECK_DIR/$name.log"
    timeout --kill-after=15 "$limit" "$@" >>"$GPU_CHECK_DIR/$name.log" 2>&1
    RC=$?
}

# Whether part `name` may start: the build must have succeeded and 30 s of the budget be left.
# Records FAIL or SKIP and returns 1 otherwise.
can_start() {  # name
    if [ "$BUILT" != 1 ]; then
        record "$1" FAIL 0 "not run: the build failed"
        return 1
    fi
    if ((SECONDS - START > GPU_CHECK_BUDGET - 30)); then
        record "$1" SKIP 0 "not run: the ${GPU_CHECK_BUDGET}s budget is spent"
        return 1
    fi
}

# A doctest run's result: PASS, SKIP or FAIL. A case that skipped (no usable device) fails the
# part where a GPU is present, and makes it SKIP in a dry run without one.
test_result() {  # rc log
    local skipped
    skipped=$(sed -n 's/^vitgrad_tests: \([0-9]*\) of [0-9]* test cases skipped$/\1/p' "$2")
    if [ "$1" = 0 ] || [ "$1" = 77 ]; then
        if [ -z "$skipped" ]; then
            echo PASS
        elif [ "$HAVE_GPU" = 1 ]; then
            echo FAIL
        else
            echo SKIP
        fi
    else
        echo FAIL
    fi
}
why() {  # rc log
    local skipped
    skipped=$(sed -n 's/^vitgrad_tests: \([0-9]* of [0-9]*\) test cases skipped$/\1/p' "$2")
    case "$1" in
        0 | 77) [ -n "$skipped" ] && echo "$skipped test cases skipped: no usable CUDA device" ;;
        124 | 137) echo "timed out; see $2" ;;
        *) echo "exit $1; see $2" ;;
    esac
}

# --- build -----------------------------------------------------------------------------------------
NVCC=$(command -v nvcc || echo /usr/local/cuda/bin/nvcc)
CUDA_ARCH="${CUDA_ARCH:-$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null |
    head -n1 | tr -d '. ')}"
CUDA_ARCH="${CUDA_ARCH:-90}"
t0=$SECONDS
BUILT=0
if [ ! -x "$NVCC" ]; then
    record build FAIL 0 "no nvcc (looked on PATH and in /usr/local/cuda/bin)"
else
    run_logged build 420 bash -c "cmake -S . -B '$CUDA_BUILD_DIR' -DCMAKE_BUILD_TYPE=Release \
        -DVG_CUDA=ON -DCMAKE_CUDA_COMPILER='$NVCC' -DVG_CUDA_ARCHS='$CUDA_ARCH' &&
        cmake --build '$CUDA_BUILD_DIR' -j '$JOBS' --target vitgrad_tests vitgrad_cli"
    if [ "$RC" = 0 ]; then
        BUILT=1
        record build PASS $((SECONDS - t0)) "sm_$CUDA_ARCH, $NVCC"
    else
        record build FAIL $((SECONDS - t0)) "$(why "$RC" "$GPU_CHECK_DIR/build.log")"
    fi
fi

# --- test suites -----------------------------------------------------------------------------------
run_tests() {  # name limit doctest-args...
    local name=$1 limit=$2
    shift 2
    can_start "$name" || return
    local t=$SECONDS
    run_logged "$name" "$limit" "$TESTS" "$@"
    local cases
    cases=$(grep -o '[0-9]* passed | [0-9]* failed | [0-9]* skipped' "$GPU_CHECK_DIR/$name.log" |
        tail -n1)
    record "$name" "$(test_result "$RC" "$GPU_CHECK_DIR/$name.log")" $((SECONDS - t)) \
        "$(why "$RC" "$GPU_CHECK_DIR/$name.log")${cases:+ [test cases: $cases]}"
}
run_tests cuda 240 -tc="cuda*" -tce="cuda reference*"
run_tests reference 120 -tc="cuda reference*"

# --- compute-sanitizer -----------------------------------------------------------------------------
SANITIZER=$(command -v compute-sanitizer || echo /usr/local/cuda/bin/compute-sanitizer)
run_sanitizer() {  # name tool limit doctest-args...
    local name=$1 tool=$2 limit=$3
    shift 3
    can_start "$name" || return
    if [ ! -x "$SANITIZER" ]; then
        record "$name" FAIL 0 "compute-sanitizer not found (PATH, /usr/local/cuda/bin)"
        return
    fi
    local t=$SECONDS
    # --error-exitcode: a reported hazard fails the part even when every test case passed.
    run_logged "$name" "$limit" "$SANITIZER" --tool "$tool" --error-exitcode 86 \
        "$TESTS" "$@"
    local summary
    summary=$(grep -E '(ERROR|RACECHECK|LEAK) SUMMARY' "$GPU_CHECK_DIR/$name.log" | tail -n1)
    record "$name" "$(test_result "$RC" "$GPU_CHECK_DIR/$name.log")" $((SECONDS - t)) \
        "$(why "$RC" "$GPU_CHECK_DIR/$name.log")${summary:+ [$summary]}"
}
run_sanitizer memcheck memcheck 180 -tc="cuda parity*"

# --- training: CPU and CUDA, same seed ---------------------------------------------------------
part_train() {
    can_start train || return
    local t=$SECONDS dir="$GPU_CHECK_DIR/train"
    rm -rf "$dir"
    mkdir -p "$dir"
    local common=(--model convit_cifar_tiny --epochs 1 --limit-train "$TRAIN_IMAGES"
        --limit-test 1000 --batch-size 64 --warmup-epochs 0 --seed 0 --log-every 1)
    local dev
    for dev in cpu cuda; do
        run_logged "train-$dev" 240 "$VITGRAD" train "${common[@]}" --device "$dev" \
            --output-dir "$dir/$dev"
        if [ "$RC" != 0 ]; then
            record train FAIL $((SECONDS - t)) "the $dev run $(why "$RC" "$GPU_CHECK_DIR/train-$dev.log")"
            return
        fi
    done
    # "epoch 1/1 step 3/32 loss 2.2974 lr ..." -> one loss per line, in step order.
    local losses_cpu losses_cuda
    losses_cpu=$(sed -n 's/.* step [0-9]*\/[0-9]* loss \([^ ]*\) .*/\1/p' "$GPU_CHECK_DIR/train-cpu.log")
    losses_cuda=$(sed -n 's/.* step [0-9]*\/[0-9]* loss \([^ ]*\) .*/\1/p' "$GPU_CHECK_DIR/train-cuda.log")
    local verdict
    verdict=$(paste -d' ' <(echo "$losses_cpu") <(echo "$losses_cuda") | awk -v n="$STEPS_COMPARED" \
        -v tol="$LOSS_TOL" '
        NF == 2 && NR <= n { d = $1 - $2; if (d < 0) d = -d; if (d > worst) worst = d; seen++
                             cpu = cpu " " $1; gpu = gpu " " $2 }
        NF != 2 { broken = 1 }
        END {
            if (seen < n || broken) { printf "FAIL %d comparable steps of %d\n", seen, n; exit }
            printf "%s first %d losses cpu%s | cuda%s; max |diff| %.4g (tol %s)\n",
                   worst <= tol ? "PASS" : "FAIL", n, cpu, gpu, worst, tol }')
    local epoch_cpu epoch_cuda
    epoch_cpu=$(grep -o 'train loss [0-9.]*, test loss [0-9.]*, top-1 [0-9.]*%' "$GPU_CHECK_DIR/train-cpu.log")
    epoch_cuda=$(grep -o 'train loss [0-9.]*, test loss [0-9.]*, top-1 [0-9.]*%' "$GPU_CHECK_DIR/train-cuda.log")
    echo "epoch: cpu ${epoch_cpu:-?} | cuda ${epoch_cuda:-?}" >>"$GPU_CHECK_DIR/train-cuda.log"
    record train "${verdict%% *}" $((SECONDS - t)) \
        "${verdict#* }; epoch: cpu ${epoch_cpu:-?} | cuda ${epoch_cuda:-?}"
}
part_train

# --- benchmark: vitgrad beside PyTorch eager and torch.compile ---------------------------------------
find_torch_python() {
    local p
    for p in ${PYTHON:-} python3 /usr/bin/python3 python; do
        if command -v "$p" >/dev/null 2>&1 && "$p" -c 'import torch' >/dev/null 2>&1; then
            echo "$p"
            return
        fi
    done
}
part_bench() {
    can_start bench || return
    local t=$SECONDS vg_json="$GPU_CHECK_DIR/bench-vitgrad.json"
    local eager_json="$GPU_CHECK_DIR/bench-eager.json" compiled_json="$GPU_CHECK_DIR/bench-compile.json"
    rm -f "$vg_json" "$eager_json" "$compiled_json"
    run_logged bench 150 "$VITGRAD" bench --device cuda --steps-only --model "$BENCH_MODELS" \
        --batch "$BENCH_BATCH" --json "$vg_json"
    local vg_rc=$RC notes=()
    [ "$vg_rc" = 0 ] || notes+=("vitgrad bench $(why "$vg_rc" "$GPU_CHECK_DIR/bench.log")")
    local py
    py=$(find_torch_python)
    if [ -z "$py" ]; then
        notes+=("no python that imports torch: peer columns n/a")
    else
        run_logged bench-eager 120 "$py" tests/bench/peer_bench.py --device cuda \
            --model "$BENCH_MODELS" --batch "$BENCH_BATCH" --json "$eager_json"
        [ "$RC" = 0 ] || notes+=("PyTorch eager $(why "$RC" "$GPU_CHECK_DIR/bench-eager.log")")
        run_logged bench-compile 240 "$py" tests/bench/peer_bench.py --device cuda --compile \
            --model "$BENCH_MODELS" --batch "$BENCH_BATCH" --json "$compiled_json"
        [ "$RC" = 0 ] || notes+=("torch.compile n/a: $(why "$RC" "$GPU_CHECK_DIR/bench-compile.log")")
    fi
    python3 tests/bench/gpu_table.py --vitgrad "$vg_json" --eager "$eager_json" \
        --compiled "$compiled_json" | tee "$GPU_CHECK_DIR/bench-table.txt"
    # The peers are context: only vitgrad's own rows decide the part.
    local result=FAIL
    [ "$vg_rc" = 0 ] && result=PASS
    local note="table in $GPU_CHECK_DIR/bench-table.txt" n
    for n in "${notes[@]}"; do note="$note; $n"; done
    record bench "$result" $((SECONDS - t)) "$note"
}
part_bench
run_sanitizer racecheck racecheck 120 -tc="cuda shapes*"

# --- summary -----------------------------------------------------------------------------------------
failed=0
echo
echo "gpu-check summary ($((SECONDS - START)) s in all; logs in $GPU_CHECK_DIR)"
printf '%-10s %-6s %6s  %s\n' part result time note
for i in "${!PART_NAMES[@]}"; do
    printf '%-10s %-6s %5ss  %s\n' "${PART_NAMES[$i]}" "${PART_RESULTS[$i]}" "${PART_SECONDS[$i]}" \
        "${PART_NOTES[$i]}"
    [ "${PART_RESULTS[$i]}" = FAIL ] && failed=1
done
if [ -s "$GPU_CHECK_DIR/bench-table.txt" ]; then
    echo
    cat "$GPU_CHECK_DIR/bench-table.txt"
fi
exit "$failed"
