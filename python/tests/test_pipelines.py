"""bertc.pipeline("token-classification" / "question-answering" / "fill-mask") against transformers' pipelines on the
tiny fixtures (tests/data/pipelines.ref.json, made by tools/make_pipeline_fixtures.py with transformers 5.24, and 5.2
for question answering, which 5.x removed after it): the same entities, spans and tokens, scores within 1e-5, and an
error wherever transformers raised. Equal scores (ties) may come in either order: torch's topk orders them as its
selection happens to leave them."""
from __future__ import annotations

import json
import os
from typing import Any

import pytest

import bertc
import cases

with open(os.path.join(cases.DATA, "pipelines.ref.json"), encoding="utf-8") as f:
    REFS = json.load(f)
CASES = REFS["cases"]
# call parameters bertc does not take (the case is listed, and skipped by name)
UNSUPPORTED = {"is_split_into_words": "pre-split words as input"}
_PIPES: dict[tuple[str, str], Any] = {}


def pipe(task: str, name: str) -> Any:
    if (task, name) not in _PIPES:
        _PIPES[task, name] = bertc.pipeline(task, model=cases.model_path(name))
    return _PIPES[task, name]


def _key(d: dict[str, Any]) -> tuple[Any, ...]:
    # order of ties: by score rounded to the tolerance, then by what identifies the item
    return (-round(d["score"], 5), d.get("token", 0), d.get("start", 0), d.get("end", 0))


def same(got: Any, want: Any, ordered: bool = True) -> None:
    if isinstance(want, list):
        assert isinstance(got, list) and len(got) == len(want), (got, want)
        if want and isinstance(want[0], dict) and not ordered:
            got, want = sorted(got, key=_key), sorted(want, key=_key)
        for g, w in zip(got, want):
            same(g, w, ordered)
        return
    assert isinstance(got, dict) and set(got) == set(want), (got, want)
    for k, v in want.items():
        if k == "score":
            assert isinstance(got[k], float)
            assert got[k] == pytest.approx(v, abs=1e-5), (k, got, want)
        else:
            assert got[k] == v, (k, got, want)


def ids(c: dict[str, Any], i: int) -> str:
    return f"{i}-{c['task']}-{c['model']}-{'-'.join(sorted(c['kwargs']))}"


@pytest.mark.parametrize("i", range(len(CASES)), ids=[ids(c, i) for i, c in enumerate(CASES)])
def test_matches_transformers(i: int) -> None:
    c = CASES[i]
    skip = [UNSUPPORTED[k] for k in c["kwargs"] if k in UNSUPPORTED]
    if skip:
        pytest.skip("not supported: " + ", ".join(skip))
    p = pipe(c["task"], c["model"])
    kw = dict(c["kwargs"])

    def call() -> Any:
        if c["task"] == "question-answering":
            x = c["inputs"]
            if isinstance(x, list):
                return p([dict(q) for q in x], **kw)
            return p(question=x["question"], context=x["context"], **kw)
        return p(c["inputs"], **kw)

    if "error" in c:
        with pytest.raises(Exception):
            call()
        return
    same(call(), c["output"], ordered=c["task"] == "token-classification")


def test_dict_and_positional_forms() -> None:
    qa = pipe("question-answering", "tiny-qa-bert")
    q, ctx = "Where do I live?", "My name is Wolfgang and I live in Berlin."
    one = qa(question=q, context=ctx)
    assert qa({"question": q, "context": ctx}) == one
    assert qa(q, ctx) == one
    assert qa(question=[q, q], context=ctx) == [one, one]
    ner = bertc.pipeline("ner", model=cases.model_path("tiny-ner-bert"), aggregation_strategy="simple")
    assert isinstance(ner, bertc.TokenClassificationPipeline)
    assert all("entity_group" in e for e in ner("Angela Merkel met Emmanuel Macron in Paris."))
    fm = bertc.pipeline(model=cases.model_path("tiny-mlm-bert"))  # the task from the head
    assert isinstance(fm, bertc.FillMaskPipeline)
    assert len(fm("Paris is the [MASK] of France.", top_k=2)) == 2


def test_empty_text_pair() -> None:
    """transformers 5.25: a single call's text_pair "" is falsy (no pair), a batch's "" an empty pair ([CLS] A [SEP]
    [SEP], as the tokenizers crate encodes it); the text-classification pipeline tokenizes one input at a time."""
    tok = bertc.AutoTokenizer.from_pretrained(cases.model_path("tiny-bert"))
    assert tok("hello world", "")["input_ids"] == [101, 7592, 2088, 102]
    assert tok(["hello world"], [""])["input_ids"] == [[101, 7592, 2088, 102, 102]]
    assert tok(["hello world"], [""])["token_type_ids"] == [[0, 0, 0, 0, 1]]
    assert tok.encode("hello world", "") == [101, 7592, 2088, 102]
    p = bertc.pipeline("text-classification", model=cases.model_path("tiny-bert"))
    assert p({"text": "hello world", "text_pair": ""}) == p("hello world")[0]
    assert p({"text": "hello world", "text_pair": "x"}) != p("hello world")[0]


def test_wrong_head() -> None:
    with pytest.raises(ValueError, match="token-classification head"):
        bertc.pipeline("ner", model=cases.model_path("tiny-qa-bert"))
    with pytest.raises(ValueError, match="masked-lm head"):
        bertc.pipeline("fill-mask", model=cases.model_path("tiny-bert"))
    with pytest.raises(TypeError):
        pipe("fill-mask", "tiny-mlm-bert")("x [MASK]", bogus=1)


def test_auto_models_match_raw_logits() -> None:
    import numpy as np
    for r in REFS["raw"]:
        name, task = r["model"], r["task"]
        path = cases.model_path(name)
        if task == "token-classification":
            m = bertc.AutoModelForTokenClassification.from_pretrained(path)
            for it in r["items"]:
                out = m(input_ids=np.array([it["input_ids"]]))
                np.testing.assert_allclose(out.logits[0], np.array(it["logits"]), atol=1e-4)
        elif task == "question-answering":
            m = bertc.AutoModelForQuestionAnswering.from_pretrained(path)
            for it in r["items"]:
                for w in it["windows"]:
                    kw = {"input_ids": np.array([w["input_ids"]])}
                    if "token_type_ids" in w and "distilbert" not in name:
                        kw["token_type_ids"] = np.array([w["token_type_ids"]])
                    out = m(**kw)
                    np.testing.assert_allclose(out.start_logits[0], np.array(w["start_logits"]), atol=1e-4)
                    np.testing.assert_allclose(out.end_logits[0], np.array(w["end_logits"]), atol=1e-4)
        else:
            m = bertc.AutoModelForMaskedLM.from_pretrained(path)
            for it in r["items"]:
                out = m(input_ids=np.array([it["input_ids"]]))
                for mk in it["masks"]:
                    np.testing.assert_allclose(out.logits[0, mk["index"], :50], np.array(mk["logits_0_49"]), atol=1e-4)
    with pytest.raises(ValueError, match="no masked-lm head"):
        bertc.AutoModelForMaskedLM.from_pretrained(cases.model_path("tiny-ner-bert"))


def test_transformers_arguments_bertc_does_not_do() -> None:
    """What transformers' from_pretrained / forward take and bertc does not do is refused at the call, by name,
    not accepted and ignored (num_labels=3 on a 2-label head once loaded 2 labels silently)."""
    path = cases.model_path("tiny-bert")
    with pytest.raises(ValueError, match=r"its head has 2 labels, not num_labels=3"):
        bertc.AutoModelForSequenceClassification.from_pretrained(path, num_labels=3)
    m = bertc.AutoModelForSequenceClassification.from_pretrained(path, num_labels=2, local_files_only=True)
    with pytest.raises(TypeError, match="bertc does not support: frobnicate"):
        bertc.AutoModelForSequenceClassification.from_pretrained(path, frobnicate=1)
    assert bertc.AutoModel.from_pretrained(path, num_labels=5) is not None  # the encoder: labels do not apply
    tok = bertc.AutoTokenizer.from_pretrained(path)
    enc = tok(["a fine film"], return_tensors="np")
    assert m(**enc, return_dict=True)["logits"].shape == (1, 2)
    with pytest.raises(TypeError, match=r"labels \(the loss"):
        m(**enc, labels=[1])
    with pytest.raises(TypeError, match="output_hidden_states"):
        m(**enc, output_hidden_states=True)
    assert m(**enc, output_hidden_states=False)["logits"].shape == (1, 2)


def test_pipeline_arguments_worded_for_python() -> None:
    path = cases.model_path("tiny-bert")
    with pytest.raises(TypeError, match="takes a task name"):
        bertc.pipeline(42)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="takes a folder, a model id or a loaded model, not int"):
        bertc.pipeline("text-classification", model=42)  # type: ignore[arg-type]
    m = bertc.AutoModelForSequenceClassification.from_pretrained(path)
    tok = bertc.AutoTokenizer.from_pretrained(path)
    p = bertc.pipeline("text-classification", model=m, tokenizer=tok)  # the same folder's tokenizer: fine
    assert p("a fine film")[0]["label"] in ("LABEL_0", "LABEL_1")
    with pytest.raises(ValueError, match="own tokenizer"):
        bertc.pipeline("text-classification", model=m,
                       tokenizer=bertc.AutoTokenizer.from_pretrained(cases.model_path("tiny-roberta")))
    with pytest.raises(TypeError, match="return_all_scores was removed in transformers 5"):
        p("a fine film", return_all_scores=True)


def test_transformers_model_and_tokenizer_methods(tmp_path) -> None:
    """eval(), to("cpu"), num_parameters(), save_pretrained (model and tokenizer: the folder reloads to the same
    logits and ids), encode_plus / batch_encode_plus."""
    import numpy as np
    path = cases.model_path("tiny-bert")
    m = bertc.AutoModelForSequenceClassification.from_pretrained(path)
    assert m.eval() is m and m.to("cpu") is m
    with pytest.raises(ValueError, match="runs on the CPU"):
        m.to("cuda:0")
    assert m.num_parameters() == int(m.info.n_params) > 100000
    tok = bertc.AutoTokenizer.from_pretrained(path)
    enc = tok(["a fine film", "bad"], padding=True, return_tensors="np")
    m.save_pretrained(tmp_path / "m")
    m2 = bertc.AutoModelForSequenceClassification.from_pretrained(tmp_path / "m")
    assert np.array_equal(m(**enc)["logits"], m2(**enc)["logits"])
    saved = tok.save_pretrained(tmp_path / "t")
    assert any(s.endswith("tokenizer.json") for s in saved)
    tok2 = bertc.AutoTokenizer.from_pretrained(tmp_path / "t")
    assert tok2("a fine film")["input_ids"] == tok("a fine film")["input_ids"]
    assert tok.encode_plus("a fine film", "bad")["input_ids"] == tok("a fine film", "bad")["input_ids"]
    assert tok.batch_encode_plus([("a", "b"), ("c", "d")])["input_ids"] == tok(["a", "c"], ["b", "d"])["input_ids"]
    d = bertc.pipeline().model  # the embedded default
    d.save_pretrained(tmp_path / "d")
    assert sorted(os.listdir(tmp_path / "d")) == ["config.json", "model.safetensors", "tokenizer.json",
                                                  "tokenizer_config.json"]
    assert bertc.pipeline(model=str(tmp_path / "d"))("I loved it") == bertc.pipeline()("I loved it")


def test_auto_config() -> None:
    """AutoConfig reads config.json alone, the same fields the loaded model's config has (DistilBERT's names too)."""
    for name in ("tiny-bert", "tiny-distilbert", "tiny-roberta"):
        path = cases.model_path(name)
        c = bertc.AutoConfig.from_pretrained(path)
        m = bertc.AutoModel.from_pretrained(path).config
        for k in ("model_type", "num_labels", "id2label", "hidden_size", "num_hidden_layers", "num_attention_heads",
                  "intermediate_size", "vocab_size"):
            assert getattr(c, k) == getattr(m, k), (name, k)
    d = bertc.AutoConfig.from_pretrained()
    assert d.id2label == {0: "NEGATIVE", 1: "POSITIVE"} and d.hidden_size == 384
