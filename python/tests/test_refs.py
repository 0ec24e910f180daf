"""bertc against committed transformers outputs (tests/data/python/refs.json, tools/make_python_refs.py)."""
from __future__ import annotations

import csv
import os

import numpy as np
import pytest

import bertc
import cases
from compare import assert_close, run_classification, run_features

# Scores and raw logits of the classification pipelines: 1e-5. bertc's fp32 logits of the default model differ from
# torch's by at most 9.4e-6 over SST-2 dev (mean 1.2e-6), about what torch's own batched and one-by-one runs differ
# by (6.9e-6), so scores agree to 4.2e-6 at worst and 1e-6 is below what fp32 reproduces. Hidden states: 1e-4.
SCORE_TOL, HIDDEN_TOL = 1e-5, 1e-4


def test_reference_versions(refs):
    assert refs["versions"]["transformers"].startswith("5.")


@pytest.mark.parametrize("i", range(len(cases.PIPELINE_MODELS) * len(cases.CLASSIFY_CASES)))
def test_text_classification(refs, i):
    case = refs["text_classification"][i]
    assert_close(run_classification(case), case["output"], SCORE_TOL, f"{case['model']} {case['call']}")


@pytest.mark.parametrize("i", range(len(cases.FEATURE_MODELS) * len(cases.FEATURE_CASES)))
def test_feature_extraction(refs, i):
    case = refs["feature_extraction"][i]
    assert_close(run_features(case), case["output"], HIDDEN_TOL, case["model"])


def test_feature_extraction_tensors():
    pipe = bertc.pipeline("feature-extraction", model=cases.model_path("tiny-bert"))
    a = pipe("a charming journey", return_tensors=True)
    b = pipe("a charming journey")
    assert isinstance(a, np.ndarray) and a.dtype == np.float32 and a.shape == (1, len(b[0]), 32)
    assert np.array_equal(a, np.array(b, dtype=np.float32))


_tokenizers: dict[str, bertc.BertcTokenizer] = {}


def _tok(name: str) -> bertc.BertcTokenizer:
    if name not in _tokenizers:
        _tokenizers[name] = bertc.AutoTokenizer.from_pretrained(cases.model_path(name))
    return _tokenizers[name]


def test_tokenizers(refs):
    n = 0
    for case in refs["tokenizers"]:
        tok = _tok(case["tokenizer"])
        where = f"{case['tokenizer']} {case['text']!r:.40}"
        if "kwargs" in case:
            enc = dict(tok(case["text"], case["pair"], **case["kwargs"]))
            want = dict(case["output"])
            if case["tokenizer"] == "tok-xlmr" and "offset_mapping" in want:
                # transformers 5's XLMRobertaTokenizer swaps tokenizer.json's pre-tokenizer for its class's own
                # (WhitespaceSplit + Metaspace), which starts "▁plot" after the space; bertc reads tokenizer.json
                # as the tokenizers library does (tests/tokfuzz checks those offsets against it).
                del want["offset_mapping"], enc["offset_mapping"]
            assert_close(enc, want, 0, f"{where} {case['kwargs']}")
        else:
            got = tok.tokenize(case["text"])
            if tok.unk_token is not None and len(got) == len(case["tokenize"]):
                # Known difference: for a piece a Unigram model does not know, tokenizers' tokenize() gives the
                # piece's text ("日本語") and bertc the unknown token ("[UNK]"); the ids are the same (checked
                # below). Only that substitution is let through.
                got = [w if g == tok.unk_token and w not in tok.get_vocab() else g
                       for g, w in zip(got, case["tokenize"])]
            assert got == case["tokenize"], where
            assert tok(case["text"])["input_ids"] == case["ids"], where
            assert tok.convert_ids_to_tokens(case["ids"]) == case["tokens"], where
            assert tok.decode(case["ids"]) == case["decode"], where
            assert tok.decode(case["ids"], skip_special_tokens=True) == case["decode_skip"], where
        n += 1
    assert n == len(cases.TOKENIZERS) * (len(cases.TOKENIZE_CASES) + len(cases.TOKENIZE_TEXTS))


@pytest.mark.parametrize("name", cases.MODEL_NAMES)
def test_models(refs, name):
    case = next(c for c in refs["models"] if c["model"] == name)
    tok = bertc.AutoTokenizer.from_pretrained(cases.model_path(name))
    enc = tok(case["texts"], padding=True, return_tensors="np")
    assert enc["input_ids"].tolist() == case["input_ids"]
    head = bertc.AutoModelForSequenceClassification.from_pretrained(cases.model_path(name))
    np.testing.assert_allclose(head(**enc).logits, np.array(case["logits"]), atol=HIDDEN_TOL, rtol=0)
    base = bertc.AutoModel.from_pretrained(cases.model_path(name))
    out = base(**enc)
    hs, mask = out.last_hidden_state, enc["attention_mask"].astype(bool)
    assert out[0] is hs and hs.shape[:2] == enc["input_ids"].shape
    for b, want in enumerate(case["hidden"]):
        np.testing.assert_allclose(hs[b][mask[b]], np.array(want), atol=HIDDEN_TOL, rtol=0)
        assert not hs[b][~mask[b]].any(), "padded positions are zeros"


def test_sst2_dev_pipeline(refs):
    """The default model over all of SST-2 dev: transformers' labels, scores within 1e-6."""
    with open(os.path.join(cases.DATA, "sst2-dev.tsv"), encoding="utf-8") as f:
        texts = [r[0] for r in list(csv.reader(f, delimiter="\t", quoting=csv.QUOTE_NONE))[1:]]
    got = bertc.pipeline("sentiment-analysis")(texts)
    want = refs["sst2_dev"]
    assert len(got) == len(want) == 872
    worst = max(abs(g["score"] - w[1]) for g, w in zip(got, want))
    assert [g["label"] for g in got] == [w[0] for w in want]
    assert worst <= SCORE_TOL, worst
