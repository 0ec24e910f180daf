#!/usr/bin/env bash
# Runs every ```sh block of docs/TUTORIAL.md, in order, from the repository's root (build/bertc replaced by
# $BERTC_BIN when set), then checks what the page says each step shows. Exit 0 and "tutorial: N blocks ok" when all
# hold; the failing block and its output otherwise.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BERTC_BIN:-build/bertc}
LOG=$(mktemp /tmp/bertc-tutorial-XXXXXX)
trap 'rm -f "$LOG" "$LOG".blk' EXIT
rm -rf tutorial
n=0
while IFS= read -r -d $'\0' block; do
  n=$((n + 1))
  printf '%s\n' "${block//build\/bertc/$BIN}" > "$LOG.blk"
  if ! bash -e "$LOG.blk" >> "$LOG" 2>&1; then
    echo "tutorial: block $n failed:"; cat "$LOG.blk"; echo "--- output:"; tail -30 "$LOG"; exit 1
  fi
done < <(python3 - <<'PY'
import re, sys
text = open("docs/TUTORIAL.md", encoding="utf-8").read()
for b in re.findall(r"```sh\n(.*?)```", text, re.S):
    sys.stdout.write(b + "\0")
PY
)
fail=0
want() { grep -qF -- "$1" "$2" || { echo "tutorial: $2 lacks: $1"; fail=1; }; }
want '"label": "POSITIVE"' "$LOG"
want '"label": "NEGATIVE"' "$LOG"
want 'accuracy paradox' "$LOG"
want 'train/test leakage:' "$LOG"
want ', chosen on tutorial/valid.tsv (best F1 there' "$LOG"
want 'output = checkpoint-' "$LOG"
want '"label":"POSITIVE"' "$LOG"
want '"warnings"' tutorial/bias.json
want '<h1>bertc compare</h1>' tutorial/compare.html
want 'POST /predict 200 inputs=1' tutorial/serve.log
[ -f tutorial/model/config.json ] || { echo "tutorial: no trained model"; fail=1; }
[ $fail = 0 ] || { echo "--- output:"; cat "$LOG"; exit 1; }
rm -rf tutorial
echo "tutorial: $n blocks ok"
