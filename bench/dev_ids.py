#!/usr/bin/env python3
"""The first N SST-2 dev sentences (all when N is 0) as the Hugging Face fast tokenizers' ids (from tokref):
PREFIX-bert.jsonl (bert-base-uncased) and PREFIX-roberta.jsonl, {"input_ids": [...]} per line, and with --texts
FILE the sentences themselves as {"text": ...} lines. Used by bench/models.sh and bench/fullsize_check.sh.
  python3 bench/dev_ids.py SHARED N PREFIX [--texts FILE]"""
import gzip, json, sys

sh, n, prefix = sys.argv[1], int(sys.argv[2]), sys.argv[3]
dev = [l.split("\t")[0] for l in open(sh + "/data/sst2/dev.tsv", encoding="utf-8").read().split("\n")[1:] if l]
if n: dev = dev[:n]
ref = {}
for l in gzip.open(sh + "/tokref/tokref-sst2.jsonl.gz", "rt", encoding="utf-8"):
    r = json.loads(l); ref[r["text"]] = r
for key, name in (("bert_uncased", "bert"), ("roberta", "roberta")):
    with open("%s-%s.jsonl" % (prefix, name), "w") as f:
        for t in dev: f.write(json.dumps({"input_ids": ref[t][key]}) + "\n")
if "--texts" in sys.argv:
    with open(sys.argv[sys.argv.index("--texts") + 1], "w") as f:
        for t in dev: f.write(json.dumps({"text": t}) + "\n")
