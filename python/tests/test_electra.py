"""ELECTRA through the Python package: the heads' outputs against transformers' (tests/data/tiny-electra-heads.ref.safetensors,
made by tools/make_tiny_electra.py with torch 2.15 / transformers 5.25), ElectraForPreTraining's logits [B, T], the
discriminator as a token classifier (original / replaced), and the pipelines on the ELECTRA fixtures."""
from __future__ import annotations

import os
from typing import Any

import numpy as np
import pytest

import bertc
import cases
import stfile

HEAD_TEXTS = ["John Smith works at Acme Corp in Paris.", "the quick brown fox jumps over the lazy dog",
              "naïve café — unaffable ☃ x", "a"]
QA_PAIRS = [("who works at acme?", "John Smith works at Acme Corp in Paris."),
            ("where is the fox?", "the quick brown fox jumps over the lazy dog")]
MLM_TEXTS = ["the quick brown [MASK] jumps over the lazy dog .", "paris is the [MASK] of [MASK] ."]


REF = stfile.read(os.path.join(cases.DATA, "tiny-electra-heads.ref.safetensors"))


def _batch(tok: Any, a: list[str], b: list[str] | None = None) -> Any:
    return tok(a, b, padding=True, return_tensors="np") if b else tok(a, padding=True, return_tensors="np")


def test_discriminator_logits() -> None:
    path = cases.model_path("tiny-pretrain-electra")
    m = bertc.ElectraForPreTraining.from_pretrained(path)
    tok = bertc.AutoTokenizer.from_pretrained(path)
    enc = _batch(tok, HEAD_TEXTS)
    logits = m(**enc).logits
    assert logits.shape == enc["input_ids"].shape
    for i in range(len(HEAD_TEXTS)):
        want = REF[f"pretrain.{i}.logits"]
        np.testing.assert_array_equal(enc["input_ids"][i][:len(want)], REF[f"pretrain.{i}.input_ids"])
        np.testing.assert_allclose(logits[i][:len(want)], want, atol=1e-4, rtol=0)
        assert not logits[i][len(want):].any()
    with pytest.raises(bertc.BertcValueError, match="not an ELECTRA discriminator"):
        bertc.ElectraForPreTraining.from_pretrained(cases.model_path("tiny-electra"))


def test_discriminator_pipeline() -> None:
    path = cases.model_path("tiny-pretrain-electra")
    p = bertc.pipeline("token-classification", model=path, ignore_labels=[])
    out = p(HEAD_TEXTS[1])
    want = REF["pretrain.1.logits"][1:-1]  # the special tokens are left out
    assert [e["entity"] for e in out] == ["replaced" if x > 0 else "original" for x in want]
    sig = 1 / (1 + np.exp(-want.astype(np.float64)))
    np.testing.assert_allclose([e["score"] for e in out], np.where(want > 0, sig, 1 - sig), atol=1e-5, rtol=0)


def test_token_heads() -> None:
    path = cases.model_path("tiny-ner-electra")
    m = bertc.AutoModelForTokenClassification.from_pretrained(path)
    enc = _batch(bertc.AutoTokenizer.from_pretrained(path), HEAD_TEXTS)
    lg = m(**enc).logits
    for i in range(len(HEAD_TEXTS)):
        want = REF[f"ner.{i}.logits"]
        np.testing.assert_allclose(lg[i][:len(want)], want, atol=1e-4, rtol=0)
    path = cases.model_path("tiny-qa-electra")
    m = bertc.AutoModelForQuestionAnswering.from_pretrained(path)
    enc = _batch(bertc.AutoTokenizer.from_pretrained(path), [q for q, _ in QA_PAIRS], [c for _, c in QA_PAIRS])
    out = m(**enc)
    for i in range(len(QA_PAIRS)):
        want = REF[f"qa.{i}.logits"]
        np.testing.assert_array_equal(enc["token_type_ids"][i][:len(want)], REF[f"qa.{i}.token_type_ids"])
        np.testing.assert_allclose(out.start_logits[i][:len(want)], want[:, 0], atol=1e-4, rtol=0)
        np.testing.assert_allclose(out.end_logits[i][:len(want)], want[:, 1], atol=1e-4, rtol=0)


def test_masked_lm() -> None:
    path = cases.model_path("tiny-mlm-electra")
    m = bertc.AutoModelForMaskedLM.from_pretrained(path)
    tok = bertc.AutoTokenizer.from_pretrained(path)
    for i, t in enumerate(MLM_TEXTS):
        enc = tok(t, return_tensors="np")
        lg = m(**enc).logits[0]
        np.testing.assert_allclose(lg[enc["input_ids"][0] == 103], REF[f"mlm.{i}.logits"], atol=1e-4, rtol=0)
    top = bertc.pipeline("fill-mask", model=path)(MLM_TEXTS[0], top_k=3)
    assert len(top) == 3 and top[0]["score"] >= top[1]["score"]
