#!/usr/bin/env python3
"""ModernBERT at long inputs: bertc against transformers' eager CPU path, same run, same machine, same threads.

A ModernBERT-base-sized checkpoint with random weights (answerdotai/ModernBERT-base's config: 22 layers, hidden 768,
12 heads, intermediate 1152, local_attention 128, global attention every 3 layers, rope thetas 160000 / 10000,
vocab 50368, no biases; ModernBertModel, torch.manual_seed(0)) is saved once to --dir (about 600 MB, outside git)
with tests/data/tok-modernbert's tokenizer. One input of --tokens tokens (SST-2 dev sentences joined, truncated)
runs through each side in its own process, one warm-up run then --runs timed runs of the forward pass alone
(bertc: the Python package's AutoModel over libbertc.so; transformers: ModernBertModel, attn_implementation
"eager", torch.no_grad, torch.set_num_threads). Peak RSS is the process's (ru_maxrss), loading included. The two
last hidden states are compared (max abs difference, cosine of the [CLS] rows).

    make -j2 all
    nice -n 10 /work/venv-torch/bin/python bench/modernbert_long.py [--tokens 8192] [--threads 2] [--runs 1]
        [--dir /tmp/modernbert-base-random] [--sides bertc,eager,sdpa]
"""
import argparse
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))


def build(d):
    import torch
    from transformers import ModernBertConfig, ModernBertModel
    if os.path.exists(os.path.join(d, "model.safetensors")):
        return
    os.makedirs(d, exist_ok=True)
    torch.manual_seed(0)
    cfg = ModernBertConfig(vocab_size=50368, hidden_size=768, intermediate_size=1152, num_hidden_layers=22,
                           num_attention_heads=12, local_attention=128, global_attn_every_n_layers=3,
                           max_position_embeddings=8192, global_rope_theta=160000.0, local_rope_theta=10000.0)
    ModernBertModel(cfg).eval().save_pretrained(d, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(ROOT, "tests", "data", "tok-modernbert", f), os.path.join(d, f))


def input_ids(d, n):
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(d)
    with open(os.path.join(ROOT, "tests", "data", "sst2-dev.tsv"), encoding="utf-8") as f:
        dev = [line.split("\t")[0] for line in list(f)[1:]]
    text, ids = "", []
    while len(ids) < n:
        text += " ".join(dev)
        ids = tok(text)["input_ids"]
    return ids[:n - 1] + [tok.convert_tokens_to_ids("[SEP]")]


def side(name, d, ids, threads, runs, out):
    import resource
    import time

    import numpy as np
    if name == "bertc":
        import bertc
        m = bertc.AutoModel.from_pretrained(d, threads=threads)
        x = np.array([ids], dtype=np.int64)
        run = lambda: m(input_ids=x, attention_mask=np.ones_like(x)).last_hidden_state[0]  # noqa: E731
    else:
        import torch
        from transformers import ModernBertModel
        torch.set_num_threads(threads)
        m = ModernBertModel.from_pretrained(d, attn_implementation=name, dtype=torch.float32).eval()
        x = torch.tensor([ids])

        def run():
            with torch.no_grad():
                return m(input_ids=x).last_hidden_state[0].numpy()
    h = run()  # warm-up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        h = run()
        times.append(time.perf_counter() - t0)
    np.save(out, np.asarray(h, dtype=np.float32))
    print(json.dumps({"side": name, "seconds": min(times), "runs": times,
                      "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=8192)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--runs", type=int, default=1)
    ap.add_argument("--dir", default="/tmp/modernbert-base-random")
    ap.add_argument("--sides", default="bertc,eager")
    ap.add_argument("--side", help=argparse.SUPPRESS)
    ap.add_argument("--ids", help=argparse.SUPPRESS)
    ap.add_argument("--out", help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.side:
        side(a.side, a.dir, json.load(open(a.ids)), a.threads, a.runs, a.out)
        return
    build(a.dir)
    ids = input_ids(a.dir, a.tokens)
    ids_path = os.path.join(a.dir, f"ids-{a.tokens}.json")
    json.dump(ids, open(ids_path, "w"))
    env = dict(os.environ, PYTHONPATH=os.path.join(ROOT, "python"),
               BERTC_LIBRARY=os.path.join(ROOT, "build", "libbertc.so"), OMP_NUM_THREADS=str(a.threads))
    res = {}
    for s in a.sides.split(","):
        out = os.path.join(a.dir, f"hidden-{s}.npy")
        p = subprocess.run([sys.executable, __file__, "--side", s, "--dir", a.dir, "--ids", ids_path, "--threads",
                            str(a.threads), "--runs", str(a.runs), "--out", out], env=env, capture_output=True, text=True)
        line = [x for x in p.stdout.splitlines() if x.startswith("{")]
        if p.returncode or not line:
            print(f"{s} failed ({p.returncode}): {p.stderr[-2000:]}")
            continue
        res[s] = json.loads(line[-1])
        res[s]["out"] = out
        print(json.dumps(res[s]))
    import numpy as np
    if "bertc" in res:
        hb = np.load(res["bertc"]["out"])
        for s in res:
            if s == "bertc":
                continue
            ht = np.load(res[s]["out"])
            cos = float(hb[0] @ ht[0] / np.linalg.norm(hb[0]) / np.linalg.norm(ht[0]))
            print(f"{s}: {res[s]['seconds']:.2f} s, peak RSS {res[s]['peak_rss_mb']:.0f} MB; bertc "
                  f"{res['bertc']['seconds']:.2f} s, peak RSS {res['bertc']['peak_rss_mb']:.0f} MB; "
                  f"bertc {res[s]['seconds'] / res['bertc']['seconds']:.2f}x faster; max |diff| "
                  f"{float(np.abs(hb - ht).max()):.2e}, [CLS] cosine {cos:.7f}")
    print(f"{a.tokens} tokens, {a.threads} threads")


if __name__ == "__main__":
    main()
