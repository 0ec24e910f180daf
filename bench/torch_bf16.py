"""PyTorch beside `bench_model ... bf16c` on the same checkpoint and sentences: fp32, and bf16 autocast (matmul
inputs in bf16 with fp32 accumulation, as bertc's --compute bf16), batch 32, same threads. Figures only.

    /work/venv-torch/bin/python bench/torch_bf16.py bench/ckpt/distilbert-base ../shared/data/sst2/dev.tsv [THREADS]
"""
import csv
import json
import sys
import time

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ck, data = sys.argv[1], sys.argv[2]
threads = int(sys.argv[3]) if len(sys.argv) > 3 else 2
torch.set_num_threads(threads)
with open(data, encoding="utf-8") as f:
    texts = [r[0] for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
tok = AutoTokenizer.from_pretrained(ck)
model = AutoModelForSequenceClassification.from_pretrained(ck, dtype=torch.float32).eval()
batches = [tok(texts[i:i + 32], padding=True, truncation=True, return_tensors="pt") for i in range(0, len(texts), 32)]
for mode in ("fp32", "bf16 autocast"):
    best = 1e9
    for _ in range(2):
        t = time.perf_counter()
        with torch.no_grad(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=mode != "fp32"):
            for b in batches:
                model(**b)
        best = min(best, time.perf_counter() - t)
    print(json.dumps({"tool": f"pytorch {torch.__version__} {mode}", "model": ck.rstrip("/").split("/")[-1],
                      "batch": 32, "threads": threads, "sentences": len(texts), "seconds": round(best, 3),
                      "sentences_per_s": round(len(texts) / best, 1)}))
