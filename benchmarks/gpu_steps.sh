# Sourced by benchmarks/gpu_check.sh and benchmarks/gpu_train.sh, the GPU run's two calls (MODEL_CARD.md,
# "GPU run"): results under $OUT, the carried wheels installed, one `step` per command and the summary.
#
# Each step's command carries its own `timeout N`: the calls' time is the sum of those, and
# tests/test_gpu_check.py checks that sum against the call's limits in MODEL_CARD.md.
set -uo pipefail
: "${OUT:?set OUT to the folder for results}"
GPU_WHEELS=${GPU_WHEELS:-data/wheels}  # wheels carried to a machine without network (pypng)
GPU_SITE=${GPU_SITE:-/tmp/site}
export PYTHONPATH="${PWD}:${GPU_SITE}${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1
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

# wheels: install the carried wheels into $GPU_SITE (on PYTHONPATH already); nothing when there are none.
wheels() {
  local found=("$GPU_WHEELS"/*.whl)
  [[ -e ${found[0]} ]] || return 0
  step wheels wheels.txt timeout 15 python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir \
    --target "$GPU_SITE" "${found[@]}"
}

# finish NAME: one line per failed step, printed and written to $OUT/NAME-summary.txt (NAME with '-' for '_');
# the status is 1 when any step failed.
finish() {
  {
    if ((${#failed[@]})); then
      echo "$1: ${#failed[@]} of $steps steps failed"
      printf 'FAILED %s\n' "${failed[@]}"
    else
      echo "$1: all $steps steps passed"
    fi
  } | tee "$OUT/${1//_/-}-summary.txt"
  ((${#failed[@]} == 0))
}
