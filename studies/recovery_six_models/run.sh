#!/usr/bin/env bash
# The six-model recovery study of docs/recovery.md, grown in steps from one score store.
#
#   studies/recovery_six_models/run.sh WORKDIR          # resume (or start) the study in WORKDIR
#   studies/recovery_six_models/run.sh WORKDIR check    # set WORKDIR up and check the code fingerprint only
#   studies/recovery_six_models/run.sh WORKDIR pack     # write WORKDIR's store into store.tar.gz here
#
# Every score is computed by the code of one fixed commit (COMMIT below), checked out as a git worktree in
# WORKDIR/code, so that the store's keys (which hold the code fingerprint) stay valid however main moves on. The
# scores already made are unpacked from store.tar.gz into WORKDIR/home/recovery and are not computed again.
set -euo pipefail
COMMIT=7a9e824608ebb1f56bcc21cf4215929ccb9bd134
HERE="$(cd "$(dirname "$0")" && pwd)"
REPO="$(git -C "$HERE" rev-parse --show-toplevel)"
WORK="${1:?usage: run.sh WORKDIR [check|pack]}"
mkdir -p "$WORK"
WORK="$(cd "$WORK" && pwd)"
STORE="$WORK/home/recovery"

if [ "${2:-}" = pack ]; then
  tar -C "$STORE" -czf "$HERE/store.tar.gz.part" --sort=name --owner=0 --group=0 --mtime=@0 .
  mv "$HERE/store.tar.gz.part" "$HERE/store.tar.gz"
  echo "$(ls "$STORE" | wc -l) scores packed into $HERE/store.tar.gz"
  exit 0
fi

[ -d "$WORK/code" ] || git -C "$REPO" worktree add --detach "$WORK/code" "$COMMIT"
mkdir -p "$STORE"
[ -f "$HERE/store.tar.gz" ] && tar -C "$STORE" -xzf "$HERE/store.tar.gz" --skip-old-files
export NRP_PLUGIN_HOME="$WORK/home" RESULTCACHING_HOME="$WORK/rc" PYTHONPATH="$WORK/code"
# the allocator setting that nrp_plugin.app.cluster.prepare_worker gives Dask workers in later versions (COMMIT's
# workers run with Dask's MALLOC_TRIM_THRESHOLD_=65536, at about half the speed); the scores are the same
export MALLOC_TRIM_THRESHOLD_=1073741824 MALLOC_MMAP_THRESHOLD_=33554432
found="$(cd "$WORK" && python -c 'from nrp_plugin.app.result_cache import code_fingerprint; print(code_fingerprint())' 2>/dev/null)"
if [ "$found" != "$(cat "$HERE/fingerprint")" ]; then
  echo "code fingerprint $found is not the store's $(cat "$HERE/fingerprint"): the plugin folders installed in" \
       "brainscore_vision differ from commit $COMMIT's; install that commit's with" \
       "'PYTHONPATH=$WORK/code python -m nrp_plugin.app.cli install' (then reinstall main's after the study)" >&2
  exit 2
fi
echo "$(ls "$STORE" | wc -l) scores in $STORE; code fingerprint $found"
[ "${2:-}" = check ] && exit 0
MODELS="torchvision:alexnet torchvision:resnet18 torchvision:squeezenet1_1 torchvision:shufflenet_v2_x0_5
        torchvision:shufflenet_v2_x1_0 torchvision:mobilenet_v2"
cd "$WORK"
for stage in "0 1" "0 2" "1 1" "1 2"; do    # noise scale, seeds
  set -- $stage
  out="noise$1_seeds$2"
  [ -f "$out/recovery.json" ] && continue
  /usr/bin/time -v python -m nrp_plugin.app.cli recovery --models $MODELS --truth both --seeds "$2" \
    --noise-scale "$1" --workers 2 --out "$out" > "$out.log" 2>&1
done
