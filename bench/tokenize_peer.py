#!/usr/bin/env python3
"""Hugging Face tokenizers (the Rust crate) on the same texts as bench_tokenize: one thread (RAYON_NUM_THREADS=1),
encode_batch so that Python's per-call cost is not counted, best of 3. Prints the same JSON keys.
    RAYON_NUM_THREADS=1 python3 bench/tokenize_peer.py tests/data/tok-bert ../shared/data/sst2/train.tsv"""
import json
import os
import sys
import time

os.environ.setdefault("RAYON_NUM_THREADS", "1")
from tokenizers import Tokenizer  # noqa: E402

tok = Tokenizer.from_file(os.path.join(sys.argv[1], "tokenizer.json"))
texts = [line.split("\t")[0] for line in open(sys.argv[2], encoding="utf-8").read().split("\n")[1:] if line]
nbytes = sum(len(t.encode()) for t in texts)
best = 1e30
for _ in range(3):
    t0 = time.perf_counter()
    enc = tok.encode_batch(texts)
    best = min(best, time.perf_counter() - t0)
print(json.dumps({"tokenizer": sys.argv[1], "peer": "tokenizers", "texts": len(texts), "bytes": nbytes,
                  "tokens": sum(len(e.ids) for e in enc), "seconds": round(best, 3),
                  "MB_per_s": round(nbytes / best / 1e6, 1), "threads": 1}))
