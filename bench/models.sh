#!/usr/bin/env bash
# bertc against its peers on this machine, in the same run (figures, never pass/fail): full-size DistilBERT and
# RoBERTa-base (published configs, deterministic weights from ../shared/peers/make_checkpoint.py) over the 872
# SST-2 dev sentences. bertc: end to end from text (tokenization included), batch 1 and 32, 1 and 2 threads.
# ONNX Runtime (onnxruntime-node 1.30, all graph optimizations) and PyTorch (Debian python3-torch): the peers'
# own scripts on pre-tokenized ids, batches padded to their longest. Also the measured fp32 FMA peak.
#   make bench-models        (needs python3-torch, python3-numpy, node + npm; MODELS="distilbert" to shorten)
set -euo pipefail
cd "$(dirname "$0")/.."
SH=${SHARED:-../shared}
P=$SH/peers
PY=/usr/bin/python3
MODELS=${MODELS:-"distilbert roberta"}
OUT=bench/out/models.jsonl
mkdir -p bench/ckpt bench/out bench/peers
: > "$OUT"
$PY bench/dev_ids.py "$SH" 0 bench/out/dev-ids
if [ ! -d bench/peers/node_modules/onnxruntime-node ]; then
  cp "$P/package.json" "$P/package-lock.json" bench/peers/
  (cd bench/peers && npm install --ignore-scripts --no-audit --no-fund >/dev/null)
fi
cp "$P/bench_ort.js" bench/peers/
make -s build/bench_model build/bench_peak
echo "{\"cpu\": \"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')\", \"cores\": $(nproc)}" | tee -a "$OUT"
build/bench_peak | tee -a "$OUT"
for arch in $MODELS; do
  ck=bench/ckpt/$arch-base voc=$SH/tokref/tok-bert-base-uncased ids=bench/out/dev-ids-bert.jsonl pad=0
  [ "$arch" = roberta ] && voc=$SH/tokref/tok-roberta-base ids=bench/out/dev-ids-roberta.jsonl pad=1
  [ -f "$ck/config.json" ] || $PY "$P/make_checkpoint.py" --arch "$arch" --size base --vocab-dir "$voc" --out "$ck" >/dev/null
  [ -f "$ck/onnx/model.onnx" ] || $PY "$P/export_onnx.py" "$ck" >/dev/null 2>&1
  for th in 2 1; do
    for b in 1 32; do build/bench_model "$ck" "$SH/data/sst2/dev.tsv" $b $th | tee -a "$OUT"; done
    for b in 1 32; do build/bench_model "$ck" "$SH/data/sst2/dev.tsv" $b $th int8 | tee -a "$OUT"; done
    [ $th = 2 ] && for b in 1 32; do build/bench_model "$ck" "$SH/data/sst2/dev.tsv" $b $th fp16 | tee -a "$OUT"; done
    # bf16 compute (matmul inputs in bf16, fp32 sums): AVX512-BF16 where the CPU has it, else the portable path
    [ $th = 2 ] && for b in 1 32; do build/bench_model "$ck" "$SH/data/sst2/dev.tsv" $b $th bf16c | tee -a "$OUT"; done
    # the AVX2 tier on the same machine, where the CPU also has AVX-512 (what an AVX2-only CPU would run)
    if [ $th = 2 ] && grep -qw avx512f /proc/cpuinfo; then
      for b in 1 32; do BERTC_NO_AVX512=1 build/bench_model "$ck" "$SH/data/sst2/dev.tsv" $b $th | sed 's/"tool": "bertc"/"tool": "bertc avx2"/' | tee -a "$OUT"; done
    fi
    for b in 1 32; do (cd bench/peers && node bench_ort.js "../../$ck" "../../$ids" $b $th $pad) | tee -a "$OUT"; done
  done
  [ "$arch" = distilbert ] && $PY "$P/bench_torch.py" "$ck" "$ids" 32 2 2>/dev/null | tee -a "$OUT"
done
$PY - "$OUT" <<'PYEOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
peaks = {(r.get("isa", "avx2"), r["threads"]): r["gflops"] for r in rows if r.get("tool") == "fma-peak"}
cpu = [r for r in rows if "cpu" in r]
if cpu: print("\nCPU: %s, %d cores; fp32 FMA peak %s" % (cpu[0]["cpu"], cpu[0]["cores"], ", ".join(
    "%s %d thread%s %.0f GFLOP/s" % (k[0], k[1], "s" if k[1] > 1 else "", v) for k, v in sorted(peaks.items()))))
print("\nfull-size models, 872 SST-2 dev sentences (seconds: the inference loop; bertc includes tokenization)")
print("%-22s %-16s %5s %3s %8s %9s %9s %9s %s" % ("tool", "model", "batch", "th", "seconds", "sent/s", "p50 ms", "peak RSS", "vs bertc"))
best = {}
for r in rows:
    if r.get("tool") == "bertc": best[(r["model"], r["batch"], r["threads"])] = r["seconds"]
fp32 = dict(best)
for r in rows:
    if "model" not in r: continue
    key = (r["model"], r["batch"], r["threads"])
    q = r["seconds"] / best[key] if not r["tool"].startswith("bertc") and key in best else None
    ratio = "" if q is None else ("bertc %.2fx faster" % q if q >= 1 else "peer %.2fx faster" % (1 / q))
    if r["tool"].startswith("bertc ") and key in fp32: ratio = "%.2fx bertc fp32" % (fp32[key] / r["seconds"])
    rss = "%d MB" % r["peak_rss_mb"] if "peak_rss_mb" in r else ""
    print("%-22s %-16s %5d %3d %8.2f %9.1f %9.2f %9s %s" % (r["tool"][:22], r["model"], r["batch"], r["threads"], r["seconds"],
          r["sentences_per_s"], r["p50_batch_ms"], rss, ratio))
for th in (2, 1):
    b = [r for r in rows if r.get("tool") == "bertc" and r["threads"] == th]  # fp32 against fp32
    o = [r for r in rows if r.get("tool", "").startswith("onnxruntime") and r["threads"] == th]
    for mdl in sorted({r["model"] for r in b}):
        bb = min((r["seconds"] for r in b if r["model"] == mdl), default=None)
        ob = min((r["seconds"] for r in o if r["model"] == mdl), default=None)
        if bb and ob:
            print("%s, %d thread%s: bertc's best %.2f s vs ONNX Runtime's best %.2f s: %.2fx" % (mdl, th, "s" if th > 1 else "", bb, ob, ob / bb))
for r in rows:
    isa = r.get("isa", "avx2")
    if r.get("tool") in ("bertc", "bertc avx2") and (isa, r["threads"]) in peaks:
        pk = peaks[(isa, r["threads"])]
        print("%-10s %-16s batch %2d threads %d: %.1f GFLOP/s of encoder matmul work = %.0f%% of the measured %s fp32 peak (%.0f GFLOP/s); load %.3f s"
              % (r["tool"], r["model"], r["batch"], r["threads"], r["gflops"], 100 * r["gflops"] / pk, isa, pk, r["load_s"]))
PYEOF
