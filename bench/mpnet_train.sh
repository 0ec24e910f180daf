#!/usr/bin/env bash
# MPNet fine-tuning throughput: `bertc train` beside PyTorch (bench/train_torch.py: transformers'
# AutoModelForSequenceClassification, AdamW, clip 1.0, dropout on, batches padded to their longest) from the real
# all-mpnet-base-v2, on the rows tools/mpnet_finetune.sh trains on (SST-2 train in file order), same batch (32), same
# max length (64), same threads (2), one after the other in the same run. Figures, never pass/fail.
# bertc's train_runtime includes its final checkpoint save (model + AdamW state, 1.3 GB for MPNet-base), so bertc
# runs twice, S and 2S steps, and its tokens/s is (tokens(2S) - tokens(S)) / (runtime(2S) - runtime(S)): the steps
# S+1..2S, the save cancelled. PyTorch runs SKIP untimed steps, then 2S timed steps (batches 1..2S).
#   bench/mpnet_train.sh            STEPS=6 SKIP=1 THREADS=2 MAXLEN=64 BATCH=32 TORCH_VENV=/work/venv-torch
set -euo pipefail
cd "$(dirname "$0")/.."
MODEL=${BERTC_MPNET_DIR:-/work/models/all-mpnet-base-v2}
TRAIN_ALL=${SST2_TRAIN:-../shared/data/sst2/train.tsv}
[ -f "$TRAIN_ALL" ] || TRAIN_ALL=/work/shared/data/sst2/train.tsv
S=${STEPS:-6}
SKIP=${SKIP:-1}
THREADS=${THREADS:-2}
MAXLEN=${MAXLEN:-64}
BATCH=${BATCH:-32}
TORCH_VENV=${TORCH_VENV:-/work/venv-torch}
TMP=${TMPDIR:-/tmp}/bertc-mpnet-train.$$
OUT=bench/out/mpnet_train.jsonl
mkdir -p bench/out "$TMP"
trap 'rm -rf "$TMP"' EXIT
[ -x build/bertc ] || make -j2 build/bertc
head -n $((BATCH * 2 * S + 1)) "$TRAIN_ALL" > "$TMP/train.tsv"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS; batch $BATCH; max length $MAXLEN; load $(cut -d' ' -f1-3 /proc/loadavg)"
: > "$OUT"
for steps in "$S" $((2 * S)); do
  build/bertc train --model "$MODEL" --train "$TMP/train.tsv" --output "$TMP/out" --overwrite-output-dir \
    --max-steps "$steps" --logging-steps "$steps" --train-sample 0 --threads "$THREADS" --no-shuffle --quiet \
    --batch-size "$BATCH" --max-length "$MAXLEN" | tail -n 1 > "$TMP/bertc-$steps.json"
  rm -rf "$TMP/out"
done
"$TORCH_VENV/bin/python" bench/train_torch.py --model "$MODEL" --steps $((2 * S)) --threads "$THREADS" \
  --warmup-steps-skip "$SKIP" --train "$TMP/train.tsv" --max-length "$MAXLEN" --batch-size "$BATCH" \
  2> "$TMP/torch.err" > "$TMP/torch.json" || { tail -5 "$TMP/torch.err"; exit 1; }
python3 - "$TMP" "$S" "$OUT" <<'PYEOF'
import json, sys
tmp, S, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
a = json.load(open(f"{tmp}/bertc-{S}.json")); b = json.load(open(f"{tmp}/bertc-{2 * S}.json"))
ta, tb = a["train_tokens_per_second"] * a["train_runtime"], b["train_tokens_per_second"] * b["train_runtime"]
bertc = {"framework": "bertc", "steps": f"{S + 1}..{2 * S}", "tokens": round(tb - ta),
         "seconds": round(b["train_runtime"] - a["train_runtime"], 3),
         "tokens_per_s": round((tb - ta) / (b["train_runtime"] - a["train_runtime"]), 1),
         "tokens_per_s_incl_save_2S": round(b["train_tokens_per_second"], 1), "train_loss_2S": b["train_loss"]}
t = json.load(open(f"{tmp}/torch.json"))
t = {k: t[k] for k in ("framework", "torch", "transformers", "steps", "tokens", "padded_tokens", "seconds",
                       "tokens_per_s", "padded_tokens_per_s", "mean_loss", "peak_rss_mb")}
with open(out, "w") as f:
    for r in (bertc, t):
        print(json.dumps(r)); f.write(json.dumps(r) + "\n")
print(f"bertc / PyTorch tokens/s: {bertc['tokens_per_s'] / t['tokens_per_s']:.2f}x")
PYEOF
