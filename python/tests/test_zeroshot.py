"""bertc.pipeline("zero-shot-classification") against transformers' ZeroShotClassificationPipeline on the tiny NLI
fixtures (tests/data/tiny-nli.ref.json, made by tools/make_tiny_nli.py): the same structures, labels equal, scores
within 1e-5; and transformers' call rules and errors."""
from __future__ import annotations

import json
import os

import pytest

import bertc
import cases

with open(os.path.join(cases.DATA, "tiny-nli.ref.json"), encoding="utf-8") as f:
    REFS = json.load(f)
_PIPES: dict[str, object] = {}


def pipe(name: str):
    if name not in _PIPES:
        # tiny-bert's config names no labels: transformers warns and takes the last as entailment; bertc is told so
        kw = {"entailment_id": 1} if name == "tiny-bert" else {}
        _PIPES[name] = bertc.pipeline("zero-shot-classification", model=cases.model_path(name), **kw)
    return _PIPES[name]


def same(got, want):
    assert isinstance(got, type(want))
    if isinstance(want, list):
        assert len(got) == len(want)
        for g, w in zip(got, want):
            same(g, w)
        return
    assert set(got) == {"sequence", "labels", "scores"}
    assert got["sequence"] == want["sequence"]
    assert got["labels"] == want["labels"]
    assert all(isinstance(s, float) for s in got["scores"])
    assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)


@pytest.mark.parametrize("i", range(len(REFS)), ids=[f"{r['model']}-{i}" for i, r in enumerate(REFS)])
def test_matches_transformers(i):
    r = REFS[i]
    kw = {k: r[k] for k in ("candidate_labels", "hypothesis_template", "multi_label") if k in r}
    same(pipe(r["model"])(r["sequences"], **kw), r["output"])


def test_positional_labels_and_defaults():
    r = REFS[0]
    p = pipe("tiny-nli-bert")
    same(p(r["sequences"], r["candidate_labels"]), r["output"])
    r1 = REFS[1]
    multi = bertc.pipeline("zero-shot-classification", model=cases.model_path("tiny-nli-bert"), multi_label=True)
    same(multi(r1["sequences"], candidate_labels=r1["candidate_labels"]), r1["output"])
    assert isinstance(p, bertc.ZeroShotClassificationPipeline)


def test_refuses_a_model_without_entailment():
    with pytest.raises(ValueError, match=r"no entailment label \(its labels: NEGATIVE, POSITIVE\)"):
        bertc.pipeline("zero-shot-classification", model=cases.DEFAULT_MODEL)
    with pytest.raises(ValueError, match="LABEL_0, LABEL_1"):
        bertc.pipeline("zero-shot-classification", model=cases.model_path("tiny-bert"))
    with pytest.raises(ValueError, match="entailment_id=2 is not one of the model's 2 labels"):
        bertc.pipeline("zero-shot-classification", model=cases.model_path("tiny-bert"), entailment_id=2)
    with pytest.raises(TypeError, match="entailment_id must be an int"):
        bertc.pipeline("zero-shot-classification", model=cases.model_path("tiny-bert"), entailment_id="1")


def test_errors():
    p = pipe("tiny-nli-bert")
    with pytest.raises(ValueError, match="at least one label"):
        p("text", candidate_labels=[])
    with pytest.raises(ValueError, match="at least one label"):
        p("text", candidate_labels=" , ")
    with pytest.raises(ValueError, match="at least one label"):
        p("", candidate_labels=["a"])
    with pytest.raises(ValueError, match="was not able to be formatted"):
        p("text", candidate_labels=["a"], hypothesis_template="no field")
    with pytest.raises(ValueError, match="extra arguments"):
        p("text", ["a"], ["b"])


with open(os.path.join(cases.DATA, "tiny-deberta-heads.ref.json"), encoding="utf-8") as f:
    DEBERTA_REFS = json.load(f)["zero_shot"]


@pytest.mark.parametrize("i", range(len(DEBERTA_REFS)))
def test_deberta_matches_transformers(i):
    """A DeBERTa-v2 NLI checkpoint (tiny-nli-deberta, its entailment label 2), as the deberta-v3 zero-shot models run:
    transformers' pipeline outputs (tools/make_tiny_deberta.py) within 1e-5."""
    c = DEBERTA_REFS[i]
    kw = {k: c[k] for k in ("hypothesis_template", "multi_label") if k in c}
    got = pipe("tiny-nli-deberta")(c["sequences"], c["candidate_labels"], **kw)
    want = c["output"]
    assert got["sequence"] == want["sequence"] and got["labels"] == want["labels"]
    assert got["scores"] == pytest.approx(want["scores"], abs=1e-5)
