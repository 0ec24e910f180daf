#!/usr/bin/env bash
# Makes the venv python/tests/test_transformers_live.py runs in (the differential test against transformers itself):
# Debian 12's python3-torch (1.13, CPU only: no multi-GB CUDA wheel from PyPI) for Debian's
# /usr/bin/python3, and a venv over it (--system-site-packages, so torch and numpy are Debian's) with transformers
# 4.45.2 from PyPI, a 4.x that still runs on torch 1.13 (the committed references, tests/data/python/refs.json,
# are transformers 5's, which needs a newer torch). The packages pip installs that are not Debian's are pinned to
# what they resolved to when this was written.
# Idempotent: the packages are installed where missing, and a venv that already imports the pinned versions is left
# as it is.
#   .ci/torch-venv.sh                      -> build/venv-torch-debian
#   TORCH_VENV=/some/dir .ci/torch-venv.sh -> there instead
#   TORCH_OPENBLAS=1 .ci/torch-venv.sh     -> with OpenBLAS (below)
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

# --no-install-recommends: python3-torch recommends libtorch-dev and the C++ toolchain behind it (54 more packages).
# libtorch1.13 computes with whichever libblas.so.3 the system's alternative names: Debian's reference BLAS unless
# an optimized one is installed. TORCH_OPENBLAS=1 also installs libopenblas0-pthread (6.7 MB), which then becomes
# that alternative for the whole machine (numpy from Debian's python3-numpy too): the live test's SST-2 dev runs
# about 13 times faster (11 ms a sentence instead of 150 on 2 cores).
pkgs="python3-torch python3-numpy python3-venv"
[ "${TORCH_OPENBLAS:-}" = 1 ] && pkgs="$pkgs libopenblas0-pthread"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
if [ -n "$missing" ]; then
  export DEBIAN_FRONTEND=noninteractive
  $(command -v sudo) apt-get update -qq
  $(command -v sudo) apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

if "$venv/bin/python" -c "$check" 2>/dev/null; then
  exit 0
fi
rm -rf "$venv"
mkdir -p "$(dirname "$venv")"
/usr/bin/python3 -m venv --system-site-packages "$venv"
# pip would take a satisfying version from the system's site-packages (Debian's numpy, requests, yaml, ...) and
# install only what is missing, into the venv; numpy stays Debian's, the one torch 1.13 is built against.
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-cache-dir "${pins[@]}"
"$venv/bin/python" -c "$check"
