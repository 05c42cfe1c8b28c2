#!/usr/bin/env bash
# The GPU checks in one call, for a GPU machine that has torch with CUDA and pytest but where
# golf-rt is not installed (run from the repository root; results under $OUT, at most ~5 min):
# the GPU tests, then PyTorch CUDA latency (256x256 and 720x1280; fp32 without TF32, fp16, bf16;
# with and without CUDA graphs) as benchmark JSON, then the report that reads it.
set -uo pipefail
: "${OUT:?set OUT to the folder for results}"
export PYTHONPATH="${PWD}${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$OUT/gpu.csv"
timeout 200 python3 -m pytest -q -m gpu tests -p no:cacheprovider -rs 2>&1 | tee "$OUT/gpu-tests.txt"
timeout 150 python3 benchmarks/gpu_torch.py --seconds 60 --output "$OUT/gpu_torch.json" 2>&1 | tee "$OUT/gpu_torch.md"
python3 -m golf_rt.cli report "$OUT/gpu_torch.json" --output "$OUT/report" 2>&1 | tail -5
