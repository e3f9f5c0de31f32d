#!/usr/bin/env bash
# Installs vitgrad from BUILD_DIR into a temporary prefix, builds docs/examples/nonlocality against
# the installed package with find_package(vitgrad), and runs it on a tiny checkpoint.
#   check_install.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

cmake --install "$build" --prefix "$work/prefix" >"$work/install.log"
launcher=()
command -v ccache >/dev/null && launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
cmake -S "$src/docs/examples/nonlocality" -B "$work/example" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_PREFIX_PATH="$work/prefix" "${launcher[@]}" >"$work/configure.log"
cmake --build "$work/example" -j 2 >"$work/build.log"

"$build/vg_tiny_checkpoint" "$work/tiny.safetensors" "$work/images.safetensors"
"$work/example/nonlocality" "$work/tiny.safetensors" "$work/images.safetensors" | tee "$work/out.txt"

# convit_cifar_micro: 3 GPSA layers and 1 MHSA layer of 4 heads, each with a mean.
[ "$(grep -c '^layer [1-3] GPSA: .* mean ' "$work/out.txt")" = 3 ]
[ "$(grep -c '^layer 4 MHSA: .* mean ' "$work/out.txt")" = 1 ]
# The raw-maps route gives the study's numbers for the last layer.
study_last=$(grep '^layer 4 MHSA:' "$work/out.txt" | sed 's/^layer 4 MHSA: \(.*\)   mean.*/\1/')
raw_last=$(grep '^last layer from the raw maps:' "$work/out.txt" | sed 's/^.*maps: //')
[ "$study_last" = "$raw_last" ] || { echo "study: '$study_last', raw: '$raw_last'" >&2; exit 1; }
echo "install check: the example built against $work/prefix and ran"
