#!/usr/bin/env bash
# The NumPy reader shown in docs/studies.md (docs/examples/read_safetensors.py, quoted there
# verbatim) reads what `vitgrad analyze maps --save-maps` and `vitgrad inspect` write, values
# included. Skipped (exit 77) where /usr/bin/python3 has no NumPy.
#   check_numpy_snippet.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build="$1"
src="$2"
py=/usr/bin/python3
if ! "$py" -c "import numpy" 2>/dev/null; then
    echo "skipped: $py with NumPy not found"
    exit 77
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

"$build/vg_tiny_checkpoint" "$work/tiny.safetensors" "$work/images.safetensors"
"$build/vitgrad" analyze maps --checkpoint "$work/tiny.safetensors" --input "$work/images.safetensors" \
    --count 4 --output "$work/maps.png" --save-maps "$work/maps.safetensors" >/dev/null
"$build/vitgrad" inspect --checkpoint "$work/tiny.safetensors" --input "$work/images.safetensors" \
    --output "$work/inspect.safetensors" >/dev/null

"$py" - "$src" "$work" <<'PY'
import pathlib, sys
src, work = pathlib.Path(sys.argv[1]), pathlib.Path(sys.argv[2])
snippet = (src / "docs/examples/read_safetensors.py").read_text()
doc = (src / "docs/studies.md").read_text()
assert snippet.strip() in doc, "docs/studies.md must quote docs/examples/read_safetensors.py verbatim"
sys.path.insert(0, str(src / "docs/examples"))
from read_safetensors import load_safetensors
import numpy as np

maps, meta = load_safetensors(work / "maps.safetensors")
assert meta["query_row"] == "4" and meta["query_col"] == "4", meta
assert maps["blocks.0.maps"].shape == (4, 8, 8), maps["blocks.0.maps"].shape
assert maps["blocks.0.gate"].dtype == np.float32
assert np.allclose(maps["blocks.0.gate"], 1 / (1 + np.exp(-1.0)), atol=1e-6)
# GPSA rows are distributions over the patches; the MHSA rows share theirs with the class token.
assert np.allclose(maps["blocks.0.maps"].sum(axis=(1, 2)), 1, atol=1e-5)
assert np.allclose(maps["blocks.3.maps"].sum(axis=(1, 2)) + maps["blocks.3.other_mass"], 1, atol=1e-5)

out, meta = load_safetensors(work / "inspect.safetensors")
assert out["logits"].shape == (4, 10)
assert out["blocks.0.attn"].shape == (4, 4, 64, 64)
assert np.allclose(out["blocks.0.attn"].sum(-1), 1, atol=1e-5)
# The maps file is the inspect file's centre query row averaged over the images, for GPSA.
q = 4 * 8 + 4
mean_row = out["blocks.0.attn"][:, :, q, :].mean(0).reshape(4, 8, 8)
assert np.allclose(mean_row, maps["blocks.0.maps"], atol=1e-6)
print("NumPy snippet check passed")
PY
