#!/work/venv-torch/bin/python
"""all-mpnet-base-v2 sentence embeddings over the 872 SST-2 dev sentences, same run, same threads:
bertc (libbertc's bertc_embed_ex through ctypes, and the `bertc embed` CLI as a whole process) vs
sentence-transformers fp32 (SentenceTransformer.encode, torch.set_num_threads) vs ONNX Runtime fp32
(torch.onnx.export of the AutoModel, all graph optimizations, intra_op_num_threads; HF fast tokenizer, the
batch padded to its longest, ST's length-sorted order, mean pooling + L2 in numpy).

  bench/mpnet_embed.sh [--model DIR] [--threads 2] [--batches 1,32] [--limit N] [--engines bertc,cli,st,ort]
                       [--json OUT]

Every engine first embeds one batch to warm up (not timed); --repeat R runs R interleaved rounds and reports each
engine's fastest; the timed loop includes tokenization and pooling.
Ratios are against sentence-transformers and ONNX Runtime at the same batch size. Parity: each engine's embeddings
against sentence-transformers' (min cosine, max |diff|). The load average is printed with the figures (the machine
is shared). Versions go in the output and --json.
"""
import argparse
import ctypes
import json
import os
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from st_compare import loadavg, log, read_tsv  # noqa: E402  (the same helpers as the MiniLM comparison)


class BertcEngine:
    """libbertc through the Python package's ctypes bindings: bertc_embed_ex, the folder's defaults."""

    def __init__(self, model, threads, lib_path):
        os.environ.setdefault("BERTC_LIBRARY", lib_path)
        sys.path.insert(0, os.path.join(ROOT, "python"))
        from bertc import _lib
        from bertc._model import BertcModel
        self._lib = _lib
        t0 = time.perf_counter()
        self.m = BertcModel(model, threads=threads)
        self.load_s = time.perf_counter() - t0
        self.params = _lib.lib.bertc_embed_default_params()

    def encode(self, texts, batch):
        _lib = self._lib
        out = np.empty((len(texts), 768), np.float32)
        outs = (_lib.Embedding * batch)()
        err = _lib.Error()
        for i in range(0, len(texts), batch):
            part = texts[i:i + batch]
            arr, _keep = self.m._texts([(t, None) for t in part])
            _lib.check(_lib.lib.bertc_embed_ex(self.m._h, arr, len(part), ctypes.byref(self.params), outs,
                                               ctypes.byref(err)), err)
            try:
                for j in range(len(part)):
                    out[i + j] = np.ctypeslib.as_array(outs[j].data, (outs[j].hidden,))
            finally:
                _lib.lib.bertc_embedding_free(outs, len(part))
        return out


class STEngine:
    def __init__(self, model):
        from sentence_transformers import SentenceTransformer
        t0 = time.perf_counter()
        self.st = SentenceTransformer(model, device="cpu")
        self.load_s = time.perf_counter() - t0

    def encode(self, texts, batch):
        return self.st.encode(texts, batch_size=batch, convert_to_numpy=True)


class ORTEngine:
    def __init__(self, model, threads, cache):
        import onnxruntime as ort
        import torch
        from transformers import AutoModel, AutoTokenizer
        self.tok = AutoTokenizer.from_pretrained(model)
        self.max_len = 384
        onnx_path = os.path.join(cache, "model.onnx")
        if not os.path.exists(onnx_path):
            os.makedirs(cache, exist_ok=True)
            m = AutoModel.from_pretrained(model, attn_implementation="eager").eval()

            class Wrap(torch.nn.Module):
                def __init__(self, inner):
                    super().__init__()
                    self.inner = inner

                def forward(self, input_ids, attention_mask):
                    return self.inner(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state

            ids = self.tok(["hello world", "a longer sentence here ."], padding=True, return_tensors="pt")
            log("exporting ONNX to", onnx_path)
            with torch.no_grad():
                torch.onnx.export(Wrap(m), (ids["input_ids"], ids["attention_mask"]), onnx_path, dynamo=False,
                                  input_names=["input_ids", "attention_mask"], output_names=["last_hidden_state"],
                                  dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                                                "last_hidden_state": {0: "b", 1: "t"}},
                                  opset_version=17, do_constant_folding=True)
            del m
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        t0 = time.perf_counter()
        self.sess = ort.InferenceSession(onnx_path, so, providers=["CPUExecutionProvider"])
        self.load_s = time.perf_counter() - t0

    def encode(self, texts, batch):
        order = np.argsort([-len(t) for t in texts], kind="stable")   # as SentenceTransformer.encode sorts
        out = np.empty((len(texts), 768), np.float32)
        for i in range(0, len(texts), batch):
            idx = order[i:i + batch]
            enc = self.tok([texts[k] for k in idx], padding=True, truncation=True, max_length=self.max_len,
                           return_tensors="np")
            mask = enc["attention_mask"].astype(np.int64)
            h = self.sess.run(None, {"input_ids": enc["input_ids"].astype(np.int64), "attention_mask": mask})[0]
            s = (h * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            s /= np.maximum(np.linalg.norm(s, axis=1, keepdims=True), 1e-12)
            out[idx] = s
        return out


def run_cli(bertc, model, threads, texts, work):
    """`bertc embed` as a user runs it: one process over a JSONL file (batches of 32), wall time with the load."""
    inp = os.path.join(work, "dev.jsonl")
    with open(inp, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")
    cmd = [bertc, "embed", "--model", model, "--threads", str(threads), "--input", inp]
    t0 = time.perf_counter()
    p = subprocess.run(cmd, capture_output=True)
    wall = time.perf_counter() - t0
    if p.returncode:
        raise RuntimeError("bertc embed failed: " + p.stderr.decode()[-500:])
    emb = np.array([json.loads(line)["embedding"] for line in p.stdout.decode().splitlines() if line.strip()],
                   np.float32)
    t0 = time.perf_counter()
    subprocess.run(cmd[:-2] + ["--input", "-"], input=b'{"text": "x"}\n', capture_output=True)
    one = time.perf_counter() - t0
    return emb, wall, one, " ".join(cmd)


def parity(a, b):
    cos = (a * b).sum(1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-30)
    return float(cos.min()), float(np.abs(a - b).max())


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.environ.get("BERTC_MPNET_DIR", "/work/models/all-mpnet-base-v2"))
    ap.add_argument("--bertc", default=os.path.join(ROOT, "build", "bertc"))
    ap.add_argument("--lib", default=os.path.join(ROOT, "build", "libbertc.so"))
    ap.add_argument("--data", default=os.path.join(ROOT, "tests", "data", "sst2-dev.tsv"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--repeat", type=int, default=1, help="interleaved rounds; the fastest of each engine is reported")
    ap.add_argument("--engines", default="bertc,cli,st,ort")
    ap.add_argument("--onnx-cache", default=os.path.join(ROOT, "bench", "out", "mpnet-onnx"))
    ap.add_argument("--json")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    import sentence_transformers
    import transformers
    transformers.logging.set_verbosity_error()
    texts = read_tsv(a.data)
    if a.limit:
        texts = texts[:a.limit]
    batches = [int(b) for b in a.batches.split(",") if b]
    engines = [e for e in a.engines.split(",") if e]
    vers = {"torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__}
    try:
        import onnxruntime
        vers["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        pass
    vers["bertc_git"] = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %s"], capture_output=True,
                                       text=True).stdout.strip()[:90]
    print("# bench/mpnet_embed.py", " ".join(sys.argv[1:]))
    print("versions:", json.dumps(vers))
    print(f"{len(texts)} texts, threads {a.threads}, model {a.model}")
    res = {"versions": vers, "threads": a.threads, "n": len(texts), "runs": []}

    objs = {}
    for name in engines:
        if name == "bertc":
            objs[name] = BertcEngine(a.model, a.threads, a.lib)
        elif name == "st":
            objs[name] = STEngine(a.model)
        elif name == "ort":
            try:
                objs[name] = ORTEngine(a.model, a.threads, a.onnx_cache)
            except Exception as e:  # no onnx exporter here: say so, go on without it
                log("ORT skipped:", repr(e)[:300])
    ref, best = {}, {}
    for rep in range(a.repeat):  # interleaved: each round runs every engine at every batch size; the best round counts
        for b in batches:
            for name, eng in objs.items():
                eng.encode(texts[:b], b)  # warm-up
                la = loadavg()
                c0, t0 = time.process_time(), time.perf_counter()
                emb = eng.encode(texts, b)
                sec, cpu = time.perf_counter() - t0, time.process_time() - c0
                ref[(name, b)] = emb
                log(f"round {rep + 1}: {name} batch {b}: {sec:.2f} s wall, {cpu:.2f} s CPU (load average {la})")
                r = {"engine": name, "batch": b, "seconds": sec, "cpu_seconds": cpu, "sentences_per_s": len(texts) / sec,
                     "load_s": eng.load_s, "loadavg": la, "round": rep + 1}
                if (name, b) not in best or sec < best[(name, b)]["seconds"]:
                    best[(name, b)] = r
                res.setdefault("all_rounds", []).append(r)
    res["runs"] = [best[(name, b)] for b in batches for name in objs if (name, b) in best]
    if "cli" in engines:
        with tempfile.TemporaryDirectory() as work:
            emb, wall, one, cmd = run_cli(a.bertc, a.model, a.threads, texts, work)
        ref[("cli", 32)] = emb
        res["runs"].append({"engine": "cli", "batch": 32, "seconds": wall, "sentences_per_s": len(texts) / wall,
                            "one_text_process_s": one, "seconds_minus_start": wall - one, "command": cmd,
                            "loadavg": loadavg()})

    print("\n| engine | batch | seconds | CPU s | sentences/s | vs sentence-transformers | vs ONNX Runtime | "
          "min cosine to ST | max abs diff | load avg |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    f = lambda v, fmt: "-" if v is None else fmt % v
    for r in res["runs"]:
        b = r["batch"]
        st = next((x for x in res["runs"] if x["engine"] == "st" and x["batch"] == b), None)
        ort = next((x for x in res["runs"] if x["engine"] == "ort" and x["batch"] == b), None)
        r["vs_st"] = st["seconds"] / r["seconds"] if st else None
        r["vs_ort"] = ort["seconds"] / r["seconds"] if ort else None
        stref = ref.get(("st", b))
        if stref is None:
            stref = next((v for (e, _), v in ref.items() if e == "st"), None)
        if stref is not None:
            r["min_cos_to_st"], r["max_abs_to_st"] = parity(ref[(r["engine"], b)], stref)
        name = {"bertc": "bertc (libbertc, bertc_embed_ex)", "cli": "bertc embed (CLI, whole process)",
                "st": "sentence-transformers fp32", "ort": "ONNX Runtime fp32"}[r["engine"]]
        print(f"| {name} | {b} | {r['seconds']:.2f} | {f(r.get('cpu_seconds'), '%.1f')} | {r['sentences_per_s']:.1f} | {f(r['vs_st'], '%.2fx')} | "
              f"{f(r['vs_ort'], '%.2fx')} | {f(r.get('min_cos_to_st'), '%.7f')} | {f(r.get('max_abs_to_st'), '%.1e')} | "
              f"{r['loadavg']} |")
    for r in res["runs"]:
        if r["engine"] == "cli":
            print(f"\nCLI: {r['command']}\n  {r['seconds']:.2f} s wall, a 1-text run {r['one_text_process_s']:.2f} s "
                  f"(start + load), so {r['seconds_minus_start']:.2f} s for the texts")
    if a.json:
        os.makedirs(os.path.dirname(os.path.abspath(a.json)), exist_ok=True)
        with open(a.json, "w") as fo:
            json.dump(res, fo, indent=1)


if __name__ == "__main__":
    main()
