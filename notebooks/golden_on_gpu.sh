#!/usr/bin/env bash
# The golden fixtures' logits through the product on the GPU (`logits --device gpu`, float32) against
# the reference implementations' (udf/src/test/resources/golden, made by golden_parity.py and
# sdar_golden.py): prints max |diff| per fixture. Run on the GPU machine from the project root, with
# .gpu/ from tools/gpu-pack.sh:  bash notebooks/golden_on_gpu.sh OUT_DIR
set -euo pipefail
out=${1:?usage: golden_on_gpu.sh OUT_DIR}
mkdir -p "$out"
G=udf/src/test/resources/golden
run() { bash .gpu/on-gpu.sh --java dev.freedave.tools.Main logits --device gpu "$@" > /dev/null 2>> "$out/golden.log"; }
run --model $G/llada --ids $G/llada/ids.npy --out "$out/llada.npy"
run --model $G/llada --ids $G/llada/padded_ids.npy --mask $G/llada/padded_mask.npy --out "$out/llada-padded.npy"
run --model $G/qwen2 --ids $G/qwen2/ids.npy --out "$out/qwen2.npy"
run --model $G/sdar-untied --ids $G/sdar-untied/ids.npy --block-length 4 --out "$out/sdar-untied.npy"
run --model $G/sdar-tied --ids $G/sdar-tied/ids.npy --block-length 4 --out "$out/sdar-tied.npy"
python3 - "$out" <<'EOF'
import sys
import numpy as np
out, g = sys.argv[1], "udf/src/test/resources/golden"
for name, ref in [("llada", "llada/logits"), ("llada-padded", "llada/padded_logits"), ("qwen2", "qwen2/logits"),
                  ("sdar-untied", "sdar-untied/logits"), ("sdar-tied", "sdar-tied/logits")]:
    got, want = np.load(f"{out}/{name}.npy"), np.load(f"{g}/{ref}.npy")
    print(f"{name:14s} gpu vs reference max|diff| {np.abs(got - want).max():.3g}")
EOF
