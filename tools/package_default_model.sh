#!/usr/bin/env bash
# Packages the best checkpoint of a tools/make_default_model.sh run as models/minilm-sst2/ (the embedded default):
# weights stored as fp16 (tools/st_to_fp16.py), config.json, the tokenizer files, the training report; then measures
# what the model card reports (SST-2 dev metrics with bootstrap intervals for fp32 and fp16, the country bias probe,
# bertc compare against sst2-small) into build/default-runs/card/.
#   tools/package_default_model.sh [RUN_NAME]
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
PY=${PYTHON:-/usr/bin/python3}
RUN=build/default-runs/${1:-card-recipe}
BEST=$(python3 -c "import json,sys; print(json.load(open('$RUN/model/trainer_state.json'))['best_model_checkpoint'])")
OUT=models/minilm-sst2
CARD=build/default-runs/card
mkdir -p "$OUT" "$CARD"
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
build/bertc eval --model "$BEST" --data "$SH/data/sst2/dev.tsv" --json "$CARD/dev-fp32.json" --quiet
build/bertc eval --model "$OUT" --data "$SH/data/sst2/dev.tsv" --json "$CARD/dev-fp16.json" --markdown "$CARD/dev-fp16.md" --predictions "$CARD/dev-fp16.pred.jsonl" --quiet
build/bertc bias --model "$OUT" --template "This film was filmed in {}." --groups builtin:countries --json "$CARD/bias.json" > "$CARD/bias.txt"
build/bertc bias --model models/sst2-small --template "This film was filmed in {}." --groups builtin:countries --json "$CARD/bias-small.json" > /dev/null
build/bertc compare --model models/sst2-small --model "$OUT" --data "$SH/data/sst2/dev.tsv" --json "$CARD/compare.json" \
    --markdown "$CARD/compare.md" --threads 2 > /dev/null
python3 -c "import json; a=json.load(open('$CARD/dev-fp32.json')); b=json.load(open('$CARD/dev-fp16.json')); print('dev accuracy fp32', a['accuracy'], 'fp16', b['accuracy'])"
