#!/usr/bin/env python3
"""Call bertc serve (or TEI) through the official Python clients: huggingface_hub and openai.

    /work/venv-clients/bin/python tests/clients/test_clients.py --url http://127.0.0.1:PORT --kind classifier|embedding

Prints one JSON line per client call:

    {"client": "huggingface_hub", "version": "2.4.0", "method": "text_classification", "case": "plain",
     "args": {...}, "ok": true, "value": ..., "error": ""}

and {"client": ..., "skipped": "not installed"} when a client package cannot be imported.  It always exits 0
(2 only for bad arguments): the C suite compares "value" with what the native routes answer for "args".

value, per method:
  text_classification  what the client returned, as JSON: a {"label", "score"} object (TEI answers a flat list
                       for one string and the client takes [0] of it) or a list of them
  feature_extraction   {"shape": [rows, dims], "head": first 4 numbers of each row, "norm": L2 norm of each row}
                       (the whole array under "data" with --full)
  sentence_similarity  the list of floats
  embeddings.create    {"object", "model", "usage", "index": [...], "types": [...], "shape", "head", "norm"}
                       (base64 answers are decoded here, as float32 little-endian, when the client leaves them)
  get_endpoint_info    the /info JSON;  health_check  the bool
error: "" when ok, else "ExceptionType: [status N] message" (first 400 characters).
"""

import argparse
import base64
import json
import math
import struct
import sys
import traceback

TEXT = "I loved it"
TEXTS = ["A man is eating food.", "Someone is eating a meal."]
SOURCE = "A man is eating food."
OTHERS = ["Someone is eating a meal.", "The sky is blue today.", "A man eats."]
LONG = "word " * 600  # over 512 tokens: needs truncate
TOKEN_IDS = [101, 7592, 2088, 102]  # bert-base-uncased ids of [CLS] hello world [SEP]
TOKEN_IDS2 = [101, 7592, 102]  # [CLS] hello [SEP]


def summarize_matrix(rows, full):
    """rows: list of lists of floats (or one flat list)."""
    if rows and not isinstance(rows[0], (list, tuple)):
        flat = [float(x) for x in rows]
        out = {"shape": [len(flat)], "head": flat[:4], "norm": math.sqrt(sum(x * x for x in flat))}
        if full:
            out["data"] = flat
        return out
    rows = [[float(x) for x in r] for r in rows]
    out = {
        "shape": [len(rows), len(rows[0]) if rows else 0],
        "head": [r[:4] for r in rows],
        "norm": [math.sqrt(sum(x * x for x in r)) for r in rows],
    }
    if full:
        out["data"] = rows
    return out


def err_text(e):
    status = None
    resp = getattr(e, "response", None)
    if resp is not None:
        status = getattr(resp, "status_code", None)
    if status is None:
        status = getattr(e, "status_code", None)
    msg = str(e).replace("\n", " ")
    s = type(e).__name__ + ": " + (f"[status {status}] " if status is not None else "") + msg
    return s[:400]


def emit(rec):
    print(json.dumps(rec, ensure_ascii=False), flush=True)


def call(client, version, method, case, args, fn):
    rec = {"client": client, "version": version, "method": method, "case": case, "args": args}
    try:
        rec["value"] = fn()
        rec["ok"] = True
        rec["error"] = ""
    except Exception as e:  # noqa: BLE001 - every failure is data here
        rec["ok"] = False
        rec["value"] = None
        rec["error"] = err_text(e)
        if "--debug" in sys.argv:
            traceback.print_exc()
    emit(rec)


def tc_value(out):
    """text_classification's result: one element (dict-like) or a list of them."""
    def one(el):
        return {"label": el.label, "score": el.score}

    if isinstance(out, list):
        return [one(x) if not isinstance(x, list) else [one(y) for y in x] for x in out]
    return one(out)


def run_hf(url, kind, full, timeout, prompt_name):
    try:
        import huggingface_hub
        from huggingface_hub import InferenceClient
    except Exception:  # noqa: BLE001
        emit({"client": "huggingface_hub", "skipped": "not installed"})
        return
    v = huggingface_hub.__version__
    c = InferenceClient(base_url=url, timeout=timeout)  # also spelled InferenceClient(model=url)
    c_model = InferenceClient(model=url, timeout=timeout)
    c_prov = InferenceClient(model=url, provider="hf-inference", timeout=timeout)

    if kind == "classifier":
        call("huggingface_hub", v, "text_classification", "plain", {"text": TEXT},
             lambda: tc_value(c.text_classification(TEXT)))
        call("huggingface_hub", v, "text_classification", "model=url", {"text": TEXT},
             lambda: tc_value(c_model.text_classification(TEXT)))
        call("huggingface_hub", v, "text_classification", "top_k=1", {"text": TEXT, "top_k": 1},
             lambda: tc_value(c.text_classification(TEXT, top_k=1)))
        call("huggingface_hub", v, "text_classification", "function_to_apply=none",
             {"text": TEXT, "function_to_apply": "none"},
             lambda: tc_value(c.text_classification(TEXT, function_to_apply="none")))
    else:
        def fe(text, **kw):
            return summarize_matrix(c.feature_extraction(text, **kw).tolist(), full)

        call("huggingface_hub", v, "feature_extraction", "single", {"text": TEXTS[0]}, lambda: fe(TEXTS[0]))
        call("huggingface_hub", v, "feature_extraction", "model=url", {"text": TEXTS[0]},
             lambda: summarize_matrix(c_model.feature_extraction(TEXTS[0]).tolist(), full))
        call("huggingface_hub", v, "feature_extraction", "batch", {"text": TEXTS}, lambda: fe(TEXTS))
        call("huggingface_hub", v, "feature_extraction", "normalize=false", {"text": TEXTS[0], "normalize": False},
             lambda: fe(TEXTS[0], normalize=False))
        call("huggingface_hub", v, "feature_extraction", "truncate-left",
             {"text": "word * 600", "truncate": True, "truncation_direction": "left"},
             lambda: fe(LONG, truncate=True, truncation_direction="left"))
        call("huggingface_hub", v, "feature_extraction", "too-long", {"text": "word * 600"}, lambda: fe(LONG))
        call("huggingface_hub", v, "feature_extraction", "dimensions=128", {"text": TEXTS[0], "dimensions": 128},
             lambda: fe(TEXTS[0], dimensions=128))
        if prompt_name:
            call("huggingface_hub", v, "feature_extraction", "prompt_name", {"text": TEXTS[0], "prompt_name": prompt_name},
                 lambda: fe(TEXTS[0], prompt_name=prompt_name))
        call("huggingface_hub", v, "sentence_similarity", "plain", {"sentence": SOURCE, "other_sentences": OTHERS},
             lambda: [float(x) for x in c.sentence_similarity(SOURCE, OTHERS)])

    # get_endpoint_info / health_check refuse unless provider == "hf-inference" (_client.py: "if self.provider !=
    # 'hf-inference': raise ValueError"), even with a URL: the default client shows that refusal.
    call("huggingface_hub", v, "get_endpoint_info", "provider=None", {}, lambda: c_model.get_endpoint_info())
    call("huggingface_hub", v, "get_endpoint_info", "provider=hf-inference", {}, lambda: c_prov.get_endpoint_info())
    call("huggingface_hub", v, "health_check", "provider=hf-inference", {}, lambda: c_prov.health_check())


def run_openai(url, kind, full, timeout):
    try:
        import openai
        from openai import OpenAI
    except Exception:  # noqa: BLE001
        emit({"client": "openai", "skipped": "not installed"})
        return
    v = openai.__version__
    if kind != "embedding":
        return
    c = OpenAI(base_url=url.rstrip("/") + "/v1", api_key="x", timeout=timeout, max_retries=0)

    def emb(**kw):
        r = c.embeddings.create(model="bertc", **kw)
        vecs, types = [], []
        for d in r.data:
            e = d.embedding
            types.append(type(e).__name__)
            if isinstance(e, str):  # explicit encoding_format="base64": the client hands back the string
                raw = base64.b64decode(e)
                e = list(struct.unpack("<%df" % (len(raw) // 4), raw))
            vecs.append(e)
        out = {
            "object": r.object,
            "model": r.model,
            "usage": {"prompt_tokens": r.usage.prompt_tokens, "total_tokens": r.usage.total_tokens},
            "index": [d.index for d in r.data],
            "data_object": sorted({d.object for d in r.data}),
            "types": types,
        }
        out.update(summarize_matrix(vecs, full))
        return out

    call("openai", v, "models.list", "", {}, lambda: {"ids": [m.id for m in c.models.list()]})
    call("openai", v, "embeddings.create", "float", {"input": TEXTS[0], "encoding_format": "float"},
         lambda: emb(input=TEXTS[0], encoding_format="float"))
    call("openai", v, "embeddings.create", "default(base64)", {"input": TEXTS[0]}, lambda: emb(input=TEXTS[0]))
    call("openai", v, "embeddings.create", "base64", {"input": TEXTS[0], "encoding_format": "base64"},
         lambda: emb(input=TEXTS[0], encoding_format="base64"))
    call("openai", v, "embeddings.create", "batch", {"input": TEXTS, "encoding_format": "float"},
         lambda: emb(input=TEXTS, encoding_format="float"))
    call("openai", v, "embeddings.create", "batch-default(base64)", {"input": TEXTS}, lambda: emb(input=TEXTS))
    call("openai", v, "embeddings.create", "dimensions=128",
         {"input": TEXTS[0], "dimensions": 128, "encoding_format": "float"},
         lambda: emb(input=TEXTS[0], dimensions=128, encoding_format="float"))
    call("openai", v, "embeddings.create", "token-ids", {"input": TOKEN_IDS, "encoding_format": "float"},
         lambda: emb(input=TOKEN_IDS, encoding_format="float"))
    call("openai", v, "embeddings.create", "token-id-batch", {"input": [TOKEN_IDS, TOKEN_IDS2], "encoding_format": "float"},
         lambda: emb(input=[TOKEN_IDS, TOKEN_IDS2], encoding_format="float"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--kind", required=True, choices=["classifier", "embedding"])
    ap.add_argument("--full", action="store_true", help="print whole embedding arrays")
    ap.add_argument("--timeout", type=float, default=30.0)
    ap.add_argument("--prompt-name", default=None, help="also call feature_extraction(prompt_name=NAME)")
    ap.add_argument("--debug", action="store_true", help="tracebacks on stderr")
    a = ap.parse_args()
    url = a.url.rstrip("/")
    for name, fn, extra in (("huggingface_hub", run_hf, (a.prompt_name,)), ("openai", run_openai, ())):
        try:
            fn(url, a.kind, a.full, a.timeout, *extra)
        except Exception as e:  # noqa: BLE001 - keep going, exit 0
            emit({"client": name, "method": "setup", "ok": False, "value": None, "error": err_text(e)})
    return 0


if __name__ == "__main__":
    sys.exit(main())
