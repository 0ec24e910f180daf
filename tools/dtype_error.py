#!/usr/bin/env python3
"""Logit error of --dtype int8 / fp16 / bf16 against transformers' references for every fixture
(tests/data/*.ref.jsonl), and the label agreement: python3 tools/dtype_error.py [BERTC] [DTYPES]"""
import json, subprocess, sys, glob, os
B = sys.argv[1] if len(sys.argv) > 1 else "build/bertc"
DTYPES = (sys.argv[2] if len(sys.argv) > 2 else "int8,fp16,bf16").split(",")
for dt, ref in [(d, r) for d in DTYPES for r in sorted(glob.glob("tests/data/tiny-*.ref.jsonl"))]:
    name = os.path.basename(ref)[:-len(".ref.jsonl")]
    rows = [json.loads(l) for l in open(ref)]
    if "pair" in rows[0] or any("text_pair" in r for r in rows): rows = [r for r in rows if not r.get("text_pair")]
    inp = "".join(json.dumps({"text": r["text"]}) + "\n" for r in rows)
    out = subprocess.run([B, "classify", "--dtype", dt, "--logits", "--model", "tests/data/" + name, "--input", "-"],
                         input=inp.encode(), capture_output=True, check=True).stdout.decode().splitlines()
    worst = rel = 0; same = 0
    for r, o in zip(rows, out):
        o = json.loads(o)
        d = max(abs(a - b) for a, b in zip(o["logits"], r["logits"]))
        worst = max(worst, d); rel = max(rel, d / max(1e-3, max(abs(x) for x in r["logits"])))
        same += o["label"] == r["label"]
    print("%-26s %-4s worst logit diff %.2e (relative %.2e), labels %d/%d" % (name, dt, worst, rel, same, len(rows)))
