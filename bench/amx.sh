#!/usr/bin/env bash
# The kernel tiers side by side on this CPU (figures, never pass/fail), for issue 23's table on an AMX Xeon:
#   1. the tile unit's peak (../shared/tools/amx_peak.c, where the CPU has AMX) and the fp32 FMA peak (bench_peak);
#   2. the tier bertc chooses and what it measured (`bertc info`, bench_model's compute_isa column);
#   3. bertc on full-size DistilBERT over the 872 SST-2 dev sentences, batch 32 and batch 1, for fp32, bf16 compute
#      and int8 on EVERY tier this CPU has (BERTC_BF16_TIER / BERTC_INT8_TIER), interleaved, 3 rounds;
#   4. the default model and, with MINILM=DIR (all-MiniLM-L6-v2, bench/real_models.sh), `bertc embed` of 2,000 SST-2
#      train sentences in fp32 / bf16 / int8;
#   5. with PEERS=1, bench/precision_peers.py (OpenVINO bf16 and NNCF int8, ONNX Runtime int8, PyTorch bf16 autocast,
#      the kernels each ran printed); with TRAIN=1, bench/train.sh with and without --bf16.
#   bash bench/amx.sh [THREADS=2] [CKPT=bench/ckpt/distilbert-base] [MINILM=DIR] [PEERS=1] [TRAIN=1]
set -uo pipefail
cd "$(dirname "$0")/.."
THREADS=${THREADS:-2}
CKPT=${CKPT:-bench/ckpt/distilbert-base}
DEV=${DEV:-../shared/data/sst2/dev.tsv}
make -s -j2 build/bertc build/bench_model build/bench_peak >/dev/null
echo "== CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2-) | flags: $(grep -m1 flags /proc/cpuinfo | tr ' ' '\n' | grep -E '^(amx|avx512_bf16|avx512_vnni|avx512f|avx2)' | tr '\n' ' ')"
if grep -qw amx_tile /proc/cpuinfo && [ -f ../shared/tools/amx_peak.c ]; then
  gcc -O2 -mamx-tile -mamx-bf16 -mamx-int8 -pthread -o build/amx_peak ../shared/tools/amx_peak.c && build/amx_peak
fi
build/bench_peak 2>/dev/null | head -5
echo "== tiers chosen here"
for c in "--compute bf16" "--dtype int8"; do build/bertc info $c | grep -o '"compute_isa": "[^"]*"' | sed "s/^/$c: /"; done
[ -d "$CKPT" ] || { echo "no $CKPT: bash bench/models.sh makes it"; }
tiers_bf16="portable avx2 avx512bf16 amx"
tiers_int8="avx2 avx512 amx"
have() { grep -qw "$1" /proc/cpuinfo; }
run() { # label env... -- bench_model args
  local label=$1; shift
  env "$@" build/bench_model "$CKPT" "$DEV" 32 "$THREADS" $EXTRA | sed "s|^|$label |"
}
if [ -d "$CKPT" ]; then
  for round in 1 2 3; do
    echo "== round $round (DistilBERT, batch 32, $THREADS threads)"
    EXTRA="" run "fp32" X=1
    for t in $tiers_bf16; do
      case $t in avx2) have avx2 || continue;; avx512bf16) have avx512_bf16 || continue;; amx) have amx_bf16 || continue;; esac
      [ $t = portable ] && [ $round -gt 1 ] && continue # minutes per pass: one round is enough
      EXTRA=bf16c run "bf16/$t" BERTC_BF16_TIER=$t
    done
    for t in $tiers_int8; do
      case $t in avx2) have avx2 || continue;; avx512) have avx512_vnni || continue;; amx) have amx_int8 || continue;; esac
      EXTRA=int8 run "int8/$t" BERTC_INT8_TIER=$t
    done
  done
fi
echo "== the default model, SST-2 dev, whole process (classify --batch-size 32)"
cut -f1 "$DEV" | tail -n +2 > build/dev.txt
for c in "" "--compute bf16" "--dtype int8"; do
  s=$(date +%s%N); build/bertc classify $c --input build/dev.txt --batch-size 32 >/dev/null; e=$(date +%s%N)
  echo "default ${c:-fp32}: $(( (e - s) / 1000000 )) ms ($(build/bertc info $c | grep -o '"compute_isa": "[^"]*"'))"
done
if [ -n "${MINILM:-}" ]; then
  echo "== all-MiniLM-L6-v2 embeddings, 2,000 SST-2 train sentences"
  cut -f1 ../shared/data/sst2/train.tsv | sed -n 2,2001p > build/train2000.txt
  for c in "" "--compute bf16" "--dtype int8"; do
    s=$(date +%s%N); build/bertc embed --model "$MINILM" $c --input build/train2000.txt >/dev/null; e=$(date +%s%N)
    echo "minilm ${c:-fp32}: $(( (e - s) / 1000000 )) ms"
  done
fi
[ "${PEERS:-0}" = 1 ] && python3 bench/precision_peers.py --bertc build --threads "$THREADS" --repeat 3
[ "${TRAIN:-0}" = 1 ] && bash bench/train.sh
exit 0
