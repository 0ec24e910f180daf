"""The cases bertc's Python API is checked on, shared by the committed references (tools/make_python_refs.py,
run with transformers installed) and the live differential test (test_transformers_live.py)."""
from __future__ import annotations

import copy
import inspect
import json
import os
from typing import Any

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
REFS = os.path.join(DATA, "python", "refs.json")
DEFAULT_MODEL = os.path.join(ROOT, "models", "minilm-sst2")  # the embedded default, as a folder for transformers

LONG = "the movie , which is long and slow and far too pleased with itself , " * 4
PIPELINE_MODELS = ["default", "tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-mpnet", "tiny-electra",
                   "tiny-modernbert", "tiny-deberta"]

# (init kwargs, inputs, call kwargs)
CLASSIFY_CASES: list[tuple[dict[str, Any], Any, dict[str, Any]]] = [
    ({}, "a charming and often affecting journey", {}),
    ({}, ["a charming journey", "a dull , lifeless mess", "it 's fine"], {}),
    ({}, "a charming journey", {"top_k": None}),
    ({}, ["a charming journey", "not good"], {"top_k": None}),
    ({}, "a charming journey", {"top_k": 1}),
    ({}, ["a charming journey", "not good"], {"top_k": 2}),
    ({}, "a charming journey", {"function_to_apply": "sigmoid"}),
    ({}, ["a charming journey"], {"function_to_apply": "none", "top_k": None}),
    ({}, {"text": "the plot", "text_pair": "is thin"}, {}),
    ({}, [{"text": "the plot", "text_pair": "is thin"}, {"text": "just the text"}], {"top_k": None}),
    ({}, LONG, {"truncation": True, "max_length": 12}),
    ({}, [LONG, "short"], {"truncation": True, "max_length": 9, "top_k": None}),
    ({"top_k": None}, "a charming journey", {}),
    ({"function_to_apply": "sigmoid"}, ["fun", "boring"], {}),
    ({}, "", {}),
    ({}, "naïve café — “quoted” 日本語 ☃ emoji 😀", {"top_k": None}),
]

FEATURE_MODELS = ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-mpnet", "tiny-electra", "tiny-modernbert",
                  "tiny-deberta"]
FEATURE_CASES: list[tuple[dict[str, Any], Any, dict[str, Any]]] = [
    ({}, "a charming journey", {}),
    ({}, ["a charming journey", "not good at all"], {}),
    ({}, LONG, {"truncation": True, "tokenize_kwargs": {"max_length": 10}}),
]

TOKENIZERS = ["tok-bert", "tok-roberta", "tok-xlmr", "tiny-distilbert", "default", "tiny-mpnet", "tok-modernbert",
              "tok-deberta"]
TOKENIZE_CASES: list[tuple[Any, Any, dict[str, Any]]] = [
    ("Hello, world! It's naïve.", None, {}),
    (["Hello world", "a much longer second sentence here", ""], None, {"padding": True}),
    (["Hello world", "a much longer second sentence here"], None, {"padding": True, "return_tensors": "np"}),
    ("the plot", "is thin", {"return_offsets_mapping": True, "return_special_tokens_mask": True}),
    (["the plot", "x"], ["is thin", "y z"], {"padding": "longest", "return_length": True}),
    (LONG, None, {"truncation": True, "max_length": 10, "return_offsets_mapping": True}),
    (LONG, "and a pair that is also here", {"truncation": "only_first", "max_length": 16}),
    (LONG, "and a pair", {"truncation": "longest_first", "max_length": 12}),
    (["short"], None, {"padding": "max_length", "max_length": 8, "return_tensors": "np"}),
    (["short", "a bit longer"], None, {"padding": True, "pad_to_multiple_of": 8}),
    ("Hello world", None, {"add_special_tokens": False}),
    ("Hello world", None, {"return_token_type_ids": True, "return_attention_mask": False}),
    (LONG, None, {"max_length": 7}),
    ("  spaces\tand\nnewlines  ", None, {"return_offsets_mapping": True}),
    ("日本語のテキスト and émojis 😀👍🏽", None, {"return_offsets_mapping": True}),
]
TOKENIZE_TEXTS = ["Hello, world! It's naïve.", "  multiple   spaces ", "日本語 😀", "don't stop"]

MODEL_NAMES = ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-xlmr", "tiny-mpnet", "tiny-electra", "tiny-deberta",
               "tiny-modernbert"]
MODEL_TEXTS = ["a charming journey", "not good at all , really", "x"]

# SST-2 dev through the default model, one sentence at a time as transformers' pipeline runs a list: the slow part
# of run_transformers(), most of all on Debian's torch (reference BLAS). BERTC_LIVE_SST2=N runs only the first N
# sentences in the live test (test_transformers_live.py compares bertc on the same prefix); unset, all 872. The
# committed references (tools/make_python_refs.py) always run all of them.
SST2_DEV = os.path.join(DATA, "sst2-dev.tsv")


def sst2_dev_texts(limit: int | None = None) -> list[str]:
    import csv
    with open(SST2_DEV, encoding="utf-8") as f:
        texts = [r[0] for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    return texts if limit is None else texts[:limit]


def sst2_live_limit() -> int | None:
    """BERTC_LIVE_SST2: how many SST-2 dev sentences run_transformers() runs (unset or empty: all)."""
    v = os.environ.get("BERTC_LIVE_SST2", "").strip()
    if not v:
        return None
    n = int(v)
    if n < 1:
        raise ValueError(f"BERTC_LIVE_SST2={v!r}: want a count of sentences, at least 1")
    return n


def model_path(name: str) -> str:
    return DEFAULT_MODEL if name == "default" else os.path.join(DATA, name)


def to_plain(x: Any) -> Any:
    """Lists, dicts and numbers of an output (numpy arrays and tensors as {"array": ..., "dtype", "shape"})."""
    if hasattr(x, "detach"):
        x = x.detach().numpy()
    if hasattr(x, "tolist") and hasattr(x, "dtype") and hasattr(x, "shape"):
        return {"array": x.tolist(), "dtype": str(x.dtype), "shape": list(x.shape)}
    if isinstance(x, dict):
        return {k: to_plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [to_plain(v) for v in x]
    return x


def _accepts(model: Any, key: str) -> bool:
    """Whether model.forward() takes the input key: transformers 5's forward()s take **kwargs (and drop what they
    don't use); 4's name each input they take."""
    params = inspect.signature(model.forward).parameters
    return key in params or any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())


def _fit_inputs(p: Any) -> Any:
    """The pipeline p, its tokenizer made to return only what its model takes. tiny-distilbert's tokenizer_config.json
    names BertTokenizer (transformers 5 maps DistilBERT to it), which returns token_type_ids; transformers 5's
    DistilBERT forward() takes and drops them, 4's has no such argument and raises TypeError. Leaving them out is the
    same computation; a no-op on transformers 5."""
    if not _accepts(p.model, "token_type_ids"):
        p.tokenizer.model_input_names = [n for n in p.tokenizer.model_input_names if n != "token_type_ids"]
    return p


def transformers_knows(name: str) -> bool:
    """Whether the installed transformers has the model_type of a fixture's config.json (Debian's transformers 4.45
    predates ModernBERT): run_transformers() leaves out those it does not, and says which."""
    from transformers import CONFIG_MAPPING
    path = os.path.join(model_path(name), "config.json")
    if not os.path.exists(path):  # a tokenizer-only folder
        return True
    with open(path, encoding="utf-8") as f:
        return json.load(f).get("model_type") in CONFIG_MAPPING


def run_transformers(sst2_limit: int | None = None) -> dict[str, Any]:
    """Every case through transformers (the reference), in float32 as bertc computes (transformers 5 would
    otherwise compute an fp16 checkpoint such as the default model in fp16); of SST-2 dev, the first sst2_limit
    sentences (None: all)."""
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    # float32 is asked for as `dtype` where transformers has it (4.56 on, which deprecates `torch_dtype`), else as
    # `torch_dtype` (4.45's pipeline() hands an unknown `dtype` on to the tokenizer, which raises TypeError)
    f32 = {"dtype" if "dtype" in inspect.signature(pipeline).parameters else "torch_dtype": torch.float32}
    torch.manual_seed(0)
    out: dict[str, Any] = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__}}
    try:
        import tokenizers
        out["versions"]["tokenizers"] = tokenizers.__version__
    except ImportError:
        pass
    skipped = sorted({n for n in PIPELINE_MODELS + FEATURE_MODELS + MODEL_NAMES if not transformers_knows(n)})
    if skipped:  # only when transformers is older than the committed references' (test_refs.py checks every model)
        out["skipped_models"] = skipped
    cls: list[Any] = []
    for name in PIPELINE_MODELS:
        if name in skipped:
            continue
        for init, inputs, call in CLASSIFY_CASES:
            p = _fit_inputs(pipeline("text-classification", model=model_path(name), **f32, **init))
            cls.append({"model": name, "init": init, "inputs": inputs, "call": call, "output": p(inputs, **copy.deepcopy(call))})
    out["text_classification"] = cls
    fe: list[Any] = []
    for name in FEATURE_MODELS:
        if name in skipped:
            continue
        for init, inputs, call in FEATURE_CASES:
            p = _fit_inputs(pipeline("feature-extraction", model=model_path(name), **f32, **init))
            fe.append({"model": name, "init": init, "inputs": inputs, "call": call, "output": p(inputs, **copy.deepcopy(call))})
    out["feature_extraction"] = fe
    toks: list[Any] = []
    for name in TOKENIZERS:
        tok = AutoTokenizer.from_pretrained(model_path(name))
        for text, pair, kw in TOKENIZE_CASES:
            enc = tok(text, pair, **kw)
            toks.append({"tokenizer": name, "text": text, "pair": pair, "kwargs": kw,
                         "output": to_plain(dict(enc))})
        for text in TOKENIZE_TEXTS:
            ids = tok(text)["input_ids"]
            toks.append({"tokenizer": name, "text": text, "tokenize": tok.tokenize(text),
                         "ids": ids, "tokens": tok.convert_ids_to_tokens(ids),
                         "decode": tok.decode(ids), "decode_skip": tok.decode(ids, skip_special_tokens=True)})
    out["tokenizers"] = toks
    models: list[Any] = []
    for name in MODEL_NAMES:
        if name in skipped:
            continue
        tok = AutoTokenizer.from_pretrained(model_path(name))
        enc = tok(MODEL_TEXTS, padding=True, return_tensors="pt")
        with torch.no_grad():
            base = AutoModel.from_pretrained(model_path(name), **f32).eval()
            hs = base(**{k: v for k, v in enc.items() if _accepts(base, k)}).last_hidden_state.numpy()
            head = AutoModelForSequenceClassification.from_pretrained(model_path(name), **f32).eval()
            logits = head(**{k: v for k, v in enc.items() if _accepts(head, k)}).logits.numpy()
        mask = enc["attention_mask"].numpy().astype(bool)
        models.append({"model": name, "texts": MODEL_TEXTS, "input_ids": enc["input_ids"].tolist(),
                       "logits": logits.tolist(),
                       "hidden": [hs[b][mask[b]].tolist() for b in range(len(MODEL_TEXTS))]})
    out["models"] = models
    # SST-2 dev through the default model's pipeline: the labels and scores bertc must match within 1e-6
    texts = sst2_dev_texts(sst2_limit)
    p = _fit_inputs(pipeline("sentiment-analysis", model=DEFAULT_MODEL, **f32))
    res = p(texts)
    out["sst2_dev"] = [[r["label"], r["score"]] for r in res]
    _ = np
    return out
