"""bertc.pipeline("sentiment-analysis") beside transformers' pipeline on the same checkpoint, same threads, same
run: SST-2 dev (872 sentences), fp32 both. Prints times, ratios and the largest score difference; also the time of
`import bertc` and `import transformers` (fresh interpreters) and the installed sizes. Figures, never pass/fail.

    BERTC_LIBRARY=build/libbertc.so PYTHONPATH=python /work/venv-torch/bin/python bench/pipeline_peer.py [--threads 2] [--repeat 3]
"""
import argparse
import csv
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODEL = os.path.join(ROOT, "models", "minilm-sst2")


def import_ms(mod: str) -> float:
    code = f"import time; t = time.perf_counter(); import {mod}; print((time.perf_counter() - t) * 1000)"
    runs = [float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)
            for _ in range(5)]
    return sorted(runs)[len(runs) // 2]


def du(paths: list) -> int:
    total = 0
    for p in paths:
        for d, _, files in os.walk(p):
            for f in files:
                fp = os.path.join(d, f)
                if not os.path.islink(fp):
                    total += os.path.getsize(fp)
    return total


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    a = ap.parse_args()
    import numpy as np
    import torch
    import transformers
    import bertc

    torch.set_num_threads(a.threads)
    with open(os.path.join(ROOT, "tests", "data", "sst2-dev.tsv"), encoding="utf-8") as f:
        texts = [r[0] for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    ours = bertc.pipeline("sentiment-analysis", model=MODEL, threads=a.threads)
    theirs = transformers.pipeline("sentiment-analysis", model=MODEL, dtype=torch.float32, device="cpu")
    runs = {"bertc": lambda: ours(texts), "transformers (batch 1, its default)": lambda: theirs(texts),
            "transformers (batch_size=32)": lambda: theirs(texts, batch_size=32)}
    best: dict = {}
    outs: dict = {}
    for _ in range(a.repeat):  # interleaved, so that the machine's drift touches each alike
        for name, fn in runs.items():
            t = time.perf_counter()
            outs[name] = fn()
            best[name] = min(best.get(name, 1e9), time.perf_counter() - t)
    print(f"SST-2 dev, {len(texts)} sentences, {MODEL}, fp32, {a.threads} threads; best of {a.repeat} "
          f"(torch {torch.__version__}, transformers {transformers.__version__})")
    for name in runs:
        print(f"  {name:38s} {best[name]:7.3f} s  {len(texts) / best[name]:7.1f} sentences/s  "
              f"bertc {best[name] / best['bertc']:5.2f}x faster" if name != "bertc" else
              f"  {name:38s} {best[name]:7.3f} s  {len(texts) / best[name]:7.1f} sentences/s")
    ref = outs["transformers (batch 1, its default)"]
    diff = max(abs(x["score"] - y["score"]) for x, y in zip(outs["bertc"], ref))
    same = all(x["label"] == y["label"] for x, y in zip(outs["bertc"], ref))
    print(f"  labels equal: {same}; largest score difference {diff:.2e}")
    print(f"import bertc {import_ms('bertc'):.0f} ms (numpy on first use), import transformers "
          f"{import_ms('transformers'):.0f} ms, import torch {import_ms('torch'):.0f} ms (medians of 5)")
    site = os.path.dirname(os.path.dirname(transformers.__file__))
    peers = [os.path.join(site, p) for p in os.listdir(site)
             if p.split("-")[0].split(".")[0].lower() in ("torch", "transformers", "tokenizers", "safetensors",
                                                           "huggingface_hub", "nvidia", "triton", "sympy",
                                                           "networkx", "regex")]
    pkg = os.path.dirname(bertc.__file__)
    lib = os.path.realpath(bertc._lib._find_library())
    size = du([pkg]) + (os.path.getsize(lib) if not lib.startswith(os.path.realpath(pkg)) else 0)
    print(f"installed: bertc {size / 1e6:.1f} MB (libbertc.so with the embedded model), torch + transformers "
          f"and their dependencies {du(peers) / 1e9:.2f} GB ({len(peers)} folders in {site}); numpy "
          f"{du([os.path.dirname(np.__file__)]) / 1e6:.0f} MB for both")


if __name__ == "__main__":
    main()
