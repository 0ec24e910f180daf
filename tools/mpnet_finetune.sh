#!/usr/bin/env bash
# One MPNet fine-tuning run on SST-2 with `bertc train`, from the real all-mpnet-base-v2 (a sentence-transformers
# folder: bertc adds a new 2-label MPNetForSequenceClassification head, initialised as transformers does); SST-2 dev
# accuracy (872 rows) is the evaluation at the end of the epoch (EVAL_AGAIN=1 also runs `bertc eval` on the saved
# model). Sized for ~30 min on 2 busy shared cores: the first ROWS SST-2 train rows, 1 epoch, max length 64, batch 32,
# AdamW lr 3e-5, 10% warm-up, weight decay 0.01, seed 42.
# Reproducible (same seed, same bits whatever --threads) and resumable: run it again after an interruption (kill,
# Ctrl-C, reboot) and it continues from the newest whole checkpoint (--resume-from-checkpoint latest; one every
# SAVE_STEPS steps). A finished run is not redone (delete OUT to start over).
#   tools/mpnet_finetune.sh                      ROWS=2000 MAXLEN=64 BATCH=32 LR=3e-5 THREADS=2 OUT=bench/out/mpnet-sst2
# Outputs under OUT: train.tsv (the rows used), model/ (best checkpoint by dev accuracy, trainer_state.json),
# train.log.jsonl (log_history lines), summary.json (eval.json with EVAL_AGAIN=1).
# Tokens/s beside PyTorch on the same rows, batch and length: bench/mpnet_train.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${BERTC_MPNET_DIR:-/work/models/all-mpnet-base-v2}
TRAIN_ALL=${SST2_TRAIN:-../shared/data/sst2/train.tsv}
[ -f "$TRAIN_ALL" ] || TRAIN_ALL=/work/shared/data/sst2/train.tsv
DEV=tests/data/sst2-dev.tsv
ROWS=${ROWS:-2000}
MAXLEN=${MAXLEN:-64}
BATCH=${BATCH:-32}
LR=${LR:-3e-5}
THREADS=${THREADS:-2}
SAVE_STEPS=${SAVE_STEPS:-40}
OUT=${OUT:-bench/out/mpnet-sst2}
BERTC=${BERTC:-build/bertc}
[ -x "$BERTC" ] || make -j2 build/bertc
mkdir -p "$OUT"
[ -f "$OUT/train.tsv" ] || head -n $((ROWS + 1)) "$TRAIN_ALL" > "$OUT/train.tsv"
if [ -f "$OUT/summary.json" ]; then cat "$OUT/summary.json"; exit 0; fi
args=(train --model "$MODEL" --train "$OUT/train.tsv" --validation "$DEV" --output "$OUT/model" --epochs 1
      --batch-size "$BATCH" --max-length "$MAXLEN" --learning-rate "$LR" --warmup-ratio 0.1 --weight-decay 0.01
      --seed 42 --logging-steps 10 --save-steps "$SAVE_STEPS" --save-total-limit 1 --metric-for-best-model accuracy
      --train-sample 0 --threads "$THREADS" --quiet)
if compgen -G "$OUT/model/checkpoint-*" >/dev/null; then
  args+=(--resume-from-checkpoint latest)
elif [ -e "$OUT/model" ]; then
  args+=(--overwrite-output-dir)
fi
echo "+ $BERTC ${args[*]}" >&2
start=$(date +%s)
"$BERTC" "${args[@]}" | tee -a "$OUT/train.log.jsonl"
end=$(date +%s)
if [ "${EVAL_AGAIN:-0}" = 1 ]; then
  "$BERTC" eval --model "$OUT/model" --data "$DEV" --threads "$THREADS" --json "$OUT/eval.json" >/dev/null
fi
python3 - "$OUT" "$((end - start))" <<'PYEOF'
import json, sys
out, wall = sys.argv[1], int(sys.argv[2])
log = [json.loads(l) for l in open(out + "/train.log.jsonl") if l.strip().startswith("{")]
final = [e for e in log if "train_runtime" in e][-1]
evals = [e for e in log if "eval_accuracy" in e]
try:
    ev = json.load(open(out + "/eval.json")).get("accuracy")
except OSError:
    ev = None
s = {"dev_accuracy_bertc_eval": ev, "eval_accuracy_in_training": evals[-1]["eval_accuracy"] if evals else None,
     "train_loss": final["train_loss"], "train_runtime_s": final["train_runtime"],
     "train_tokens_per_second": final["train_tokens_per_second"], "steps": final["step"],
     "wall_s_this_invocation": wall}
print(json.dumps(s))
json.dump(s, open(out + "/summary.json", "w"), indent=1)
PYEOF
