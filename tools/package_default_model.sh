#!/usr/bin/env bash
# Packages the chosen checkpoint of a tools/make_distilled_default.sh run as models/minilm-sst2/ (the embedded
# default): weights stored as fp16 (tools/st_to_fp16.py), config.json, the tokenizer files, the training report; then
# measures what the model card reports into build/distill/card/: SST-2 dev metrics with bootstrap intervals (fp32
# checkpoint and fp16 folder), the held-out figures, the seed card's country bias probe on the student, the model it
# replaces and the teacher, and `bertc compare` of the three on SST-2 dev (2 threads).
#   tools/package_default_model.sh RUN_NAME
# PREVIOUS (default: build/distill/previous-default, a copy of models/minilm-sst2 taken on the first call) is the model
# it replaces; TEACHER (default: build/distill/teacher/model) the teacher's weights (tools/make_teacher.sh).
# Then: python3 tools/make_distilled_card.py RUN_NAME [OTHER_RUN ...]
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
PY=${PYTHON:-/usr/bin/python3}
RUN=build/distill/runs/${1:?usage: tools/package_default_model.sh RUN_NAME}
PREV=${PREVIOUS:-build/distill/previous-default}
TEACHER=${TEACHER:-build/distill/teacher/model}
BEST=$(python3 -c "import json,sys; print(json.load(open('$RUN/model/trainer_state.json'))['best_model_checkpoint'])")
OUT=models/minilm-sst2
CARD=build/distill/card
mkdir -p "$OUT" "$CARD"
[ -d "$PREV" ] || cp -r "$OUT" "$PREV"
"$PY" tools/st_to_fp16.py "$BEST/model.safetensors" "$OUT/model.safetensors"
python3 - "$BEST/config.json" "$OUT/config.json" <<'PYEOF'
import json, sys
c = json.load(open(sys.argv[1]))
c.pop("dtype", None)
c["torch_dtype"] = "float16"
json.dump(c, open(sys.argv[2], "w"), indent=2, sort_keys=True)
open(sys.argv[2], "a").write("\n")
PYEOF
for f in tokenizer.json tokenizer_config.json special_tokens_map.json vocab.txt; do
  [ -f "$BEST/$f" ] && cp "$BEST/$f" "$OUT/$f"
done
cp "$RUN/report.html" "$OUT/training-report.html"
cp "$RUN/model/trainer_state.json" "$CARD/trainer_state.json"
echo "best checkpoint: $BEST" > "$CARD/best.txt"
make -j2 build/bertc >/dev/null
B=build/bertc
$B eval --model "$BEST" --data "$SH/data/sst2/dev.tsv" --json "$CARD/dev-fp32.json" --quiet >/dev/null
$B eval --model "$OUT" --data "$SH/data/sst2/dev.tsv" --json "$CARD/dev-fp16.json" --markdown "$CARD/dev-fp16.md" \
    --predictions "$CARD/dev-fp16.pred.jsonl" --quiet >/dev/null
$B eval --model "$OUT" --data "${SENT:-build/distill/sent}"/valsent.tsv --json "$CARD/valsent.json" --quiet >/dev/null
$B eval --model "$OUT" --data build/distill/holdout.tsv --json "$CARD/holdout.json" --quiet >/dev/null
$B eval --model "$PREV" --data build/distill/holdout.tsv --json "$CARD/holdout-previous.json" --quiet >/dev/null
$B eval --model "$PREV" --data "${SENT:-build/distill/sent}"/valsent.tsv --json "$CARD/valsent-previous.json" --quiet >/dev/null
probe=(--template "This film was filmed in {}." --groups builtin:countries)
$B bias --model "$OUT" "${probe[@]}" --json "$CARD/bias.json" > "$CARD/bias.txt"
$B bias --model "$PREV" "${probe[@]}" --json "$CARD/bias-previous.json" > /dev/null
cmp_models=(--model "$PREV" --model "$OUT")
if [ -d "$TEACHER" ]; then
  $B bias --model "$TEACHER" "${probe[@]}" --json "$CARD/bias-teacher.json" > /dev/null
  cmp_models+=(--model "$TEACHER")
fi
$B compare "${cmp_models[@]}" --data "$SH/data/sst2/dev.tsv" --json "$CARD/compare.json" --markdown "$CARD/compare.md" \
    --threads 2 > /dev/null
python3 -c "import json; a=json.load(open('$CARD/dev-fp32.json')); b=json.load(open('$CARD/dev-fp16.json')); print('dev accuracy fp32', a['accuracy'], 'fp16', b['accuracy'])"
