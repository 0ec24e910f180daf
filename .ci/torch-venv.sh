#!/usr/bin/env bash
# Makes the venv python/tests/test_transformers_live.py runs in (the differential test against transformers itself):
# Debian 12's python3-torch (1.13, CPU, reference BLAS: no multi-GB CUDA wheel from PyPI) for Debian's
# /usr/bin/python3, and a venv over it (--system-site-packages, so torch and numpy are Debian's) with transformers
# 4.45.2 from PyPI, a 4.x that still runs on torch 1.13 (the committed references, tests/data/python/refs.json,
# are transformers 5's, which needs a newer torch). The packages pip installs that are not Debian's are pinned to
# what they resolved to when this was written.
# Idempotent: a venv that already imports the pinned versions is left as it is.
#   .ci/torch-venv.sh                      -> build/venv-torch-debian
#   TORCH_VENV=/some/dir .ci/torch-venv.sh -> there instead
# Then: cd python && BERTC_LIVE_SST2=100 ../build/venv-torch-debian/bin/python -m pytest tests/test_transformers_live.py
set -euo pipefail
cd "$(dirname "$0")/.."
venv="${TORCH_VENV:-build/venv-torch-debian}"
pins=(
  'transformers==4.45.2' 'tokenizers==0.20.3' 'safetensors==0.8.0' 'huggingface_hub==0.36.2'
  'hf-xet==1.8.0; platform_machine == "x86_64" or platform_machine == "amd64" or platform_machine == "arm64" or platform_machine == "aarch64"'
  'filelock==4.3.1' 'fsspec==2026.9.0' 'packaging==26.4' 'regex==2026.11.19' 'tqdm==4.70.1'
  'pytest==9.2.0' 'iniconfig==2.3.1' 'pluggy==1.7.0' 'Pygments==2.21.0'
)
check='import sys, torch, transformers, tokenizers, safetensors, huggingface_hub, pytest
want = {"transformers": "4.45.2", "tokenizers": "0.20.3", "safetensors": "0.8.0", "huggingface_hub": "0.36.2"}
got = {m: sys.modules[m].__version__ for m in want}
sys.exit(got != want or not torch.__version__.startswith("1.13"))'
if "$venv/bin/python" -c "$check" 2>/dev/null; then
  exit 0
fi

missing=""
for p in python3-torch python3-numpy python3-venv; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  # --no-install-recommends: python3-torch recommends libtorch-dev and the whole C++ toolchain behind it
  $(command -v sudo) apt-get update -qq
  $(command -v sudo) apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# pip would take a satisfying version from the system's site-packages (Debian's numpy, requests, yaml, ...) and
# install only what is missing, into the venv; numpy stays Debian's, the one torch 1.13 is built against.
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir "${pins[@]}"
"$venv/bin/python" -c "$check"
