#!/usr/bin/env python3
"""References for the embedded default (tests/data/minilm-sst2.ref.jsonl): transformers'
AutoModelForSequenceClassification on models/minilm-sst2 (fp16 weights loaded into fp32, as transformers loads them)
over the 872 SST-2 dev sentences (tests/data/sst2-dev.tsv) and a few edge cases. First line: versions and the dev
accuracy; then {"text", "input_ids", "logits"} for the edge cases and the first 60 dev sentences.

usage: /work/venv-torch/bin/python tools/make_default_refs.py   (needs torch + transformers)
"""
import json

import torch
import transformers
from transformers import AutoModelForSequenceClassification, AutoTokenizer

folder = "models/minilm-sst2"
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder, torch_dtype=torch.float32).eval()
rows = [l.rstrip("\n").split("\t") for l in open("tests/data/sst2-dev.tsv", encoding="utf-8").read().split("\n")[1:] if l]
edge = ["", "a charming and often affecting journey", "I LOVED IT!!!", "naïve café résumé", "日本語のテキストです",
        "not good, not bad", "word " * 600]
out, correct = [], 0
with torch.no_grad():
    for i, (text, label) in enumerate(rows):
        enc = tok(text, return_tensors="pt", truncation=True, max_length=512)
        z = model(**enc).logits[0]
        correct += int(int(z.argmax()) == int(label))
        if i < 60:
            out.append({"text": text, "input_ids": enc["input_ids"][0].tolist(), "logits": z.tolist()})
    for t in edge:
        enc = tok(t, return_tensors="pt", truncation=True, max_length=512)
        out.insert(0, {"text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": model(**enc).logits[0].tolist()})
with open("tests/data/minilm-sst2.ref.jsonl", "w", encoding="utf-8") as f:
    f.write(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__, "dev_n": len(rows),
                        "dev_correct": correct, "dev_accuracy": correct / len(rows)}) + "\n")
    for r in out:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
print("dev accuracy", correct / len(rows))
