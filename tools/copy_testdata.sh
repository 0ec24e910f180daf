#!/usr/bin/env bash
# Copies the references the test suite needs from ../shared into tests/data (run from the repository root).
# Shared tokenizer files are stored once and linked from each fixture folder.
set -euo pipefail
S=${1:-../shared}
D=tests/data
rm -rf "$D"; mkdir -p "$D/tok-bert" "$D/tok-roberta"
cp "$S/fixtures/tiny-distilbert/"{tokenizer.json,tokenizer_config.json,vocab.txt} "$D/tok-bert/"
cp "$S/fixtures/tiny-roberta/"{tokenizer.json,tokenizer_config.json,vocab.json,merges.txt} "$D/tok-roberta/"
for f in tiny-distilbert tiny-distilbert-fp16 tiny-distilbert-bf16 tiny-distilbert-bin tiny-distilbert-binlegacy tiny-bert tiny-roberta; do
  mkdir -p "$D/$f"
  for w in config.json model.safetensors pytorch_model.bin; do [ -f "$S/fixtures/$f/$w" ] && cp "$S/fixtures/$f/$w" "$D/$f/"; done
  tok=tok-bert; [ "$f" = tiny-roberta ] && tok=tok-roberta
  for t in tokenizer.json tokenizer_config.json; do ln -s "../$tok/$t" "$D/$f/$t"; done
  cp "$S/fixtures/$f.ref.jsonl" "$S/fixtures/$f.ref.hidden.safetensors" "$D/"
done
cp "$S/fixtures/sst2-small.dev.pred.jsonl" "$S/fixtures/sst2-small.dev.metrics.json" "$D/"
cp "$S/data/sst2/dev.tsv" "$D/sst2-dev.tsv"
cp "$S/tokref/tokref-sst2.jsonl.gz" "$S/tokref/tokref-pairs.jsonl" "$D/"
chmod -R u+w "$D"
