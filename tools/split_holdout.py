#!/usr/bin/env python3
"""Splits SST-2 train into a training part and a held-out validation part (seeded): hyperparameters and the epoch
of the embedded default model are chosen on the held-out rows, never on SST-2 dev (dev is the test set).

usage: python3 tools/split_holdout.py TRAIN.tsv OUT_FIT.tsv OUT_HOLDOUT.tsv [N=2000] [SEED=42]
"""
import random
import sys

src, fit, hold = sys.argv[1:4]
n = int(sys.argv[4]) if len(sys.argv) > 4 else 2000
seed = int(sys.argv[5]) if len(sys.argv) > 5 else 42
with open(src, encoding="utf-8") as f:
    header, *rows = f.read().split("\n")
rows = [r for r in rows if r]
held = set(random.Random(seed).sample(range(len(rows)), n))
with open(fit, "w", encoding="utf-8") as a, open(hold, "w", encoding="utf-8") as b:
    a.write(header + "\n")
    b.write(header + "\n")
    for i, r in enumerate(rows):
        (b if i in held else a).write(r + "\n")
print(f"{len(rows) - n} training rows -> {fit}, {n} held out -> {hold} (seed {seed})")
