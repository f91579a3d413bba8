#!/usr/bin/env bash
# The GPU check: one command on a CUDA machine with nrp_plugin installed (README's set-up command), about 10 minutes
# on one H100. In order:
#   1. cuda_tests: the suite's CUDA tests (those that skip without a GPU);
#   2. main_job:   the default main job (default models, embedded world) from empty homes (fresh NRP_PLUGIN_HOME and
#                  RESULTCACHING_HOME), on CUDA;
#   3. zoo:        the twelve-model zoo (examples/zoo12.txt), one Dask worker per GPU, on CUDA;
#   4. speed:      the full-size benchmark of every mapping (scripts/benchmark_speed.py: pls_torch, the NRP, each
#                  reference alone, all of them together) and Brain-Score's own pls at full size in the same process,
#                  for the ratio of the NRP + every reference + pls_torch over Brain-Score's pls.
# Each step runs under a time limit (seconds: GPU_CHECK_LIMIT_CUDA_TESTS, _MAIN_JOB, _ZOO, _SPEED); a step past its
# limit is stopped and the table says so. The end is one summary table: each step's status, wall time, peak GPU
# memory (nvidia-smi, sampled every 0.5 s) and result (tests passed, the main job's NRP-errors, the zoo's models per
# hour, the speed ratio).
#
# Usage: bash scripts/gpu_check.sh [--dry-run] [OUT]      (default OUT: gpu_check)
#   --dry-run: the same four steps on the CPU at tiny sizes (one small model, 640 stimuli, 2 splits), to check this
#              script on a machine without a GPU; its figures mean nothing.
set -uo pipefail
dry=0
if [[ ${1:-} == --dry-run ]]; then dry=1; shift; fi
out=${1:-gpu_check}
mkdir -p "$out"
out=$(cd "$out" && pwd)
repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"

if (( dry )); then
  device=cpu
  gpus=0
  main_args=(--models torchvision:squeezenet1_1 --regions IT --nrp-config '{"max_epochs": 5}')
  zoo_models=(torchvision:squeezenet1_1 torchvision:shufflenet_v2_x0_5)
  zoo_args=(--models "${zoo_models[@]}" --regions IT --nrp-config '{"max_epochs": 5}' --workers 1)
  speed_args=(--stimuli 640 --objects 16 --splits 2 --features-v4 2000 --features-it 500 --no-install)
  limits=(${GPU_CHECK_LIMIT_CUDA_TESTS:-300} ${GPU_CHECK_LIMIT_MAIN_JOB:-900} ${GPU_CHECK_LIMIT_ZOO:-900}
          ${GPU_CHECK_LIMIT_SPEED:-600})
else
  command -v nvidia-smi > /dev/null || { echo "gpu_check: no nvidia-smi: run this on a CUDA machine (or --dry-run)" >&2; exit 2; }
  python -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" \
    || { echo "gpu_check: torch sees no CUDA device (or --dry-run)" >&2; exit 2; }
  device=cuda
  gpus=$(nvidia-smi -L | wc -l)
  main_args=()
  zoo_models=()
  while read -r line; do [[ -n $line && $line != \#* ]] && zoo_models+=("$line"); done < examples/zoo12.txt
  zoo_args=(--models examples/zoo12.txt --workers "$gpus")
  speed_args=()
  limits=(${GPU_CHECK_LIMIT_CUDA_TESTS:-60} ${GPU_CHECK_LIMIT_MAIN_JOB:-150} ${GPU_CHECK_LIMIT_ZOO:-150}
          ${GPU_CHECK_LIMIT_SPEED:-300})
fi

export NRP_PLUGIN_HOME="$out/home" RESULTCACHING_HOME="$out/result_caching" BS_INSTALL_DEPENDENCIES=no
rm -rf "$NRP_PLUGIN_HOME" "$RESULTCACHING_HOME" "$out"/*.log "$out"/*.status "$out"/*.seconds "$out"/*.gpu_memory \
  "$out/speed.json" "$out/main_job" "$out/zoo"

step() {  # step NAME LIMIT COMMAND...: run it under the limit, the GPU memory sampled every 0.5 s
  local name=$1 limit=$2; shift 2
  local sampler=
  if (( ! dry )); then
    nvidia-smi --query-gpu=memory.used --format=csv,noheader,nounits -lms 500 > "$out/$name.gpu_memory" &
    sampler=$!
  fi
  echo "gpu_check: $name (limit ${limit} s) ..." >&2
  local start=$(date +%s.%N)
  timeout --signal=INT --kill-after=30 "$limit" "$@" > "$out/$name.log" 2>&1
  local rc=$?
  local end=$(date +%s.%N)
  if [[ -n $sampler ]]; then kill "$sampler" 2> /dev/null; wait "$sampler" 2> /dev/null; fi
  if (( rc == 124 || rc == 137 )); then echo "stopped at the limit" > "$out/$name.status"
  elif (( rc != 0 )); then echo "exit $rc" > "$out/$name.status"
  else echo ok > "$out/$name.status"; fi
  python -c "import sys; print(float(sys.argv[1]) - float(sys.argv[2]))" "$end" "$start" > "$out/$name.seconds"
}

step cuda_tests "${limits[0]}" python -m pytest -q -n 0 -p no:cacheprovider -k cuda \
  tests/test_reference_mappings.py tests/test_network.py tests/test_pls_torch.py
step main_job "${limits[1]}" nrp-plugin compare --device "$device" "${main_args[@]}" --out "$out/main_job" --quiet
step zoo "${limits[2]}" nrp-plugin compare --device "$device" "${zoo_args[@]}" --out "$out/zoo" --quiet
step speed "${limits[3]}" python scripts/benchmark_speed.py --device "$device" --json "$out/speed.json" \
  "${speed_args[@]}"

python - "$out" "$dry" "${#zoo_models[@]}" "$gpus" << 'EOF' | tee "$out/summary.txt"
"""The summary table of the four steps, from what each left in OUT."""
import json, re, sys
from pathlib import Path

out, dry, n_zoo, gpus = Path(sys.argv[1]), sys.argv[2] == '1', int(sys.argv[3]), int(sys.argv[4])


def read(name, suffix, default=''):
    path = out / f'{name}.{suffix}'
    return path.read_text().strip() if path.is_file() else default


def peak_gpu(name):
    values = [int(v) for v in read(name, 'gpu_memory').split() if v.isdigit()]
    return f'{max(values):,}' if values else '-'


def tests_result():
    lines = [line for line in read('cuda_tests', 'log').splitlines() if re.search(r'\d+ (passed|failed|skipped)', line)]
    return lines[-1].strip('= ') if lines else 'no pytest summary'


def table_rows(name):
    path = out / name / 'table.json'
    if not path.is_file():
        return None
    return json.loads(path.read_text())


def main_result():
    table = table_rows('main_job')
    if table is None:
        return 'no table.json'
    parts = [f"{row['model']} {row['region']} {row['nrp_error']:.4f}" for row in table['rows']
             if row.get('nrp_error') is not None]
    return f"NRP-error: {'; '.join(parts)}" + (f"; failed: {table['failed']}" if table['failed'] else '')


def zoo_result():
    table = table_rows('zoo')
    seconds = float(read('zoo', 'seconds', 'nan'))
    if table is None:
        return 'no table.json'
    scored = len({row['model'] for row in table['rows'] if row.get('nrp_error') is not None})
    return (f"{scored} of {n_zoo} models scored, {scored * 3600 / seconds:.1f} models per hour on "
            f"{max(gpus, 1)} {'GPU' if gpus else 'CPU process'}(s)")


def speed_result():
    path = out / 'speed.json'
    if not path.is_file():
        return 'no speed.json'
    figures = json.loads(path.read_text())
    splits = int(figures.get('_args', {}).get('splits', 10))
    seconds = {key: value['seconds'] for key, value in figures.items() if not key.startswith('_')}
    parts = []
    for method in ('pls_torch', 'nrp', 'least_squares', 'ridge', 'banded_ridge', 'kernel_ridge', 'all'):
        both = [seconds.get(f'{method}/{region}') for region in ('V4', 'IT')]
        if all(value is not None for value in both):
            parts.append(f'{method} {sum(both) / splits:.2f}')
    text = 's per split (V4+IT): ' + ', '.join(parts) if parts else 'no method finished'
    ours = [seconds.get(f'all/{region}') for region in ('V4', 'IT')]
    theirs = [seconds.get(f'reference/{region}') for region in ('V4', 'IT')]
    if None not in ours and None not in theirs:
        ratio = sum(ours) / sum(theirs)
        text += (f"; ratio all / Brain-Score pls = {sum(ours):.1f} / {sum(theirs):.1f} s = {ratio:.3f} "
                 f"({'PASS' if ratio <= 0.25 else 'FAIL'} at <= 0.25)")
    else:
        text += '; ratio: the reference did not finish'
    return text


results = {'cuda_tests': tests_result, 'main_job': main_result, 'zoo': zoo_result, 'speed': speed_result}
print(f"gpu_check summary{' (dry run on the CPU: the figures mean nothing)' if dry else ''}, in {out}")
print(f"| step | status | wall s | peak GPU MiB | result |")
print(f"|---|---|---:|---:|---|")
for name, result in results.items():
    seconds = read(name, 'seconds')
    seconds = f'{float(seconds):.0f}' if seconds else '-'
    print(f"| {name} | {read(name, 'status', 'not run')} | {seconds} | {peak_gpu(name)} | {result()} |")
EOF
