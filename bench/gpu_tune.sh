#!/usr/bin/env bash
# Device-side driver: install the carried Keras wheels, run variants in parallel on one GPU.
#
# The GPU box gets the working tree without .git, so say which code it is: on the machine with
# the checkout,
#   BENCH_CODE=$(uv run python -c 'import json; from bench.common import code_version; print(json.dumps(code_version()))')
# and pass it along: BENCH_CODE='...' bash bench/gpu_tune.sh VARIANT:SEED ...
# Every JSON line then carries the device, backend, date and commit (bench/gpu_tune.py).
set -u
: "${BENCH_CODE:?set BENCH_CODE (see the top of bench/gpu_tune.sh): results must name their code}"
export BENCH_CODE
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl || exit 1
export PYTHONPATH=/tmp/site:$PWD KERAS_BACKEND=jax XLA_PYTHON_CLIENT_PREALLOCATE=false
EPOCHS=${EPOCHS:-15}
SOLO_EPOCHS=${SOLO_EPOCHS:-3}
nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
for job in "$@"; do
    v=${job%%:*}; s=${job#*:}
    python3 bench/gpu_tune.py "$v" "$s" .gpudata "$EPOCHS" >>"$OUT/results.jsonl" 2>"/tmp/err_${v}_${s}.log" &
done
wait
for job in ${SOLO:-}; do
    v=${job%%:*}; s=${job#*:}
    python3 bench/gpu_tune.py "$v" "$s" .gpudata "$SOLO_EPOCHS" >>"$OUT/solo.jsonl" 2>"/tmp/err_solo_${s}.log"
done
tail -n 3 /tmp/err_*.log > "$OUT/errors.txt" 2>/dev/null
cat "$OUT/results.jsonl" | python3 -c "
import sys, json
for line in sys.stdin:
    r = json.loads(line); h = r['history'][-1]
    print(r['variant'], r['seed'], r['params'], r['device'], r['commit'][:10], 'test=%.4f tta=%.4f' % (r['test_accuracy'], r.get('tta', 0)), 'train=%.4f val=%.4f' % (h['accuracy'], h['val_accuracy']), 'ep_s=%.1f' % (sum(x['seconds'] for x in r['history'])/len(r['history'])))
"
