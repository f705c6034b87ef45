#!/usr/bin/env bash
# `fmnist-tui train` against a plain Keras fit, per backend (JAX and PyTorch), on a GPU box
# that has JAX and PyTorch with CUDA but no TensorFlow (the H100/H200 boxes lent here).
#
# Here, once (fetches the few small wheels the app's training needs and the data; ~32 MB):
#     bash bench/gpu_backends.sh fetch
# On the GPU box, through the device tool, from the repository root:
#     run(command="bash bench/gpu_backends.sh run", carry=[".whl", ".gpudata"], timeout_s=540)
# Results come back in $OUT: gpu-backends.jsonl (one JSON line per run: backend, mode, epoch
# seconds, test accuracy, the device line) and gpu-backends.txt (the table and the log tails).
#
# Each backend runs (a) `python -m bench.plain_fit` (a bare `fit` on float32 arrays, one batch
# per call) and (b) `fmnist-tui train` (`python -m tui.cli`), seed preset, batch size 32,
# 48,000 training images, EPOCHS epochs (default 3), in alternating order over ROUNDS rounds
# (default 2); on JAX also (b) without its lax.scan loop (FMNIST_DEVICE_LOOP=off). Goal: a seed
# epoch in <= 1.0 s for (b), and (b) >= 3x faster than (a). About 5 minutes on an H200.
set -u
mode=${1:-run}
PY_VERSION=${PY_VERSION:-3.12}

if [ "$mode" = fetch ]; then
    set -e
    exclude=$(git rev-parse --git-path info/exclude)
    mkdir -p "$(dirname "$exclude")"
    grep -qx '/.whl/' "$exclude" 2>/dev/null || echo /.whl/ >>"$exclude"
    grep -qx '/.gpudata/' "$exclude" 2>/dev/null || echo /.gpudata/ >>"$exclude"
    mkdir -p .whl .gpudata
    # What `fmnist-tui train` imports that the GPU image lacks: Keras and its small pure
    # dependencies, and platformdirs. Not TensorFlow, not Textual (the CLI never imports it).
    keras_version=$(uv run --no-sync python -c 'import keras; print(keras.__version__)')
    python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version "$PY_VERSION" \
        --implementation cp --platform manylinux_2_28_x86_64 --platform manylinux_2_17_x86_64 \
        --platform manylinux2014_x86_64 -d .whl \
        "keras==$keras_version" namex optree platformdirs
    cp /usr/share/datasets/fashion-mnist/*.gz .gpudata/
    du -sh .whl .gpudata
    exit 0
fi

: "${OUT:=/tmp/gpu-backends-out}"
mkdir -p "$OUT"
EPOCHS=${EPOCHS:-3}
ROUNDS=${ROUNDS:-2}
LIMIT=${LIMIT_TRAIN:+--limit-train $LIMIT_TRAIN}  # a smoke test off the GPU: LIMIT_TRAIN=2000
if [ -z "${SKIP_INSTALL:-}" ]; then  # SKIP_INSTALL=1: a smoke test in this project's venv
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
        --target /tmp/site .whl/*.whl || exit 1
fi
export PYTHONPATH=/tmp/site:$PWD PYTHONUNBUFFERED=1 FMNIST_LOG_DIR=/tmp/fmnist-logs
export XLA_PYTHON_CLIENT_PREALLOCATE=false
results=$OUT/gpu-backends.jsonl
report=$OUT/gpu-backends.txt
: >"$results"
{
    nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
    python3 -c 'import jax, torch; print("jax", jax.__version__, jax.devices(), "| torch", torch.__version__, torch.cuda.is_available())'
    python3 -c 'import importlib.util as u; print("tensorflow installed:", u.find_spec("tensorflow") is not None)'
} >"$report" 2>&1

plain() {  # backend round
    python3 -m bench.plain_fit --backend "$1" --epochs "$EPOCHS" --data-dir .gpudata $LIMIT \
        --out "/tmp/plain-$1-$2.json" >"/tmp/plain-$1-$2.log" 2>&1 || { tail -n 5 "/tmp/plain-$1-$2.log" >>"$report"; return; }
    python3 - "$1" "$2" <<'EOF' >>"$results"
import json, sys
d = json.load(open(f"/tmp/plain-{sys.argv[1]}-{sys.argv[2]}.json"))
print(json.dumps({"backend": sys.argv[1], "round": int(sys.argv[2]), "mode": "plain",
                  "epoch_seconds": [e["seconds"] for e in d["epochs"]],
                  "test_accuracy": d["test_accuracy"], "max_rss_mib": d["max_rss_self_mib"]}))
EOF
}

ours() {  # backend round [label]: label "cli-python-loop" runs JAX without the lax.scan loop
    local label=${3:-cli}
    local runs=/tmp/runs-$1-$2-$label
    python3 -m tui.cli --backend "$1" train --epochs "$EPOCHS" --data-dir .gpudata $LIMIT \
        --runs-dir "$runs" --no-export >"/tmp/ours-$1-$2.log" 2>&1 || { tail -n 5 "/tmp/ours-$1-$2.log" >>"$report"; return; }
    python3 - "$1" "$2" "$runs" "$label" <<'EOF' >>"$results"
import json, pathlib, sys
run = next(pathlib.Path(sys.argv[3]).iterdir())
history = json.loads((run / "history.json").read_text())["epochs"]
metrics = json.loads((run / "metrics.json").read_text())
log = pathlib.Path(f"/tmp/ours-{sys.argv[1]}-{sys.argv[2]}.log").read_text().splitlines()
print(json.dumps({"backend": sys.argv[1], "round": int(sys.argv[2]), "mode": sys.argv[4],
                  "epoch_seconds": [e["seconds"] for e in history],
                  "test_accuracy": metrics["test_accuracy"],
                  "device": next((l for l in log if l.startswith("device:")), None),
                  "memory": next((l for l in log if l.startswith("peak memory")), None)}))
EOF
}

for round in $(seq 1 "$ROUNDS"); do
    for backend in jax torch; do
        if [ $((round % 2)) = 1 ]; then plain "$backend" "$round"; ours "$backend" "$round"
        else ours "$backend" "$round"; plain "$backend" "$round"; fi
    done
    # Is JAX's one-dispatch loop (core/jax_steps.py, on by default on a GPU) worth it?
    FMNIST_DEVICE_LOOP=off ours jax "$round" cli-python-loop
done

python3 - "$results" <<'EOF' >>"$report"
import json, statistics, sys
rows = [json.loads(line) for line in open(sys.argv[1])]
for backend in ("jax", "torch"):
    mine = [r for r in rows if r["backend"] == backend]
    for mode in ("plain", "cli", "cli-python-loop"):
        runs = [r for r in mine if r["mode"] == mode]
        later = [s for r in runs for s in r["epoch_seconds"][1:]]
        if runs:
            print(f"{backend} {mode}: 1st epoch {statistics.median(r['epoch_seconds'][0] for r in runs):.2f} s, "
                  f"later {statistics.median(later) if later else float('nan'):.2f} s, "
                  f"test accuracy {[round(r['test_accuracy'], 4) for r in runs]}, {runs[0].get('device') or ''}")
    for mode in ("cli", "cli-python-loop"):
        ratios = []
        for rnd in sorted({r["round"] for r in mine}):
            pair = {r["mode"]: r for r in mine if r["round"] == rnd}
            if mode in pair and "plain" in pair:
                ratios.append(sum(pair[mode]["epoch_seconds"][1:]) / sum(pair["plain"]["epoch_seconds"][1:]))
        if ratios:
            print(f"{backend} {mode}/plain after the 1st epoch, per round: {[round(x, 3) for x in ratios]}")
EOF
cat "$report"
