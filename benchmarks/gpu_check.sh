#!/usr/bin/env bash
# The GPU checks in one call, for a GPU machine that has torch with CUDA and pytest but where
# golf-rt is not installed (run from the repository root; results under $OUT, at most ~5 min):
# the preflight (benchmarks/gpu_preflight.py), the GPU's identity, the GPU tests, then PyTorch
# CUDA latency (256x256 and 720x1280; fp32 without TF32, fp16, bf16; the module alone with and
# without CUDA graphs, and TorchRunner.deblur from numpy to numpy) as benchmark JSON, then the
# report that reads it (and $OUT/gpu/benchmark-gpu.json from training.gpu_run when present).
#
# Every step runs even when an earlier one failed; each step's output is shown and kept in a
# file under $OUT. At the end one line per failed step (its name and exit status) is printed and
# written to $OUT/gpu-check-summary.txt, and the exit status is 1 when any step failed.
set -uo pipefail
: "${OUT:?set OUT to the folder for results}"
export PYTHONPATH="${PWD}${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
mkdir -p "$OUT"
failed=()
steps=0

# step NAME LOG COMMAND...: run COMMAND, its output shown and written to $OUT/LOG; a failure is recorded.
step() {
  local name=$1 log=$2 status
  shift 2
  steps=$((steps + 1))
  echo "== $name"
  "$@" 2>&1 | tee "$OUT/$log"
  status=("${PIPESTATUS[@]}")  # with pipefail, $? would be tee's status when the command succeeded
  if ((status[0] == 124)); then
    failed+=("$name: timed out (exit 124)")
  elif ((status[0] != 0)); then
    failed+=("$name: exit ${status[0]}")
  elif ((status[1] != 0)); then
    failed+=("$name: its log $OUT/$log could not be written (tee exit ${status[1]})")
  fi
}

step preflight preflight.txt python3 benchmarks/gpu_preflight.py --output "$OUT" --no-photos
step nvidia-smi gpu.csv nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv
step gpu-tests gpu-tests.txt timeout 200 python3 -m pytest -q -m gpu tests -p no:cacheprovider -rs
step gpu-benchmark gpu_torch.md timeout 150 python3 benchmarks/gpu_torch.py --seconds 60 --output "$OUT/gpu_torch.json"
results=()
for file in "$OUT/gpu_torch.json" "$OUT/gpu/benchmark-gpu.json"; do
  [[ -f $file ]] && results+=("$file")
done
if ((${#results[@]})); then
  step report report.txt python3 -m golf_rt.cli report "${results[@]}" --output "$OUT/report"
else
  steps=$((steps + 1))
  failed+=("report: no result file to report (neither gpu_torch.json nor gpu/benchmark-gpu.json in $OUT)")
fi

{
  if ((${#failed[@]})); then
    echo "gpu_check: ${#failed[@]} of $steps steps failed"
    printf 'FAILED %s\n' "${failed[@]}"
  else
    echo "gpu_check: all $steps steps passed"
  fi
} | tee "$OUT/gpu-check-summary.txt"
((${#failed[@]} == 0))
