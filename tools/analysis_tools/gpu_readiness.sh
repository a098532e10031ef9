#!/usr/bin/env bash
# GPU readiness: every figure the README states for a CUDA machine, in one run (~10 min on an H200).
#
#   bash tools/analysis_tools/gpu_readiness.sh [OUT_DIR]      # from the repository root
#
# 1. the non-slow suite on CUDA (pytest-xdist if installed), then the CUDA-marked tests and
#    the two tests that failed on the first GPU run, on their own;
# 2. stand-in SPADES data (benchmark_dataloader --standin) and the DataLoader figures;
# 3. benchmark_train.py on the `sota` config (goal >= 3000 samples/s, data wait < 10 %)
#    and on the `rtx4090` config (data wait < 20 %), goals printed beside the figures.
# Everything is logged under OUT_DIR (default work_dirs/gpu_readiness); the summary is
# OUT_DIR/summary.txt. A failing step does not stop the later ones.
set -u
cd "$(dirname "$0")/../.."
PY=${PYTHON:-python}
OUT=${1:-work_dirs/gpu_readiness}
DATA=${DATA:-$OUT/standin}
WORKERS=${WORKERS:-8}
mkdir -p "$OUT"
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"
# cuBLAS needs this for torch.use_deterministic_algorithms (the resume tests).
export CUBLAS_WORKSPACE_CONFIG=${CUBLAS_WORKSPACE_CONFIG:-:4096:8}
SUMMARY="$OUT/summary.txt"
: > "$SUMMARY"
step() {  # step NAME COMMAND...: run, log to OUT/NAME.log, record the exit status
  local name=$1; shift
  echo "== $name: $*" | tee -a "$SUMMARY"
  local start=$SECONDS
  "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  echo "   exit $rc after $((SECONDS - start)) s" | tee -a "$SUMMARY"
  tail -n "${TAIL:-12}" "$OUT/$name.log" | sed 's/^/   | /' | tee -a "$SUMMARY"
}

step env $PY -c "import torch, os; print(torch.__version__, torch.version.cuda, \
torch.cuda.is_available(), torch.cuda.get_device_name() if torch.cuda.is_available() else '-', \
os.cpu_count(), 'CPUs')"
if ! $PY -c 'import torch, sys; sys.exit(not torch.cuda.is_available())'; then
  echo 'no CUDA device: this script measures the GPU figures; stopping' | tee -a "$SUMMARY"
  exit 1
fi

# 1. The suite on CUDA (SKIP_SUITE=1 leaves it out, for a run that has done it already).
if [ -z "${SKIP_SUITE:-}" ]; then
  XDIST=()
  $PY -c 'import xdist' 2>/dev/null && XDIST=(-n "${PYTEST_WORKERS:-8}")
  step pytest_not_slow $PY -m pytest -m 'not slow' -q -ra -p no:cacheprovider "${XDIST[@]}"
  step pytest_cuda $PY -m pytest -m cuda -q -ra -p no:cacheprovider
  step pytest_former_failures $PY -m pytest -q -ra -p no:cacheprovider \
    'tests/test_engine/test_resume.py::test_resumed_training_is_bit_identical_to_straight_training' \
    'tests/test_models/test_backbones/test_freeze.py'
fi

# 2. Stand-in data (clustered events, 100k per 100 ms window) and the DataLoader figures.
step dataloader $PY tools/analysis_tools/benchmark_dataloader.py --data-root "$DATA" \
  --standin 16 --num-sequences 0 --workers 1 "$WORKERS" --packing sparse events \
  --json "$OUT/dataloader.json"
step voxel $PY tools/analysis_tools/benchmark_voxel.py --sizes 1e5 1e6 \
  --json "$OUT/voxel.json"

# 3. Training throughput. No ImageNet file here: the sota backbone starts from scratch
#    (same speed). `sota` as configured (backbone frozen for its first 5 epochs) and with
#    the backbone trained (custom_hooks=[]).
SOTA=configs/efficientnet/rot6d_efficientnet-b0_1xb64-60e_spades-256x256_sota.py
RTX4090=configs/eventresnet/quat_eventresnet_1xb32-30e_spades-1280x720_rtx4090-amp.py
COMMON=(--data-root "$DATA" --num-workers "$WORKERS" --amp)
step train_sota $PY tools/analysis_tools/benchmark_train.py "$SOTA" "${COMMON[@]}" \
  --warmup 20 --iters 100 --goal-samples-per-s 3000 --goal-data-wait 0.10 \
  --cfg-options model.backbone.pretrained=None --json "$OUT/train_sota.json"
step train_sota_unfrozen $PY tools/analysis_tools/benchmark_train.py "$SOTA" "${COMMON[@]}" \
  --warmup 20 --iters 100 --goal-samples-per-s 3000 --goal-data-wait 0.10 \
  --cfg-options model.backbone.pretrained=None custom_hooks=[] \
  --json "$OUT/train_sota_unfrozen.json"
step train_rtx4090 $PY tools/analysis_tools/benchmark_train.py "$RTX4090" "${COMMON[@]}" \
  --warmup 5 --iters 30 --goal-data-wait 0.20 --json "$OUT/train_rtx4090.json"
# The worker-built grid, for comparison (what the rtx4090 config did before on_device).
step train_rtx4090_worker_grids $PY tools/analysis_tools/benchmark_train.py "$RTX4090" \
  "${COMMON[@]}" --warmup 3 --iters 10 --goal-data-wait 0.20 \
  --cfg-options 'train_dataloader.dataset.pipeline.0.on_device=False' \
  'train_dataloader.dataset.pipeline.1.sparse=True' --json "$OUT/train_rtx4090_worker.json"
step train_sota_compiled $PY tools/analysis_tools/benchmark_train.py "$SOTA" "${COMMON[@]}" \
  --warmup 30 --iters 100 --compile --goal-samples-per-s 3000 --goal-data-wait 0.10 \
  --cfg-options model.backbone.pretrained=None custom_hooks=[] \
  --json "$OUT/train_sota_compiled.json"
echo "summary: $SUMMARY"
