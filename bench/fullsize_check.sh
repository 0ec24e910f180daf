#!/usr/bin/env bash
# Full-size parity: generates DistilBERT-base, BERT-base and RoBERTa-base checkpoints with the published configs and
# deterministic weights (../shared/peers/make_checkpoint.py), runs the PyTorch reference (../shared/peers/torch_model.py,
# which transformers matches within 7e-7) and bertc on the first N SST-2 dev sentences, and prints the worst logit
# difference, bertc's load time and peak RSS. Needs python3-numpy and python3-torch (Debian). Not part of the test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
N=${N:-64}
SH=${SHARED:-../shared}
P=$SH/peers
mkdir -p bench/ckpt bench/out
PY=/usr/bin/python3
$PY bench/dev_ids.py "$SH" "$N" bench/out/ids --texts bench/out/texts.jsonl
for arch in distilbert bert roberta; do
  ck=bench/ckpt/$arch-base
  voc=$SH/tokref/tok-bert-base-uncased; ids=bench/out/ids-bert.jsonl
  [ $arch = roberta ] && voc=$SH/tokref/tok-roberta-base && ids=bench/out/ids-roberta.jsonl
  [ -f $ck/config.json ] || $PY $P/make_checkpoint.py --arch $arch --size base --vocab-dir $voc --out $ck >/dev/null
  $PY $P/bench_torch.py $ck $ids 16 2 bench/out/torch-$arch.json >/dev/null
  /usr/bin/time -f "%M" -o bench/out/rss-$arch.txt build/bertc classify --logits --model $ck --input bench/out/texts.jsonl > bench/out/bertc-$arch.jsonl
  $PY - $arch <<'PYEOF'
import json, sys, subprocess
a = sys.argv[1]
t = json.load(open("bench/out/torch-%s.json" % a))
b = [json.loads(l)["logits"] for l in open("bench/out/bertc-%s.jsonl" % a)]
worst = max(abs(x - y) for r, s in zip(t, b) for x, y in zip(r, s))
info = json.loads(subprocess.run(["build/bertc", "info", "--model", "bench/ckpt/%s-base" % a], capture_output=True, text=True).stdout)
rss = int(open("bench/out/rss-%s.txt" % a).read().split()[-1]) / 1024
print("%-10s %d texts: worst logit diff vs PyTorch %.2e; params %d; file %.0f MB; load %.0f ms; peak RSS %.0f MB" % (
    a, len(b), worst, info["parameters"], info["bytes"] / 1e6, info["load_ms"], rss))
PYEOF
done
