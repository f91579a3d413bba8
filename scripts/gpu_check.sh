#!/usr/bin/env bash
# The GPU check, in one short run on a CUDA machine with nrp_plugin installed (README's set-up command):
#   1. the main job (default models, embedded world) from empty caches, on CUDA;
#   2. the twelve-model zoo (examples/zoo12.txt) with one Dask worker per GPU, on CUDA;
#   3. the full-size speed benchmark (scripts/benchmark_speed.py) on CUDA, without Brain-Score's reference PLS.
# It prints each step's wall time, the zoo's models per hour and the peak GPU memory seen while each step ran.
# Usage: bash scripts/gpu_check.sh [OUT]   (default OUT: gpu_check)
set -euo pipefail
out=${1:-gpu_check}
mkdir -p "$out"
command -v nvidia-smi > /dev/null || { echo "gpu_check: no nvidia-smi: run this on a CUDA machine" >&2; exit 2; }
python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
  || { echo "gpu_check: torch sees no CUDA device" >&2; exit 2; }
gpus=$(nvidia-smi -L | wc -l)
export NRP_PLUGIN_HOME="$out/home" RESULTCACHING_HOME="$out/result_caching" BS_INSTALL_DEPENDENCIES=no
rm -rf "$NRP_PLUGIN_HOME" "$RESULTCACHING_HOME"

step() {  # step NAME COMMAND...: run it, with the GPU memory sampled every 0.5 s
  local name=$1; shift
  nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 > "$out/$name.gpu_memory" &
  local sampler=$!
  local start=$(date +%s.%N)
  "$@" > "$out/$name.log" 2>&1 || echo "gpu_check: $name exited with $? (see $out/$name.log)"
  local end=$(date +%s.%N)
  kill "$sampler" 2> /dev/null || true
  local peak=$(sort -n "$out/$name.gpu_memory" | tail -1)
  printf '%s: %.0f s wall, peak GPU memory %s MiB\n' "$name" "$(echo "$end - $start" | bc)" "${peak:-?}" | tee -a "$out/summary.txt"
  echo "$end - $start" | bc > "$out/$name.seconds"
}

step main_job nrp-plugin compare --device cuda --out "$out/main_job" --quiet
step zoo nrp-plugin compare --device cuda --models examples/zoo12.txt --workers "$gpus" --out "$out/zoo" --quiet
printf 'zoo: %.1f models per hour on %s GPU(s)\n' "$(echo "12 * 3600 / $(cat "$out/zoo.seconds")" | bc -l)" "$gpus" \
  | tee -a "$out/summary.txt"
step speed python scripts/benchmark_speed.py --device cuda --skip-reference --methods all
cat "$out/summary.txt"
