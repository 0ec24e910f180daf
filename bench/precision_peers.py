"""bertc at reduced precision beside the engines users would pick for it: OpenVINO (fp32, bf16, int8 by NNCF),
ONNX Runtime (fp32, int8 by quantize_dynamic) and PyTorch 2.x (fp32, bf16 autocast), on full-size DistilBERT
(distilbert-base-uncased-finetuned-sst-2-english's config, deterministic random weights) over the 872 SST-2 dev
sentences, same threads, same run, interleaved rounds. Figures and label agreement, never pass/fail.

    make -j2 BUILD=build-peers && make BUILD=build-peers build-peers/bench_model
    /work/venv-torch/bin/pip install openvino nncf          # 2026.4.1 and 3.4.0 here; nothing else changed
    /work/venv-torch/bin/python bench/precision_peers.py [--bertc build-peers] [--threads 2] [--repeat 3]
        [--batch 32] [--no-batch1] [--calib 300] [--ckpt bench/ckpt/distilbert-base] [--json OUT.jsonl]
The first run makes (gitignored, under CKPT): the checkpoint if absent (../shared/peers/make_checkpoint.py, as
bench/models.sh does), onnx-hf/model.onnx, onnx-hf/model.int8.onnx, ov/fp32.xml, ov/int8.xml (about 40 s).
Per-configuration rows go to OUT.jsonl, the logits to OUT.logits.npz. About 12 minutes for 3 rounds on 2 cores.

What is timed (each run: all 872 sentences in dataset order, batches padded to the batch's longest):
  bertc      bench_model CKPT DEV 32 THREADS [int8|bf16c]: bertc_classify from text (its tokenizer included),
             the loop only (the model load is not timed). int8 = --dtype int8 (int8 weights, u8 x s8 -> int32
             sums, AVX-512 VNNI here); bf16 = --compute bf16 (matmul inputs rounded to bf16, fp32 sums).
  peers      each in its own persistent process (model loaded and compiled once, one untimed warm-up pass), end to
             end from text as well: the Hugging Face fast tokenizer (tokenizers, RAYON_NUM_THREADS=THREADS) on each
             batch, then the forward pass, then argmax. So both sides tokenize inside the timed loop.
  PyTorch    transformers' DistilBertForSequenceClassification (sdpa attention), torch.set_num_threads(THREADS),
             inference_mode; bf16 = torch.autocast("cpu", dtype=torch.bfloat16) over fp32 weights.
  ORT        that model exported by torch.onnx.export (TorchScript exporter, opset 17, dynamic batch and
             sequence) to CKPT/onnx-hf/model.onnx; intra_op_num_threads=THREADS, inter_op 1, all graph
             optimizations; int8 = quant_pre_process then quantize_dynamic(weight_type=QInt8, per_channel=True)
             (model.int8.onnx: u8 activations quantized at run time, s8 weights per output channel).
  OpenVINO   openvino.convert_model of that ONNX file (CKPT/ov/fp32.xml, saved uncompressed), compiled for CPU with
             INFERENCE_NUM_THREADS=THREADS, NUM_STREAMS=1, PERFORMANCE_HINT=LATENCY and INFERENCE_PRECISION_HINT
             f32 (fp32) or bf16 (bf16). NOTE: on this CPU (AVX512_BF16, no AMX) OpenVINO's DEFAULT precision
             hint is already bf16, so a user who does not ask for f32 gets bf16. int8 = nncf.quantize(ov model,
             --calib SST-2 *train* sentences, one per sample, model_type=TRANSFORMER, default preset) saved as
             CKPT/ov/int8.xml, compiled with the default precision hint (bf16 here) for what stays un-quantized.
             What the CPU plugin actually ran is read from compiled_model.get_runtime_model() (primitiveType and
             runtimePrecision of every MatMul / FullyConnected node) and printed.
  batch 1    int8 only (bertc, ORT, OpenVINO): the same 872 sentences one at a time, p50 of the per-sentence latency
             (tokenization included), reported beside the batch-32 table.
Rounds: every configuration once per round, REPEAT rounds, the order rotated each round; min of the rounds, and
the ratio vs bertc at the same precision both as min/min and as the median of the per-round ratios (the machine
may be shared).

Agreement: the weights are random (no fine-tuned full-size checkpoint exists here), so SST-2 accuracy means nothing
(~50%); each configuration's labels are compared with transformers fp32 (the reference) and with bertc at the
same precision, with the largest logit difference from the fp32 reference. The labels come from the first timed
peer pass and from `bertc classify --logits` (batch 32, same threads) for bertc.

Measured (2026-12-02, AMD EPYC Zen 5, 2 cores visible (nproc 2), AVX-512 + AVX512_BF16 + AVX512_VNNI, no AMX;
gcc -O2; torch 2.15.0, transformers 5.24.0, tokenizers 0.23.3, onnxruntime 1.32.0, openvino 2026.4.1, nncf 3.4.0;
2 threads, batch 32, 3 rounds, min seconds; ratio = peer / bertc at the same precision, >1 = bertc faster):

Timings: 3 interleaved rounds (min); agreement columns: a second, 1-round run of this script (same code, same
logits every run up to thread-order rounding). Ratio = peer seconds / bertc seconds at the same precision (>1: bertc
faster), min/min and median of the per-round ratios. Everything end to end from text, batch 32 unless said.

    engine     prec  batch   min s  sent/s  ratio min  ratio med  p50 ms/batch  centred agree  spearman  max|dlogit|
    bertc      fp32     32   4.557   191.4       1.00       1.00        166.6        872/872    1.00000     1.4e-06
    PyTorch    fp32     32  21.736    40.1       4.77       4.72        802.4        872/872    1.00000     (ref)
    ORT        fp32     32  10.103    86.3       2.22       2.16        372.8        872/872    1.00000     1.0e-06
    OpenVINO   fp32     32   9.896    88.1       2.17       2.15        364.6        872/872    1.00000     1.0e-06
    bertc      int8     32   1.433   608.5       1.00       1.00         50.2        810/872    0.97662     1.6e-02
    ORT        int8     32   4.177   208.8       2.91       3.00        152.7        824/872    0.98970     1.4e-02
    OpenVINO   int8     32   2.779   313.8       1.94       2.07        102.4        793/872    0.99161     3.4e-02
    bertc      bf16     32   2.633   331.2       1.00       1.00         96.3        870/872    0.99978     1.7e-03
    PyTorch    bf16     32   6.071   143.6       2.31       2.31        220.8        853/872    0.99919     4.1e-03
    OpenVINO   bf16     32   4.567   190.9       1.73       1.73        166.6        834/872    0.99630     7.7e-03
    bertc      int8      1   2.048   425.8       1.00       1.00   p50 2.25 ms/sentence
    ORT        int8      1   3.360   259.5       1.64       1.79   p50 3.71 ms/sentence
    OpenVINO   int8      1   3.867   225.5       1.89       2.03   p50 4.31 ms/sentence
Rounds were noisy (bertc fp32 4.56 / 4.56 / 6.05 s; the machine is shared), the per-round ratios steady.
Plain labels: 872/872 agree everywhere, because the random reference calls every sentence POSITIVE (SST-2 dev
"accuracy" 0.509 = the positive share, for every configuration): meaningless. "centred": labels with the threshold
at the reference's median margin (0.3859; margin std only 0.038, 200 sentences within 0.01 of it, so a harsh
test); spearman: rank correlation of the margins with the reference's; max|dlogit|: vs transformers fp32.

What each engine actually ran (this CPU: no AMX, so nobody used tiles):
  bertc      fp32 avx512; int8 avx512 (VNNI u8 x s8); bf16 compute avx512bf16 (bertc info: compute_isa).
  PyTorch    bf16 autocast: oneDNN brg_matmul:avx512_core_bf16 for all 38 Linear layers (ONEDNN verbose),
             attention by torch's own sdpa kernel; fp32: no oneDNN matmul at all (Linear goes to the BLAS sgemm),
             which is likely why PyTorch fp32 is so slow here (4.8x bertc, 2.2x ORT): doubtful, not investigated.
  ORT int8   38 MatMulInteger + 26 DynamicQuantizeLinear (the 12 attention MatMuls stay fp32); Python cannot see
             which MLAS kernel ran (with avx512_vnni and no AMX it should be its AVX512-VNNI U8S8 kernel).
  OpenVINO   fp32 (hint f32): FullyConnected 19 gemm_mlas_f32 + 19 brgconv_avx512_1x1_f32, attention brgemm_avx512_f32.
             bf16 (hint bf16, also the DEFAULT on this CPU): all 38 FullyConnected and 12 attention MatMuls
             brgemm_avx512_bf16 (AVX512_BF16, no AMX), and LayerNorm (MVN), Softmax, GELU in bf16 too, so it rounds
             more than autocast or bertc (larger logit error above).
             int8 (NNCF, 300 train sentences, 22 s; SmoothQuant + fast bias correction applied): all 38
             FullyConnected brgemm_avx512_I8/i8 AND the 12 attention MatMuls in int8 (brgemm_avx512_I8/i8), the rest
             bf16 (default hint): more of the graph in int8 than bertc or ORT.
"""
import argparse
import csv
import json
import os
import select
import statistics
import subprocess
import sys
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
TAG = "@@ "  # protocol lines from workers; anything else on their stdout (library chatter) is ignored


def read_tsv(path, limit=None):
    with open(path, encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    rows = rows[:limit] if limit else rows
    return [r[0] for r in rows], [int(r[1]) for r in rows]


# ---------------------------------------------------------------------------------------------------- preparation
def prepare(ck, train_tsv, calib, log):
    import torch
    from transformers import AutoModelForSequenceClassification, AutoTokenizer
    onnx_dir, ov_dir = os.path.join(ck, "onnx-hf"), os.path.join(ck, "ov")
    fp32_onnx, int8_onnx = os.path.join(onnx_dir, "model.onnx"), os.path.join(onnx_dir, "model.int8.onnx")
    tok = AutoTokenizer.from_pretrained(ck)
    if not os.path.exists(fp32_onnx):
        os.makedirs(onnx_dir, exist_ok=True)
        m = AutoModelForSequenceClassification.from_pretrained(ck, dtype=torch.float32).eval()
        b = tok(["hello world", "a good movie , really"], padding=True, return_tensors="pt")
        with torch.no_grad():
            torch.onnx.export(m, (b["input_ids"], b["attention_mask"]), fp32_onnx, input_names=["input_ids", "attention_mask"],
                              output_names=["logits"], dynamic_axes={"input_ids": {0: "b", 1: "t"}, "attention_mask": {0: "b", 1: "t"},
                                                                     "logits": {0: "b"}}, opset_version=17, dynamo=False)
        log("exported %s" % fp32_onnx)
    if not os.path.exists(int8_onnx):
        from onnxruntime.quantization import QuantType, quantize_dynamic
        from onnxruntime.quantization.shape_inference import quant_pre_process
        pre = os.path.join(onnx_dir, "model.pre.onnx")
        quant_pre_process(fp32_onnx, pre, skip_symbolic_shape=True)  # the symbolic pass fails on this graph ("Incomplete symbolic shape inference")
        quantize_dynamic(pre, int8_onnx, weight_type=QuantType.QInt8, per_channel=True)
        os.remove(pre)
        log("quantized %s" % int8_onnx)
    import openvino as ov
    os.makedirs(ov_dir, exist_ok=True)
    if not os.path.exists(os.path.join(ov_dir, "fp32.xml")):
        ov.save_model(ov.convert_model(fp32_onnx), os.path.join(ov_dir, "fp32.xml"), compress_to_fp16=False)
        log("converted %s" % os.path.join(ov_dir, "fp32.xml"))
    if not os.path.exists(os.path.join(ov_dir, "int8.xml")):
        import nncf
        texts, _ = read_tsv(train_tsv, calib)
        items = [dict(tok([t], truncation=True, return_tensors="np")) for t in texts]
        t0 = time.perf_counter()
        q = nncf.quantize(ov.Core().read_model(os.path.join(ov_dir, "fp32.xml")),
                          nncf.Dataset(items, lambda d: {"input_ids": d["input_ids"], "attention_mask": d["attention_mask"]}),
                          model_type=nncf.ModelType.TRANSFORMER, subset_size=len(items))
        ov.save_model(q, os.path.join(ov_dir, "int8.xml"), compress_to_fp16=False)
        log("nncf.quantize on %d train sentences: %.1f s -> %s" % (len(items), time.perf_counter() - t0, os.path.join(ov_dir, "int8.xml")))
    return fp32_onnx, int8_onnx, os.path.join(ov_dir, "fp32.xml"), os.path.join(ov_dir, "int8.xml")


# ------------------------------------------------------------------------------------------------------ a worker
def worker(engine, prec, ck, data, threads):
    os.environ["RAYON_NUM_THREADS"] = str(threads)
    import numpy as np
    from transformers import AutoTokenizer
    tok = AutoTokenizer.from_pretrained(ck)
    texts, _ = read_tsv(data)
    info = {}
    rt = "np"
    probe = lambda: None
    if engine == "torch":
        import torch
        from transformers import AutoModelForSequenceClassification
        torch.set_num_threads(threads)
        model = AutoModelForSequenceClassification.from_pretrained(ck, dtype=torch.float32).eval()
        rt = "pt"
        info = {"version": "torch %s, transformers %s" % (torch.__version__, __import__("transformers").__version__),
                "cpu_capability": torch.backends.cpu.get_cpu_capability()}

        def fwd(b):
            with torch.inference_mode(), torch.autocast("cpu", dtype=torch.bfloat16, enabled=prec == "bf16"):
                return model(**b).logits.float().numpy()

        def probe():  # oneDNN's own log of one batch: which primitives and ISA ran (its fd-1 output caught in a file)
            import tempfile
            b = tok(texts[:32], padding=True, truncation=True, return_tensors="pt")
            with tempfile.TemporaryFile() as f:
                sys.stdout.flush()
                save = os.dup(1)
                os.dup2(f.fileno(), 1)
                try:
                    with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                        fwd(b)
                finally:
                    os.dup2(save, 1)
                    os.close(save)
                f.seek(0)
                kinds = {}
                for l in f.read().decode(errors="replace").splitlines():
                    p = l.split(",")
                    if "exec" in p:
                        k = ",".join(p[p.index("exec") + 1:p.index("exec") + 4])
                        kinds[k] = kinds.get(k, 0) + 1
            info["onednn_exec"] = kinds
    elif engine == "ort":
        import onnxruntime as ort
        so = ort.SessionOptions()
        so.intra_op_num_threads, so.inter_op_num_threads = threads, 1
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        path = os.path.join(ck, "onnx-hf", "model.onnx" if prec == "fp32" else "model.int8.onnx")
        sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
        import onnx
        ops = {}
        for n in onnx.load(path, load_external_data=False).graph.node:
            ops[n.op_type] = ops.get(n.op_type, 0) + 1
        info = {"version": "onnxruntime %s" % ort.__version__, "graph_ops": {k: v for k, v in ops.items() if "Quant" in k or "Integer" in k or k == "MatMul"}}

        def fwd(b):
            return sess.run(["logits"], {"input_ids": b["input_ids"].astype(np.int64), "attention_mask": b["attention_mask"].astype(np.int64)})[0]
    elif engine == "ov":
        import openvino as ov
        core = ov.Core()
        cfg = {"INFERENCE_NUM_THREADS": threads, "NUM_STREAMS": 1, "PERFORMANCE_HINT": "LATENCY"}
        if prec in ("fp32", "bf16"):
            cfg["INFERENCE_PRECISION_HINT"] = "f32" if prec == "fp32" else "bf16"
        xml = os.path.join(ck, "ov", "int8.xml" if prec == "int8" else "fp32.xml")
        cm = core.compile_model(core.read_model(xml), "CPU", cfg)
        req = cm.create_infer_request()
        info = {"version": "openvino %s" % ov.__version__, "default_precision_hint": str(core.get_property("CPU", "INFERENCE_PRECISION_HINT")),
                "compiled_precision_hint": str(cm.get_property("INFERENCE_PRECISION_HINT")),
                "capabilities": list(core.get_property("CPU", "OPTIMIZATION_CAPABILITIES"))}

        def probe():  # after an inference: with dynamic shapes the CPU plugin picks its primitives at the first call
            kinds = {}
            for op in req.get_compiled_model().get_runtime_model().get_ops():
                r = op.get_rt_info()
                g = lambda k: r[k].astype(str) if k in r else "?"
                if g("layerType") in ("FullyConnected", "MatMul", "MVN", "Softmax"):
                    k = "%s %s %s" % (g("layerType"), g("primitiveType"), g("runtimePrecision"))
                    kinds[k] = kinds.get(k, 0) + 1
            info["kernels"] = kinds

        def fwd(b):
            return req.infer({"input_ids": b["input_ids"].astype(np.int64), "attention_mask": b["attention_mask"].astype(np.int64)})[0].copy()

    def run(bs):
        lat, logits = [], []
        t0 = time.perf_counter()
        for i in range(0, len(texts), bs):
            s = time.perf_counter()
            b = tok(texts[i:i + bs], padding=True, truncation=True, return_tensors=rt)
            logits.append(fwd(b))
            lat.append(time.perf_counter() - s)
        dt = time.perf_counter() - t0
        lg = np.concatenate(logits).astype(np.float64)
        return {"seconds": dt, "p50_ms": 1e3 * statistics.median(lat), "logits": lg.round(6).tolist()}

    run(32)  # warm-up (untimed)
    probe()
    print(TAG + json.dumps({"ready": True, "info": info}), flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        r = run(int(cmd[1]))
        if cmd[0] == "time":
            r.pop("logits")
        print(TAG + json.dumps(r), flush=True)


class Worker:
    def __init__(self, engine, prec, a):
        self.name = "%s %s" % (engine, prec)
        env = dict(os.environ, RAYON_NUM_THREADS=str(a.threads), TOKENIZERS_PARALLELISM="true")
        self.p = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--worker", engine, prec, "--ckpt", a.ckpt, "--data", a.data,
                                   "--threads", str(a.threads)], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env, cwd=ROOT)

    def reply(self):
        for line in self.p.stdout:
            if line.startswith(TAG):
                return json.loads(line[len(TAG):])
        raise RuntimeError("%s: worker ended (rc %s)" % (self.name, self.p.wait()))

    def ask(self, cmd):
        self.p.stdin.write(cmd + "\n")
        self.p.stdin.flush()
        return self.reply()


def bertc_time(a, prec, bs):
    arg = {"fp32": [], "int8": ["int8"], "bf16": ["bf16c"]}[prec]
    out = subprocess.run([os.path.join(a.bertc, "bench_model"), a.ckpt, a.data, str(bs), str(a.threads)] + arg,
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    r = json.loads(out.strip().splitlines()[-1])
    return {"seconds": r["seconds"], "p50_ms": r["p50_batch_ms"], "isa": r["isa"]}


def bertc_logits(a, prec, texts):
    arg = {"fp32": [], "int8": ["--dtype", "int8"], "bf16": ["--compute", "bf16"]}[prec]
    out = subprocess.run([os.path.join(a.bertc, "bertc"), "classify", "--model", a.ckpt, "--threads", str(a.threads), "--batch-size", "32",
                          "--logits", "--input", "-", "--input-format", "text"] + arg,
                         input="\n".join(texts) + "\n", capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return [json.loads(l)["logits"] for l in out.splitlines() if l.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--worker", nargs=2)
    ap.add_argument("--bertc", default="build-peers")
    ap.add_argument("--ckpt", default="bench/ckpt/distilbert-base")
    ap.add_argument("--data", default="tests/data/sst2-dev.tsv")
    ap.add_argument("--train", default="../shared/data/sst2/train.tsv")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--calib", type=int, default=300)
    ap.add_argument("--no-batch1", action="store_true")
    ap.add_argument("--json", default="bench/out/precision_peers.jsonl")
    a = ap.parse_args()
    if a.worker:
        return worker(a.worker[0], a.worker[1], a.ckpt, a.data, a.threads)
    os.chdir(ROOT)
    import numpy as np
    log = lambda s: print(s, file=sys.stderr, flush=True)
    if not os.path.exists(os.path.join(a.ckpt, "config.json")):
        subprocess.run(["/usr/bin/python3", "../shared/peers/make_checkpoint.py", "--arch", "distilbert", "--size", "base", "--vocab-dir",
                        "../shared/tokref/tok-bert-base-uncased", "--out", a.ckpt], check=True)
    prepare(a.ckpt, a.train, a.calib, log)
    texts, gold = read_tsv(a.data)
    B = a.batch
    configs = [("bertc", "fp32"), ("torch", "fp32"), ("ort", "fp32"), ("ov", "fp32"),
               ("bertc", "int8"), ("ort", "int8"), ("ov", "int8"),
               ("bertc", "bf16"), ("torch", "bf16"), ("ov", "bf16")]
    workers, infos = {}, {}
    for eng, prec in configs:  # started one at a time so that loading does not overlap
        if eng != "bertc":
            w = Worker(eng, prec, a)
            infos[(eng, prec)] = w.reply()["info"]
            workers[(eng, prec)] = w
            log("ready: %s %s %s" % (eng, prec, json.dumps(infos[(eng, prec)])))
    logits = {}
    for prec in ("fp32", "int8", "bf16"):
        logits[("bertc", prec)] = np.array(bertc_logits(a, prec, texts))
    # timed rounds, order rotated; the first peer pass at batch B also gives its logits
    jobs = [(e, p, B) for e, p in configs] + ([] if a.no_batch1 else [("bertc", "int8", 1), ("ort", "int8", 1), ("ov", "int8", 1)])
    times = {j: [] for j in jobs}
    for rnd in range(a.repeat):
        k = (rnd * len(jobs)) // a.repeat
        for j in jobs[k:] + jobs[:k]:
            eng, prec, bs = j
            time.sleep(0.3)
            if eng == "bertc":
                r = bertc_time(a, prec, bs)
            else:
                r = workers[(eng, prec)].ask(("logits " if (eng, prec) not in logits and bs == B else "time ") + str(bs))
                if "logits" in r:
                    logits[(eng, prec)] = np.array(r.pop("logits"))
            times[j].append(r)
            log("round %d %-6s %-5s b%-3d %.3f s  p50 %.2f ms" % (rnd + 1, eng, prec, bs, r["seconds"], r["p50_ms"]))
    for w in workers.values():
        w.p.stdin.write("quit\n")
        w.p.stdin.close()
        w.p.wait()
    # table
    ref = logits[("torch", "fp32")]
    ref_lab = ref.argmax(1)
    # random weights put every sentence on one side (872/872 POSITIVE here), so plain label agreement is trivially
    # full: also the labels with the threshold moved to the reference's median margin (half the sentences each side)
    # and the rank correlation of the margins, both against the reference
    mref = ref[:, 1] - ref[:, 0]
    thr = float(np.median(mref))
    rank = lambda x: np.argsort(np.argsort(x)).astype(np.float64)
    np.savez_compressed(os.path.splitext(a.json)[0] + ".logits.npz", **{"%s_%s" % k: v for k, v in logits.items()})
    rows = []
    hdr = "%-9s %-5s %5s %8s %8s %12s %12s %9s %10s %10s %9s %9s %8s" % ("engine", "prec", "batch", "min s", "sent/s", "vs bertc min",
                                                                        "vs bertc med", "p50 ms", "agree ref", "agr bertc", "centred", "spearman", "max|dlog|")
    lines = [hdr]
    for j in jobs:
        eng, prec, bs = j
        sec = [r["seconds"] for r in times[j]]
        bj = ("bertc", prec, bs)
        ratio_min = min(sec) / min(r["seconds"] for r in times[bj])
        ratio_med = statistics.median(s / r["seconds"] for s, r in zip(sec, times[bj]))
        p50 = min(r["p50_ms"] for r in times[j])
        row = {"engine": eng, "precision": prec, "batch": bs, "threads": a.threads, "seconds": sec, "min_s": min(sec), "p50_ms": p50,
               "ratio_vs_bertc_min": ratio_min, "ratio_vs_bertc_median": ratio_med}
        ag = ab = ce = sp = dl = ""
        if bs == B:
            lg = logits[(eng, prec)]
            lab = lg.argmax(1)
            mg = lg[:, 1] - lg[:, 0]
            row.update(agree_ref=int((lab == ref_lab).sum()), agree_bertc=int((lab == logits[("bertc", prec)].argmax(1)).sum()),
                       agree_ref_centred=int(((mg > thr) == (mref > thr)).sum()), spearman=float(np.corrcoef(rank(mg), rank(mref))[0, 1]),
                       max_dlogit=float(np.abs(lg - ref).max()), gold_acc=float((lab == np.array(gold)).mean()), positive=int(lab.sum()))
            ag, ab, ce = ("%d/%d" % (row[k], len(texts)) for k in ("agree_ref", "agree_bertc", "agree_ref_centred"))
            sp, dl = "%.5f" % row["spearman"], "%.1e" % row["max_dlogit"]
        rows.append(row)
        lines.append("%-9s %-5s %5d %8.3f %8.1f %12.2f %12.2f %9.2f %10s %10s %9s %9s %8s" % (eng, prec, bs, min(sec), len(texts) / min(sec), ratio_min,
                                                                                            ratio_med, p50, ag, ab, ce, sp, dl))
    lines.append("reference (transformers fp32): %d/%d POSITIVE, SST-2 dev accuracy %.3f (random weights: meaningless); logit margin "
                 "median %.4f (the centred threshold), spread (std) %.4f, %d sentences within 0.01 of the median" % (
                     ref_lab.sum(), len(texts), (ref_lab == np.array(gold)).mean(), thr, mref.std(), (np.abs(mref - thr) < 0.01).sum()))
    print("\n".join(lines))
    for k, v in infos.items():
        print("%s %s: %s" % (k[0], k[1], json.dumps(v)))
    print("bertc isa: " + ", ".join("%s %s" % (p, times[("bertc", p, B)][0]["isa"]) for p in ("fp32", "int8", "bf16")))
    os.makedirs(os.path.dirname(a.json), exist_ok=True)
    with open(a.json, "w") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
        f.write(json.dumps({"infos": {"%s %s" % k: v for k, v in infos.items()}}) + "\n")


if __name__ == "__main__":
    main()
