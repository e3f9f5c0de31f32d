#!/usr/bin/env bash
# vitgrad setup: installs what is missing (Debian packages), configures, builds, then runs
#   ./setup.sh         the main job (see README)
#   ./setup.sh test    the whole test suite
#   ./setup.sh build   only the build
#   ./setup.sh demo    the autograd demo (a 2-layer MLP on synthetic data)
#   ./setup.sh gpu-check  the checks that need a CUDA GPU (tests/gpu_check.sh: CUDA build, parity
#                      and reference tests on CUDA, compute-sanitizer, CPU vs CUDA training, GPU
#                      benchmark); says so and exits 0 where there is no GPU
# Environment: BUILD_DIR (default build), VG_CUDA (ON/OFF/AUTO, default AUTO), JOBS.
set -euo pipefail
cd "$(dirname "$0")"
mode="${1:-run}"
shift || true

packages=(build-essential cmake libeigen3-dev doctest-dev libfmt-dev libcli11-dev nlohmann-json3-dev
          libpng-dev libdnnl-dev clang-format)
missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup: installing ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# Every C++/CUDA file of the tree (tracked, or new and not ignored) must be formatted as
# .clang-format says (Debian's clang-format).
check_format() {
    local files
    if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
        mapfile -t files < <(git ls-files --cached --others --exclude-standard \
            '*.cpp' '*.h' '*.cu' '*.cuh' '*.inc' | while read -r f; do [ -f "$f" ] && echo "$f"; done)
    else
        mapfile -t files < <(find core cuda autograd nn models train tests \
            \( -name '*.cpp' -o -name '*.h' -o -name '*.cu' -o -name '*.cuh' -o -name '*.inc' \))
    fi
    if ! clang-format --dry-run --Werror "${files[@]}"; then
        echo "setup: the files above are not formatted; run clang-format -i on them" >&2
        exit 1
    fi
    echo "setup: all ${#files[@]} C++/CUDA files formatted"
}

# The GPU check builds its own CUDA tree (build-cuda) and needs no CPU build.
if [ "$mode" = gpu-check ]; then
    exec tests/gpu_check.sh "$@"
fi

BUILD_DIR="${BUILD_DIR:-build}"
JOBS="${JOBS:-$(nproc)}"
# Warnings are errors here (and so in CI, which runs ./setup.sh test); a plain cmake build keeps
# them warnings.
cmake -S . -B "$BUILD_DIR" -DCMAKE_BUILD_TYPE=Release -DVG_CUDA="${VG_CUDA:-AUTO}" -DVG_WERROR=ON \
    >/dev/null
cmake --build "$BUILD_DIR" -j "$JOBS"

case "$mode" in
    build) ;;
    test)
        # --output-on-failure shows the doctest report of a failing case.
        ctest --test-dir "$BUILD_DIR" --output-on-failure -j "$JOBS" "$@"
        # Every doctest case must be a ctest case: a name ctest splits or mangles would otherwise
        # vanish from the suite (tests/main.cpp also fails a filter that matches nothing).
        if (($# == 0)); then
            listed=$("$BUILD_DIR/vitgrad_tests" --list-test-cases | sed -n 's/.*passing the current filters: //p')
            # (the "install" cases are plain CTest cases, not doctest ones)
            registered=$(ctest --test-dir "$BUILD_DIR" -N -LE install | sed -n 's/^Total Tests: //p')
            if [ "$listed" != "$registered" ]; then
                echo "setup: doctest lists $listed test cases but ctest registered $registered" >&2
                exit 1
            fi
            echo "setup: all $listed doctest cases registered with ctest"
            check_format
        fi
        ;;
    run)
        # The main job: train a ConViT on CIFAR-10. With arguments, they are passed to
        # `vitgrad train` as they are. Without, a GPU trains ConViT-Ti/4 with the full CIFAR recipe
        # and a CPU-only machine trains the micro ConViT for a few epochs (see docs/training.md).
        if (($#)); then
            args=("$@")
        elif "$BUILD_DIR/vitgrad" info --has-gpu >/dev/null 2>&1; then
            args=(--model convit_cifar_tiny --device cuda --output-dir runs/convit_cifar_tiny)
        else
            args=(--model convit_cifar_micro --epochs "${EPOCHS:-10}" --warmup-epochs 1
                  --sched-per-step --output-dir runs/convit_cifar_micro)
        fi
        "$BUILD_DIR/vitgrad" train "${args[@]}"
        ;;
    demo)
        "$BUILD_DIR/vitgrad" demo "$@"
        ;;
    *)
        echo "usage: ./setup.sh [run|test|build|demo|gpu-check] [extra args]" >&2
        exit 2
        ;;
esac
