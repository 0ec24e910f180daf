#!/usr/bin/env bash
# What the whole suite needs beyond the build (`make check` runs this first; idempotent, quick when all is there):
# - Debian packages: the build's (the README's quick start installs them), strace (the kill -9 durability test) and
#   Java (PySpark), through sudo when not root;
# - build/venv-clients: the official clients for the serve test (huggingface_hub, openai), tokenizers (the Rust
#   crate's PyPI build: the differential tokenizer fuzzer's oracle), numpy, pytest and mypy (the Python package);
# - build/venv-spark: PySpark in local mode for the scale-out test (~800 MB);
# - build/venv-torch-debian: Debian's torch 1.13 with transformers 4.45 for the differential test against
#   transformers itself (.ci/torch-venv.sh, with OpenBLAS);
# - tests/clients/node_modules: @huggingface/inference (package-lock.json).
# Needs Debian's package archive, PyPI and npm's registry the first time; a failed install stops `make check` with
# the step named, rather than a suite that skips.
set -euo pipefail
cd "$(dirname "$0")/.."
pkgs="build-essential pkg-config clang libutf8proc-dev libjansson-dev libmicrohttpd-dev libcurl4-openssl-dev libssl-dev
zlib1g-dev chromium strace curl openjdk-17-jre-headless python3-venv nodejs npm"
# clang's sanitizer runtimes (the fuzz targets link them): a separate package that --no-install-recommends leaves out
# on Debian 12 (libclang-rt-14-dev); named when this archive has it
apt-cache show libclang-rt-14-dev >/dev/null 2>&1 && pkgs="$pkgs libclang-rt-14-dev"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing="$missing $p"
done
# Node may come from elsewhere than Debian (NodeSource's nodejs bundles npm): then neither package is wanted.
if command -v node >/dev/null && command -v npm >/dev/null; then
  missing=$(echo "$missing" | tr ' ' '\n' | grep -vx 'nodejs\|npm' | tr '\n' ' ' || true)
fi
if [ -n "${missing// /}" ]; then
  echo "deps: installing Debian packages:$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  $(command -v sudo) apt-get update -qq
  $(command -v sudo) apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
if ! build/venv-clients/bin/python -c 'import huggingface_hub, openai, tokenizers, numpy, pytest, mypy' 2>/dev/null; then
  echo "deps: making build/venv-clients" >&2
  mkdir -p build && python3 -m venv build/venv-clients
  build/venv-clients/bin/pip install -q --disable-pip-version-check \
    'huggingface_hub==2.4.0' 'openai==3.57.0' 'tokenizers==0.23.3' numpy pytest mypy
fi
if ! build/venv-spark/bin/python -c 'import pyspark, pandas, pyarrow, pytest' 2>/dev/null; then
  echo "deps: making build/venv-spark" >&2
  python3 -m venv build/venv-spark
  build/venv-spark/bin/pip install -q --disable-pip-version-check 'pyspark==4.3.0' pandas pyarrow numpy pytest
fi
TORCH_OPENBLAS=1 .ci/torch-venv.sh
if [ ! -d tests/clients/node_modules ]; then
  echo "deps: npm ci in tests/clients" >&2
  (cd tests/clients && npm ci --silent --no-audit --no-fund)
fi
