#!/usr/bin/env bash
# all-mpnet-base-v2 embeddings on SST-2 dev: bertc vs sentence-transformers fp32 vs ONNX Runtime fp32, same run,
# 2 threads, batch 1 and 32 (bench/mpnet_embed.py; extra arguments go to it). Needs /work/venv-torch (torch,
# sentence-transformers, onnxruntime; the ONNX export needs the `onnx` package: PYTHONPATH=/work/pyextra-h5 holds
# one when the venv has none), the folder ($BERTC_MPNET_DIR, default /work/models/all-mpnet-base-v2) and build/.
#   bash bench/mpnet_embed.sh --json bench/out/mpnet_embed.json
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-/work/venv-torch}
[ -x build/bertc ] && [ -e build/libbertc.so ] || make -j2 build/bertc build/libbertc.so >&2
if ! "$VENV/bin/python" -c "import onnx" >/dev/null 2>&1 && [ -d /work/pyextra-h5 ]; then
  export PYTHONPATH=/work/pyextra-h5${PYTHONPATH:+:$PYTHONPATH}
fi
exec "$VENV/bin/python" bench/mpnet_embed.py "$@"
