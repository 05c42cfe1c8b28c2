#!/usr/bin/env bash
# The GPU run's second call: training (MODEL_CARD.md, "GPU run"), from the repository root, results
# under $OUT, at most 220 s: the carried wheels, the preflight (a GPU, every module, the photos of
# data/photos), then `training.gpu_run` for 3 minutes counted from its own start (start-up, warm-ups,
# autotuning, compilation, graph capture, evaluation and timing included), with 10 s to spare
# before its timeout. log.jsonl, best.safetensors and state.safetensors are written as the run
# goes, so a run stopped early keeps what it did. The training is skipped when the preflight fails.
source "$(dirname "$0")/gpu_steps.sh"

wheels
step preflight preflight.txt timeout 15 python3 benchmarks/gpu_preflight.py --output "$OUT"
if ((${#failed[@]})); then
  steps=$((steps + 1))
  failed+=("training: not started, since an earlier step failed")
else
  step training training.txt timeout 190 python3 -m training.gpu_run --minutes 3 --device cuda --output "$OUT/gpu"
fi
finish gpu_train
