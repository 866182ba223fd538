#!/usr/bin/env bash
# The GPU checks of the speed and memory tests, for a machine with CUDA and PyTorch already
# installed (no network needed): makes this checkout importable by the grader's isolated
# workers, then runs
#   1. tests/test_speed.py: the attention week's CUDA tests graded for real (reference passes,
#      a loop over heads fails, a fast wrong answer earns nothing), and the CPU ones;
#   2. the flakiness benchmark on the CUDA tests, two busy-loop processes beside it;
#   3. `adl bench attention`: every variant and every speed test, five rounds.
# Logs go to $OUT (default /tmp/adl-gpu-check).   Usage: bash benchmarks/gpu_check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
OUT=${OUT:-/tmp/adl-gpu-check}
mkdir -p "$OUT"
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD
# the workers run `python -I` (no PYTHONPATH): a .pth file puts the checkout on their path
site=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
if ! $PY -I -c 'import autograder' 2>/dev/null; then echo "$PWD" > "$site/adl-checkout.pth"; fi
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1 | tee "$OUT/gpu.txt"
$PY -c 'import torch; print("torch", torch.__version__, "cuda available:", torch.cuda.is_available())' | tee -a "$OUT/gpu.txt"
$PY -m pytest -q -p no:cacheprovider -p no:randomly tests/test_speed.py -rs 2>&1 | tee "$OUT/test_speed.log"
$PY benchmarks/speed_flakiness.py --gpu --rounds "${ROUNDS:-100}" --busy 2 --batch 25 --threads 1 2>&1 | tee "$OUT/flakiness.log"
$PY -m autograder bench attention --rounds 5 --threads 1 2>&1 | tee "$OUT/bench.log"
