"""bertc's ner / question-answering / fill-mask pipelines beside transformers' pipelines and ONNX Runtime, on
FULL-SIZE checkpoints (published configs, deterministic random weights), same inputs, same threads, same run.
Figures and equality counts, never pass/fail.

    make -j2 BUILD=build-bench
    /work/venv-torch/bin/python bench/pipelines_peer.py [--bertc build-bench] [--threads 2] [--repeat 3]
        [--tasks ner,qa,fill-mask] [--n-ner 64] [--n-qa 20] [--n-mlm 64]

Checkpoints (bench/ckpt/, gitignored; made on first use by transformers' own classes under torch.manual_seed(0),
then every bias and LayerNorm parameter perturbed (LayerNorm weight 1 + U(-0.1, 0.1), biases U(-0.02, 0.02)) so
that they matter, saved with save_pretrained (safetensors)):
  ner-bert-base     BertForTokenClassification, dslim/bert-base-NER's config (12 x 768, 12 heads, ffn 3072, 9 labels
                    O/B-MISC/I-MISC/B-PER/I-PER/B-ORG/I-ORG/B-LOC/I-LOC), BUT the uncased tests/data/tok-bert
                    tokenizer and vocab_size 30522: no cased BERT vocab exists here (../shared has bert-base-uncased
                    only), so the texts are lower-cased as the uncased tokenizer does; the encoder's cost is the same.
  qa-distilbert-base   DistilBertForQuestionAnswering, distilbert-base-cased-distilled-squad's config (6 x 768),
                    the same uncased tokenizer (vocab_size 30522 for 28996) for the same reason.
  mlm-distilbert-base  DistilBertForMaskedLM, distilbert-base-uncased's config and tokenizer (tied embeddings).
With random weights the labels, answers and tokens mean nothing; the work done is that of the published models.

Inputs (bench/out/pipelines/, rebuilt every run, deterministic) from the SST-2 dev sentences of
tests/data/sst2-dev.tsv: NER the first --n-ner sentences; fill-mask the first --n-mlm sentences with one word (the
longest alphabetic word, the first of equal length) replaced by [MASK]; QA 300 contexts of 100-400 words made
of consecutive sentences (context i starts at sentence 3 i), each with one question made of a fragment of one of its
sentences ("what about <up to 8 words> ?"), of which the first --n-qa are timed.  400 words, not 300: these
sentences are pre-tokenized lower-case text, about 1.1 tokens a word, so that with the pipeline's defaults
(max_seq_len 384, doc_stride 128) only contexts over about 330 words need a second window; the windows are
counted and printed.

Peers, each in its own persistent process (model loaded once, one warm-up call on 4 inputs, not timed), called in
turn, A B C A B C ..., so that the machine's drift touches each alike; each figure is the min of --repeat runs of
the whole call over all the inputs:
  transformers   pipeline(task, model=..., dtype=torch.float32, device="cpu"), batch_size 1 (its default) and 32;
                 NER with aggregation_strategy="simple".  Question answering was removed from transformers after
                 5.2: QA runs transformers 5.2.0 in /tmp/venv-qa (made as tools/make_pipeline_fixtures.py's
                 docstring says; --qa-python to change), over the same torch.
  onnxruntime    the model's FORWARD ONLY (no tokenization, no post-processing), on the same inputs pre-tokenized
                 by the model's tokenizer (QA: the very windows the pipeline makes), batch 1, and batch 32 padded to
                 the batch's longest in input order; the model exported by torch.onnx.export (TorchScript exporter,
                 opset 17, dynamic batch and sequence) to CKPT/onnx/model.onnx; ORT_ENABLE_ALL, intra-op threads
                 --threads, inter-op 1.
  bertc CLI      `bertc ner|qa|fill-mask --model CKPT --threads N --input FILE`, the WHOLE PROCESS (start-up and
                 model load included), timed from here; "bertc CLI, 1 input" is that fixed cost.
  bertc python   bertc.pipeline(task, model=..., threads=N) from python/ (BERTC_LIBRARY=<build>/libbertc.so), one call
                 over the list, as the transformers pipeline is called.
Threads: OMP_NUM_THREADS, MKL_NUM_THREADS, RAYON_NUM_THREADS = --threads, torch.set_num_threads(--threads).
Equality: each bertc output (CLI and python) against transformers' batch-1 pipeline on every timed input: NER the
entity groups (entity_group, word, start, end) in order; QA the answer (start, end, answer); fill-mask the 5 tokens in
order and their sequences; and the largest score difference over the matched items; also transformers batch 32
against batch 1.

Figures measured here (2026-12-02, after the four-row attention kernel; 2 vCPUs AMD EPYC (Zen 5) with AVX-512,
quiet machine (load average 1.2 at the start, 1.7 at the end); one run of this script with its defaults, 164 s in all;
fp32 everywhere; seconds are the min of 3 interleaved runs of the whole call, the ratio that time over bertc
python's):

| task (inputs) | transformers b1 | transformers b32 | ORT fwd b1 | ORT fwd b32 | bertc python | bertc CLI | CLI 1 input |
| --- | --- | --- | --- | --- | --- | --- | --- |
| ner, BERT-base, 64 texts, 1,570 tokens | 3.88 s 4.04x | 2.95 s 3.07x | 1.52 s 1.58x | 1.27 s 1.32x | 0.96 s | 1.18 s 1.23x | 0.25 s |
| qa, DistilBERT, 20 questions, 26 windows, 7,190 tokens (transformers 5.2.0) | 4.04 s 2.16x | 5.54 s 2.96x | 1.90 s 1.01x | 3.45 s 1.84x | 1.87 s | 2.03 s 1.09x | 0.20 s |
| fill-mask, DistilBERT, 64 texts, 1,527 tokens | 3.66 s 5.41x | 2.44 s 3.61x | 1.12 s 1.66x | 1.09 s 1.61x | 0.68 s | 0.80 s 1.18x | 0.16 s |

On question answering's long windows (up to 384 tokens) the matmuls are 73% of bertc's time and run near this
CPU's fp32 peak, as ONNX Runtime's do: bertc's whole pipeline (tokenization, windows, span search) takes what ORT's
forward pass alone takes. An earlier run on a machine loaded by other work (load 2-10) gave the same ordering with
seconds 1.5-4x larger (QA: bertc 6.31 s, ORT forward b1 5.76 s, before the attention change).

Equality on those inputs, bertc (python and CLI alike) against transformers batch 1: ner 64/64 texts with the same
entity groups, largest score difference 5.1e-7 (relative 2.8e-6); qa 20/20 same answers, 6.7e-10 (relative 2.2e-6);
fill-mask 64/64 same 5 tokens and sequences, 1.1e-9 (relative 2.7e-6).  transformers batch 32 against batch 1:
all equal, 1.8e-7 / 2.3e-10 / 4.1e-10.  On a machine this loaded the figures move by tens of percent between runs.
"""
import argparse
import csv
import json
import os
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CKPT = os.path.join(ROOT, "bench", "ckpt")
OUTD = os.path.join(ROOT, "bench", "out", "pipelines")
TOK = os.path.join(ROOT, "tests", "data", "tok-bert")
TORCH_PY = "/work/venv-torch/bin/python"
SEED = 0
NER_LABELS = ["O", "B-MISC", "I-MISC", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC"]
MODELS = {"ner": "ner-bert-base", "qa": "qa-distilbert-base", "fill-mask": "mlm-distilbert-base"}
HF_TASK = {"ner": "ner", "qa": "question-answering", "fill-mask": "fill-mask"}


# ----------------------------------------------------------------------------------------------- checkpoints
def make_checkpoint(task: str) -> str:
    out = os.path.join(CKPT, MODELS[task])
    if os.path.exists(os.path.join(out, "onnx", "model.onnx")):
        return out
    import shutil
    import torch
    from transformers import (BertConfig, BertForTokenClassification, DistilBertConfig,
                              DistilBertForMaskedLM, DistilBertForQuestionAnswering)
    torch.manual_seed(SEED)
    if task == "ner":  # dslim/bert-base-NER (bert-base-cased), vocab of the uncased tokenizer
        cfg = BertConfig(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                         intermediate_size=3072, hidden_act="gelu", hidden_dropout_prob=0.1,
                         attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=2,
                         initializer_range=0.02, layer_norm_eps=1e-12, pad_token_id=0,
                         id2label=dict(enumerate(NER_LABELS)), label2id={l: i for i, l in enumerate(NER_LABELS)},
                         architectures=["BertForTokenClassification"])
        model = BertForTokenClassification(cfg)
    else:  # distilbert-base-cased-distilled-squad / distilbert-base-uncased
        cfg = DistilBertConfig(vocab_size=30522, dim=768, n_layers=6, n_heads=12, hidden_dim=3072,
                               activation="gelu", dropout=0.1, attention_dropout=0.1, max_position_embeddings=512,
                               sinusoidal_pos_embds=False, initializer_range=0.02, qa_dropout=0.1,
                               seq_classif_dropout=0.2, pad_token_id=0, tie_weights_=True,
                               architectures=["DistilBertForQuestionAnswering" if task == "qa"
                                              else "DistilBertForMaskedLM"])
        model = (DistilBertForQuestionAnswering if task == "qa" else DistilBertForMaskedLM)(cfg)
    g = torch.Generator().manual_seed(SEED + 1)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "LayerNorm" in name or "layer_norm" in name:
                if name.endswith("weight"):
                    p.copy_(1.0 + 0.1 * (2 * torch.rand(p.shape, generator=g) - 1))
                else:
                    p.copy_(0.02 * (2 * torch.rand(p.shape, generator=g) - 1))
            elif name.endswith("bias"):
                p.copy_(0.02 * (2 * torch.rand(p.shape, generator=g) - 1))
    model.eval()
    model.save_pretrained(out)
    for f in ("tokenizer.json", "tokenizer_config.json", "vocab.txt"):
        shutil.copy(os.path.join(TOK, f), os.path.join(out, f))
    export_onnx(model, task, out)
    print(f"made {out} ({sum(p.numel() for p in model.parameters()):,} parameters)", flush=True)
    return out


def export_onnx(model, task: str, out: str) -> None:
    import torch
    bert = task == "ner"
    names = ["input_ids", "attention_mask"] + (["token_type_ids"] if bert else [])
    outs = ["start_logits", "end_logits"] if task == "qa" else ["logits"]

    class Wrap(torch.nn.Module):
        def __init__(self, m):
            super().__init__()
            self.m = m

        def forward(self, *args):
            r = self.m(**dict(zip(names, args)))
            return (r.start_logits, r.end_logits) if task == "qa" else r.logits

    ids = torch.tensor([[101, 7592, 2088, 102], [101, 2204, 102, 0]])
    args = (ids, (ids != 0).long()) + ((torch.zeros_like(ids),) if bert else ())
    axes = {n: {0: "b", 1: "t"} for n in names + outs}
    os.makedirs(os.path.join(out, "onnx"), exist_ok=True)
    with torch.no_grad():
        torch.onnx.export(Wrap(model).eval(), args, os.path.join(out, "onnx", "model.onnx"), input_names=names,
                          output_names=outs, dynamic_axes=axes, opset_version=17, do_constant_folding=True,
                          dynamo=False)


# ----------------------------------------------------------------------------------------------- inputs
def sentences() -> list:
    with open(os.path.join(ROOT, "tests", "data", "sst2-dev.tsv"), encoding="utf-8") as f:
        return [r[0].strip() for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]


def make_inputs(a) -> dict:
    os.makedirs(OUTD, exist_ok=True)
    s = sentences()
    ner = s[:a.n_ner]
    mlm = []
    for t in s:
        w = t.split()
        cand = [(len(x), -i) for i, x in enumerate(w) if x.isalpha()]
        if len(w) < 3 or not cand:
            continue
        i = -max(cand)[1]
        w[i] = "[MASK]"
        mlm.append(" ".join(w))
        if len(mlm) == a.n_mlm:
            break
    qa = []
    for i in range(300):
        target = 100 + (i * 37) % 301
        j, ctx, parts = 3 * i, [], []
        while len(ctx) < target:
            sw = s[j % len(s)].split()
            parts.append(sw)
            ctx += sw
            j += 1
        ctx = ctx[:400]
        whole = [k for k in range(len(parts)) if sum(map(len, parts[:k + 1])) <= 400] or [0]
        longest = max(whole, key=lambda k: (len(parts[k]), -k))
        frag = parts[longest][:8]
        qa.append({"question": "what about " + " ".join(frag) + " ?", "context": " ".join(ctx)})
    qa = qa[:a.n_qa]
    paths = {"ner": os.path.join(OUTD, "ner.txt"), "fill-mask": os.path.join(OUTD, "fill-mask.txt"),
             "qa": os.path.join(OUTD, "qa.jsonl")}
    for k, rows in (("ner", ner), ("fill-mask", mlm)):
        with open(paths[k], "w", encoding="utf-8") as f:
            f.writelines(r + "\n" for r in rows)
    with open(paths["qa"], "w", encoding="utf-8") as f:
        f.writelines(json.dumps(r) + "\n" for r in qa)
    return {"ner": (ner, paths["ner"]), "fill-mask": (mlm, paths["fill-mask"]), "qa": (qa, paths["qa"])}


def load_inputs(task: str, path: str) -> list:
    with open(path, encoding="utf-8") as f:
        return [json.loads(l) if task == "qa" else l.rstrip("\n") for l in f if l.strip()]


# ----------------------------------------------------------------------------------------------- workers
def plain(x):
    """pipeline output -> JSON-able Python values (numpy / torch scalars to float / int)."""
    if isinstance(x, dict):
        return {k: plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [plain(v) for v in x]
    if hasattr(x, "item"):
        return x.item()
    return x


def worker(task: str, peer: str, ck: str, path: str, threads: int) -> None:
    """Load once, warm up, then for each line "RUN <mode> <outfile>" on stdin run the whole call and print seconds."""
    items = load_inputs(task, path)
    t0 = time.perf_counter()
    if peer == "transformers":
        import torch
        import transformers
        torch.set_num_threads(threads)
        kw = {"aggregation_strategy": "simple"} if task == "ner" else {}
        transformers.utils.logging.disable_progress_bar()
        pipe = transformers.pipeline(HF_TASK[task], model=ck, dtype=torch.float32, device="cpu", **kw)
        version = f"transformers {transformers.__version__}, torch {torch.__version__}"


        def call(xs, mode):
            if task == "qa":  # 5.2's QuestionAnsweringPipeline.__call__ takes keywords only
                r = pipe(question=[x["question"] for x in xs], context=[x["context"] for x in xs],
                         batch_size=int(mode[1:]))
                return r if isinstance(r, list) else [r]
            return pipe(xs, batch_size=int(mode[1:]))
    elif peer == "bertc-python":
        import bertc
        kw = {"aggregation_strategy": "simple"} if task == "ner" else {}
        pipe = bertc.pipeline(HF_TASK[task], model=ck, threads=threads, **kw)
        version = f"bertc python {getattr(bertc, '__version__', '?')}"

        def call(xs, mode):
            r = pipe(xs)
            return r if len(xs) > 1 else [r]
    else:  # onnxruntime, forward only on pre-tokenized inputs
        import numpy as np
        import onnxruntime as ort
        from transformers import AutoTokenizer
        tok = AutoTokenizer.from_pretrained(ck)
        so = ort.SessionOptions()
        so.intra_op_num_threads = threads
        so.inter_op_num_threads = 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        sess = ort.InferenceSession(os.path.join(ck, "onnx", "model.onnx"), so, providers=["CPUExecutionProvider"])
        names = [i.name for i in sess.get_inputs()]
        version = f"onnxruntime {ort.__version__}"

        def encode(xs):
            seqs = []
            for x in xs:
                if task == "qa":
                    e = tok(x["question"], x["context"], truncation="only_second", max_length=384, stride=128,
                            return_overflowing_tokens=True)
                    seqs += [{n: e[n][w] for n in ("input_ids", "attention_mask", "token_type_ids")}
                             for w in range(len(e["input_ids"]))]
                else:
                    e = tok(x)
                    seqs.append({n: e[n] for n in ("input_ids", "attention_mask", "token_type_ids")})
            return seqs

        enc = {len(items): encode(items), 4: encode(items[:4])}  # tokenized before any timing

        def call(xs, mode):
            seqs, bs = enc[len(xs)], int(mode[1:])
            n = 0
            for i in range(0, len(seqs), bs):
                b = seqs[i:i + bs]
                t = max(len(s["input_ids"]) for s in b)
                feed = {k: np.array([s[k] + [0] * (t - len(s[k])) for s in b], dtype=np.int64) for k in names}
                sess.run(None, feed)
                n += len(b)
            return {"sequences": n, "tokens": sum(len(s["input_ids"]) for s in seqs)}
    load_s = time.perf_counter() - t0
    call(items[:4], "b1")  # warm-up
    print(json.dumps({"ready": True, "load_s": load_s, "version": version}), flush=True)
    for line in sys.stdin:
        _, mode, outfile = line.split()
        t = time.perf_counter()
        r = call(items, mode)
        dt = time.perf_counter() - t
        with open(outfile, "w", encoding="utf-8") as f:
            json.dump(plain(r), f)
        print(json.dumps({"seconds": dt}), flush=True)


class Worker:
    def __init__(self, python, task, peer, ck, path, a, env):
        self.p = subprocess.Popen([python, os.path.abspath(__file__), "--worker", task, peer, ck, path,
                                   "--threads", str(a.threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=open(os.path.join(OUTD, f"{task}.{peer}.log"), "w"), text=True, env=env,
                                  cwd=ROOT)
        self.log = os.path.join(OUTD, f"{task}.{peer}.log")
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"{peer} worker died: see {self.log}")
        self.info = json.loads(line)

    def run(self, mode, outfile):
        self.p.stdin.write(f"RUN {mode} {outfile}\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            raise RuntimeError(f"worker died: see {self.log}")
        return json.loads(line)["seconds"]

    def close(self):
        self.p.stdin.close()
        self.p.wait()


# ----------------------------------------------------------------------------------------------- equality
def compare(task: str, ref: list, got: list) -> tuple:
    """(items that differ, max |score difference|, max relative score difference, over the matched items)."""
    bad, diff, rel = 0, 0.0, 0.0
    for r, g in zip(ref, got):
        if task == "ner":
            same = [(e["entity_group"], e["word"], e["start"], e["end"]) for e in r] == \
                   [(e["entity_group"], e["word"], e["start"], e["end"]) for e in g]
            pairs = zip(r, g) if same else ()
        elif task == "qa":
            same = (r["start"], r["end"], r["answer"]) == (g["start"], g["end"], g["answer"])
            pairs = [(r, g)] if same else ()
        else:
            same = [(c["token"], c["sequence"]) for c in r] == [(c["token"], c["sequence"]) for c in g]
            pairs = zip(r, g) if same else ()
        bad += not same
        for x, y in pairs:
            diff = max(diff, abs(x["score"] - y["score"]))
            rel = max(rel, abs(x["score"] - y["score"]) / max(abs(x["score"]), 1e-30))
    return bad + abs(len(ref) - len(got)), diff, rel


# ----------------------------------------------------------------------------------------------- driver
def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=4, metavar=("TASK", "PEER", "CKPT", "INPUT"))
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--bertc", default="build", help="the build folder with bertc and libbertc.so")
    ap.add_argument("--tasks", default="ner,qa,fill-mask")
    ap.add_argument("--n-ner", type=int, default=64)
    ap.add_argument("--n-qa", type=int, default=20)
    ap.add_argument("--n-mlm", type=int, default=64)
    ap.add_argument("--qa-python", default="/tmp/venv-qa/bin/python")
    a = ap.parse_args()
    if a.worker:
        worker(*a.worker, a.threads)
        return
    t_all = time.perf_counter()
    env = dict(os.environ, OMP_NUM_THREADS=str(a.threads), MKL_NUM_THREADS=str(a.threads),
               RAYON_NUM_THREADS=str(a.threads), TOKENIZERS_PARALLELISM="false", HF_HUB_OFFLINE="1",
               TRANSFORMERS_VERBOSITY="error", PYTHONWARNINGS="ignore", HF_HUB_DISABLE_PROGRESS_BARS="1",
               BERTC_LIBRARY=os.path.join(ROOT, a.bertc, "libbertc.so"),
               PYTHONPATH=os.path.join(ROOT, "python") + os.pathsep + os.environ.get("PYTHONPATH", ""))
    bertc_bin = os.path.join(ROOT, a.bertc, "bertc")
    inputs = make_inputs(a)
    tasks = a.tasks.split(",")
    for task in tasks:
        make_checkpoint(task)
    print(f"{a.threads} threads, best of {a.repeat} interleaved runs of each whole call; "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f} at start", flush=True)
    report = {}
    for task in tasks:
        ck = os.path.join(CKPT, MODELS[task])
        items, path = inputs[task]
        hf_py = a.qa_python if task == "qa" else TORCH_PY
        workers = {"transformers": Worker(hf_py, task, "transformers", ck, path, a, env),
                   "onnxruntime": Worker(TORCH_PY, task, "onnxruntime", ck, path, a, env),
                   "bertc-python": Worker(TORCH_PY, task, "bertc-python", ck, path, a, env)}
        cli = [bertc_bin, task, "--model", ck, "--threads", str(a.threads)] + \
            (["--aggregation", "simple"] if task == "ner" else []) + ["--input", path]
        one = os.path.join(OUTD, f"{task}.one" + (".jsonl" if task == "qa" else ".txt"))
        with open(path, encoding="utf-8") as f, open(one, "w", encoding="utf-8") as g:
            g.write(f.readline())
        runs = [("transformers, batch 1 (its default)", "transformers", "b1"),
                ("transformers, batch_size=32", "transformers", "b32"),
                ("onnxruntime forward only, batch 1", "onnxruntime", "b1"),
                ("onnxruntime forward only, batch 32 padded", "onnxruntime", "b32"),
                ("bertc python pipeline", "bertc-python", ""),
                ("bertc CLI --input (whole process)", "cli", ""),
                ("bertc CLI, 1 input (start-up + load)", "cli1", "")]
        best, outs = {}, {}
        for rep in range(a.repeat):
            for name, peer, mode in runs:
                of = os.path.join(OUTD, f"{task}.{peer}.{mode or 'x'}.json")
                if peer.startswith("cli"):
                    cmd = cli[:-1] + [path if peer == "cli" else one]
                    with open(of, "w", encoding="utf-8") as f:
                        t = time.perf_counter()
                        subprocess.run(cmd, stdout=f, check=True, env=env)
                        dt = time.perf_counter() - t
                else:
                    dt = workers[peer].run(mode or "b1", of)
                best[name] = min(best.get(name, 1e9), dt)
                outs[name] = of
            print(f"  {task}: run {rep + 1}/{a.repeat} done", flush=True)
        for w in workers.values():
            w.close()

        def load(name):
            with open(outs[name], encoding="utf-8") as f:
                if name.startswith("bertc CLI --input"):
                    return [json.loads(l) for l in f if l.strip()]
                return json.load(f)
        ref = load("transformers, batch 1 (its default)")
        if task == "qa":
            ref = [r[0] if isinstance(r, list) else r for r in ref]
        ortinfo = load("onnxruntime forward only, batch 1")
        eq = {name: compare(task, ref, load(name)) for name in
              ("transformers, batch_size=32", "bertc python pipeline", "bertc CLI --input (whole process)")}
        n_words = sum(len((x["context"] if task == "qa" else x).split()) for x in items)
        desc = (f"{len(items)} questions on contexts of {n_words} words in all, {ortinfo['sequences']} windows "
                if task == "qa" else f"{len(items)} texts, ") + f"{ortinfo['tokens']} tokens"
        print(f"\n{task}: {MODELS[task]}, {desc}; {workers['transformers'].info['version']}, "
              f"{workers['onnxruntime'].info['version']}")
        b = best["bertc python pipeline"]
        for name, _, _ in runs:
            print(f"  {name:44s} {best[name]:8.3f} s   {best[name] / b:5.2f}x bertc python")
        for name, (bad, diff, rel) in eq.items():
            print(f"  equality, {name} vs transformers batch 1: {len(items) - bad}/{len(items)} equal, "
                  f"largest score difference {diff:.2e} (relative {rel:.2e})")
        report[task] = {"inputs": desc, "seconds": best, "equality": eq,
                        "load_s": {k: w.info["load_s"] for k, w in workers.items()}}
        sys.stdout.flush()
    with open(os.path.join(OUTD, "report.json"), "w", encoding="utf-8") as f:
        json.dump(report, f, indent=1)
    print(f"\nwhole benchmark {time.perf_counter() - t_all:.0f} s, load average {os.getloadavg()[0]:.2f} at the end; "
          f"{os.path.join(OUTD, 'report.json')}")


if __name__ == "__main__":
    main()
