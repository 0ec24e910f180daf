#!/usr/bin/env python3
"""A held-out split of whole sentences for choosing the distilled default (issue 26).

SST-2 train holds every phrase of its ~6,900 sentences: a row held out at random (tools/split_holdout.py) mostly has
its parent sentence or its own sub-phrases among the training rows (294 of the 442 held-out rows of 15 words or more
are substrings of a training row), so held-out accuracy rewards memory, and dev (whole, unseen sentences) does not
follow it. This split holds out N whole sentences (rows of MIN_WORDS words or more that are no other row's
substring) together with every training row that is a substring of one of them and every augmented variant made from
one of them, so that the model never saw any part of what it is validated on, as on dev.

usage: tools/split_sentences.py FIT.tsv OUT_DIR N SEED AUGMENTED.tsv [AUGMENTED.tsv ...]
writes OUT_DIR/valsent.tsv (sentence, label), OUT_DIR/train.tsv (FIT less the held-out sentences and their phrases),
OUT_DIR/unlabeled.tsv (the variants, deduplicated, less those of the held-out sentences)
"""
import collections
import os
import random
import sys

MIN_WORDS = 15


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        lines = f.read().split("\n")
    return lines[0], [l for l in lines[1:] if l]


def main():
    fit_path, out, n, seed = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    header, fit = read_tsv(fit_path)
    texts = [l.split("\t")[0].strip() for l in fit]
    padded = [" " + t + " " for t in texts]
    long_ix = [i for i, t in enumerate(texts) if len(t.split()) >= MIN_WORDS]
    # maximal rows: no other (longer) row contains them
    longer = "\n".join(padded[i] for i in long_ix)
    maximal = [i for i in long_ix if longer.count(padded[i]) == 1]
    rng = random.Random(seed)
    held = sorted(rng.sample(maximal, n))
    held_text = [padded[i] for i in held]
    blob = "\n".join(held_text)
    drop = [i for i, t in enumerate(padded) if t in blob]  # the held-out sentences and their phrases
    dropped = set(drop)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "valsent.tsv"), "w", encoding="utf-8") as f:
        f.write(header + "\n" + "".join(fit[i] + "\n" for i in held))
    with open(os.path.join(out, "train.tsv"), "w", encoding="utf-8") as f:
        f.write(header + "\n" + "".join(l + "\n" for i, l in enumerate(fit) if i not in dropped))
    # variants: a variant of a held-out sentence keeps most of its rarer words
    df = collections.Counter(w for t in held_text for w in set(t.split()))
    index = collections.defaultdict(list)
    for k, t in enumerate(held_text):
        for w in set(t.split()):
            if df[w] <= 5:
                index[w].append(k)
    seen, kept, removed = set(), [], 0
    for path in sys.argv[5:]:
        _, variants = read_tsv(path)
        for v in variants:
            v = v.split("\t")[0]
            if v in seen:
                continue
            seen.add(v)
            words = [w for w in set(v.split()) if w in df and df[w] <= 5]
            hits = collections.Counter(k for w in words for k in index[w])
            plain = [w for w in set(v.split()) if "[MASK]" not in w and "<mask>" not in w]
            if hits and hits.most_common(1)[0][1] >= max(2, 0.3 * len(plain)):
                removed += 1
                continue
            kept.append(v)
    with open(os.path.join(out, "unlabeled.tsv"), "w", encoding="utf-8") as f:
        f.write("sentence\n" + "".join(v + "\n" for v in kept))
    print(f"{len(maximal)} whole sentences of {MIN_WORDS}+ words; held out {n} with {len(drop) - n} phrases of them; "
          f"training rows {len(fit) - len(drop)}; variants kept {len(kept)}, dropped {removed}")


if __name__ == "__main__":
    main()
