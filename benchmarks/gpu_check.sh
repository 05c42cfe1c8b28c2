#!/usr/bin/env bash
# The GPU run's first call: checks and timing (MODEL_CARD.md, "GPU run"), on a GPU machine that has
# torch with CUDA and pytest but where golf-rt is not installed (run from the repository root;
# results under $OUT, at most 210 s, each step under its own timeout): the carried wheels, the
# preflight (benchmarks/gpu_preflight.py), the GPU's identity, the GPU tests, then PyTorch on CUDA
# at the tile shape (benchmarks/gpu_torch.py: fp32 without TF32, fp16 and bf16, the module with and
# without CUDA graphs and TorchRunner.deblur from numpy to numpy, then the memory per tile size
# with CUDA graphs; each measurement appended to gpu_torch.jsonl as it is made), then the report
# that reads it (and $OUT/gpu/benchmark-gpu.json from the training call, when present).
#
# Every step runs even when an earlier one failed; each step's output is shown and kept in a
# file under $OUT. At the end one line per failed step (its name and exit status) is printed and
# written to $OUT/gpu-check-summary.txt, and the exit status is 1 when any step failed.
source "$(dirname "$0")/gpu_steps.sh"

wheels
step preflight preflight.txt timeout 15 python3 benchmarks/gpu_preflight.py --output "$OUT" --no-photos
step nvidia-smi gpu.csv timeout 10 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
step gpu-tests gpu-tests.txt timeout 100 python3 -m pytest -q -m gpu tests -p no:cacheprovider -rs
step gpu-benchmark gpu_torch.md timeout 50 python3 benchmarks/gpu_torch.py --seconds 40 --output "$OUT/gpu_torch.json"
results=()
for file in "$OUT/gpu_torch.json" "$OUT/gpu/benchmark-gpu.json"; do
  [[ -f $file ]] && results+=("$file")
done
if ((${#results[@]})); then
  step report report.txt timeout 20 python3 -m golf_rt.cli report "${results[@]}" --output "$OUT/report"
else
  steps=$((steps + 1))
  failed+=("report: no result file to report (neither gpu_torch.json nor gpu/benchmark-gpu.json in $OUT)")
fi
finish gpu_check
