"""The cases bertc's Python API is checked on, shared by the committed references (tools/make_python_refs.py,
run with transformers installed) and the live differential test (test_transformers_live.py)."""
from __future__ import annotations

import copy
import os
from typing import Any

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
REFS = os.path.join(DATA, "python", "refs.json")
DEFAULT_MODEL = os.path.join(ROOT, "models", "minilm-sst2")  # the embedded default, as a folder for transformers

LONG = "the movie , which is long and slow and far too pleased with itself , " * 4
PIPELINE_MODELS = ["default", "tiny-bert", "tiny-roberta", "tiny-distilbert"]

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

FEATURE_MODELS = ["tiny-bert", "tiny-roberta", "tiny-distilbert"]
FEATURE_CASES: list[tuple[dict[str, Any], Any, dict[str, Any]]] = [
    ({}, "a charming journey", {}),
    ({}, ["a charming journey", "not good at all"], {}),
    ({}, LONG, {"truncation": True, "tokenize_kwargs": {"max_length": 10}}),
]

TOKENIZERS = ["tok-bert", "tok-roberta", "tok-xlmr", "tiny-distilbert", "default"]
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

MODEL_NAMES = ["tiny-bert", "tiny-roberta", "tiny-distilbert", "tiny-xlmr"]
MODEL_TEXTS = ["a charming journey", "not good at all , really", "x"]


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


def run_transformers() -> dict[str, Any]:
    """Every case through transformers (the reference), in float32 as bertc computes (transformers 5 would
    otherwise compute an fp16 checkpoint such as the default model in fp16)."""
    import numpy as np
    import torch
    import transformers
    from transformers import AutoModel, AutoModelForSequenceClassification, AutoTokenizer, pipeline

    torch.manual_seed(0)
    out: dict[str, Any] = {"versions": {"transformers": transformers.__version__, "torch": torch.__version__}}
    try:
        import tokenizers
        out["versions"]["tokenizers"] = tokenizers.__version__
    except ImportError:
        pass
    cls: list[Any] = []
    for name in PIPELINE_MODELS:
        for init, inputs, call in CLASSIFY_CASES:
            p = pipeline("text-classification", model=model_path(name), dtype=torch.float32, **init)
            cls.append({"model": name, "init": init, "inputs": inputs, "call": call, "output": p(inputs, **copy.deepcopy(call))})
    out["text_classification"] = cls
    fe: list[Any] = []
    for name in FEATURE_MODELS:
        for init, inputs, call in FEATURE_CASES:
            p = pipeline("feature-extraction", model=model_path(name), dtype=torch.float32, **init)
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
        tok = AutoTokenizer.from_pretrained(model_path(name))
        enc = tok(MODEL_TEXTS, padding=True, return_tensors="pt")
        with torch.no_grad():
            base = AutoModel.from_pretrained(model_path(name), dtype=torch.float32).eval()
            hs = base(**enc).last_hidden_state.numpy()
            head = AutoModelForSequenceClassification.from_pretrained(model_path(name), dtype=torch.float32).eval()
            logits = head(**enc).logits.numpy()
        mask = enc["attention_mask"].numpy().astype(bool)
        models.append({"model": name, "texts": MODEL_TEXTS, "input_ids": enc["input_ids"].tolist(),
                       "logits": logits.tolist(),
                       "hidden": [hs[b][mask[b]].tolist() for b in range(len(MODEL_TEXTS))]})
    out["models"] = models
    # SST-2 dev through the default model's pipeline: the labels and scores bertc must match within 1e-6
    import csv
    with open(os.path.join(DATA, "sst2-dev.tsv"), encoding="utf-8") as f:
        rows = list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]
    texts = [r[0] for r in rows]
    p = pipeline("sentiment-analysis", model=DEFAULT_MODEL, dtype=torch.float32)
    res = p(texts)
    out["sst2_dev"] = [[r["label"], r["score"]] for r in res]
    _ = np
    return out
