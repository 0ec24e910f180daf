"""pipeline(): transformers' text-classification and feature-extraction pipelines, same calling rules, same
outputs, on libbertc."""
from __future__ import annotations

import ctypes
import os
from typing import Any, Iterable, Literal, Union, overload

from ._lib import lib
from ._model import BertcModel, load_model

__all__ = ["pipeline", "Pipeline", "TextClassificationPipeline", "FeatureExtractionPipeline",
           "ZeroShotClassificationPipeline", "TokenClassificationPipeline", "QuestionAnsweringPipeline",
           "FillMaskPipeline"]

Input = Union[str, dict, list]  # type: ignore[type-arg]
_FUNCTIONS = ("default", "sigmoid", "softmax", "none")
_FUNCTION_CODES = {"default": 0, "softmax": 1, "sigmoid": 2, "none": 3}  # bertc_function
_FUNCTION_NAMES = {1: "softmax", 2: "sigmoid", 3: "none"}


class Pipeline:
    """The part every task shares: the model, its tokenizer and the default call parameters."""

    task = ""

    def __init__(self, model: BertcModel, batch_size: int | None = None, **kwargs: Any) -> None:
        self.model = model
        self.tokenizer = model.tokenizer
        self.batch_size = batch_size
        self._defaults = self._sanitize(**kwargs)

    def _sanitize(self, **kwargs: Any) -> dict[str, Any]:
        raise NotImplementedError

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        """Runs the task on the inputs (each task's own signature: see its class)."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}(task={self.task!r}, model={self.model.name_or_path!r})"


def _split(x: Any) -> tuple[str, str | None]:
    if isinstance(x, str):
        return x, None
    if isinstance(x, dict):
        if "text" not in x or set(x) - {"text", "text_pair"}:
            raise ValueError('a dict input must have the keys "text" and optionally "text_pair"')
        # the pipeline tokenizes one input at a time: text_pair "" is falsy there, no pair
        return x["text"], x.get("text_pair") or None
    raise ValueError('The pipeline received invalid inputs, if you are trying to send text pairs, you can try to send '
                     'a dictionary `{"text": "My text", "text_pair": "My pair"}` in order to send a text pair.')


class TextClassificationPipeline(Pipeline):
    """``pipeline("text-classification")`` / ``"sentiment-analysis"``.

    ``pipe("text")`` gives ``[{"label", "score"}]``; a list gives one dict per text; ``top_k=None`` all labels
    sorted by score (a list per input); ``function_to_apply`` "default" (the config's problem type: softmax,
    sigmoid for one label or multi-label, none for regression), "softmax", "sigmoid" or "none"; inputs may be
    ``{"text": ..., "text_pair": ...}`` dicts. Scores are computed from the float32 logits as transformers does,
    in float32 numpy."""

    task = "text-classification"

    def _sanitize(self, function_to_apply: str | None = None, top_k: Any = "", truncation: Any = None,
                  max_length: int | None = None, padding: Any = None, batch_size: int | None = None,
                  **kwargs: Any) -> dict[str, Any]:
        if "return_all_scores" in kwargs:
            raise TypeError("return_all_scores was removed in transformers 5 (and is not taken here): top_k=None gives "
                            "every label's score, sorted; top_k=1 the best")
        if kwargs:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        out: dict[str, Any] = {}
        if isinstance(top_k, int) or top_k is None:
            if isinstance(top_k, bool) or (top_k is not None and top_k < 1):
                raise ValueError("top_k must be a positive int or None")
            out["top_k"], out["_legacy"] = top_k, False
        if function_to_apply is not None:
            f = str(getattr(function_to_apply, "value", function_to_apply)).lower()
            if f not in _FUNCTIONS:
                raise ValueError(f"Unrecognized `function_to_apply` argument: {function_to_apply}")
            out["function_to_apply"] = f
        if truncation is not None:
            out["truncation"] = truncation
        if max_length is not None:
            out["max_length"] = max_length
        if batch_size is not None:
            out["batch_size"] = batch_size
        return out

    def __call__(self, inputs: Input | Iterable[Input], **kwargs: Any) -> Any:
        params = dict(self._defaults)
        params.update(self._sanitize(**kwargs))
        legacy_call = "top_k" not in kwargs
        single = isinstance(inputs, (str, dict))
        items = [inputs] if single else list(inputs)  # type: ignore[arg-type,unused-ignore]
        results = self._run([_split(x) for x in items], params)
        if single:
            return [results[0]] if isinstance(inputs, str) and legacy_call else results[0]
        return results

    def _function(self, f: str | None) -> str:
        """The function applied: f, or for "default" libbertc's rule for this model (bertc_classify_function)."""
        code = _FUNCTION_CODES[f if f is not None else "default"]
        return _FUNCTION_NAMES[int(lib.bertc_classify_function(self.model._h, code))]

    def _run(self, texts: list[tuple[str, str | None]], params: dict[str, Any]) -> list[Any]:
        import numpy as np
        bs = params.get("batch_size") or self.batch_size or 32
        logits = self.model.logits(texts, params.get("truncation"), params.get("max_length"), bs)
        # the arithmetic is transformers' own (float32 numpy), so the scores are the pipeline's to the last bit;
        # which function, and the order of the labels, are libbertc's
        f = self._function(params.get("function_to_apply"))
        if f == "sigmoid":
            scores = 1.0 / (1.0 + np.exp(-logits))
        elif f == "softmax":
            e = np.exp(logits - np.max(logits, axis=-1, keepdims=True))
            scores = e / e.sum(axis=-1, keepdims=True)
        else:
            scores = logits
        scores = np.ascontiguousarray(scores, dtype=np.float32)
        id2label = self.model.config.id2label
        top_k, legacy = params.get("top_k", 1), params.get("_legacy", True)
        n_labels = scores.shape[1] if scores.ndim == 2 else 0
        order = (ctypes.c_int * max(n_labels, 1))()
        out: list[Any] = []
        for row in scores:
            lib.bertc_scores_order(row.ctypes.data_as(ctypes.POINTER(ctypes.c_float)), n_labels, order)
            if top_k == 1 and legacy:
                out.append({"label": id2label[order[0]], "score": row[order[0]].item()})
                continue
            ids = list(order[:n_labels]) if not legacy else list(range(n_labels))
            d = [{"label": id2label[i], "score": row[i].item()} for i in ids]
            if not legacy and top_k is not None:
                d = d[:top_k]
            out.append(d)
        return out


class FeatureExtractionPipeline(Pipeline):
    """``pipeline("feature-extraction")``: the encoder's last_hidden_state of each text, as a ``[1][T][H]`` nested
    list, or a float32 numpy array of shape [1, T, H] with ``return_tensors=True``."""

    task = "feature-extraction"

    def _sanitize(self, truncation: Any = None, tokenize_kwargs: dict[str, Any] | None = None,
                  return_tensors: Any = None, max_length: int | None = None, batch_size: int | None = None,
                  **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        tk = dict(tokenize_kwargs or {})
        if truncation is not None:
            if "truncation" in tk:
                raise ValueError("truncation parameter defined twice (given as keyword argument as well as in "
                                 "tokenize_kwargs)")
            tk["truncation"] = truncation
        if max_length is not None:
            tk["max_length"] = max_length
        bad = set(tk) - {"truncation", "max_length", "padding", "add_special_tokens"}
        if bad:
            raise TypeError(f"unsupported tokenize_kwargs: {', '.join(sorted(bad))}")
        out: dict[str, Any] = {}
        if tk:
            out["tokenize_kwargs"] = tk
        if return_tensors is not None:
            out["return_tensors"] = return_tensors
        return out

    def __call__(self, inputs: Input | Iterable[Input], **kwargs: Any) -> Any:
        params = dict(self._defaults)
        new = self._sanitize(**kwargs)
        if "tokenize_kwargs" in new:
            params["tokenize_kwargs"] = {**params.get("tokenize_kwargs", {}), **new.pop("tokenize_kwargs")}
        params.update(new)
        single = isinstance(inputs, (str, dict))
        items = [inputs] if single else list(inputs)  # type: ignore[arg-type,unused-ignore]
        tk = params.get("tokenize_kwargs", {})
        truncation, max_length = tk.get("truncation"), tk.get("max_length")
        if truncation is None and max_length is not None:
            truncation = "longest_first"
        hs = self.model.hidden_states([_split(x) for x in items], truncation, max_length)
        out = [h[None] if params.get("return_tensors") else h[None].tolist() for h in hs]
        return out[0] if single else out


class ZeroShotClassificationPipeline(Pipeline):
    """``pipeline("zero-shot-classification")`` on an NLI *ForSequenceClassification checkpoint, as transformers'
    ZeroShotClassificationPipeline: ``pipe(text, candidate_labels=[...] or "a, b", hypothesis_template="This example
    is {}.", multi_label=False)`` (the labels may also be the second positional argument) gives ``{"sequence",
    "labels", "scores"}`` sorted by score; a list of texts gives a list. Each label fills the template's ``{}`` as the
    hypothesis of a (text, hypothesis) pair truncated "only_first"; the scores are the softmax of the entailment
    logits across labels, or with ``multi_label`` (or one label) each label's softmax over [contradiction,
    entailment], in float32 as transformers' numpy computes them (libbertc's bertc_zero_shot).

    The entailment label is the first whose name starts with "entail"; a model without one (a sentiment model, say)
    is refused here with its labels named, where transformers warns and returns confident nonsense. For an NLI model
    whose config names no labels (LABEL_0, ...), give ``entailment_id=`` (bertc's own keyword)."""

    task = "zero-shot-classification"

    def __init__(self, model: BertcModel, batch_size: int | None = None, **kwargs: Any) -> None:
        super().__init__(model, batch_size, **kwargs)
        labels = list(model.config.id2label.values())
        ent = self._defaults.get("entailment_id")
        if ent is None and not any(lb.lower().startswith("entail") for lb in labels):
            raise ValueError(f"zero-shot classification needs an NLI model: {model.name_or_path} has no entailment "
                             f"label (its labels: {', '.join(labels)}); for an NLI model whose config does not name "
                             "its labels, pass entailment_id=")
        if ent is not None and not 0 <= ent < len(labels):
            raise ValueError(f"entailment_id={ent} is not one of the model's {len(labels)} labels")

    def _sanitize(self, candidate_labels: Any = None, hypothesis_template: str | None = None,
                  multi_label: bool | None = None, batch_size: int | None = None,
                  entailment_id: int | None = None, **kwargs: Any) -> dict[str, Any]:
        if kwargs:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")
        out: dict[str, Any] = {}
        if entailment_id is not None:
            if isinstance(entailment_id, bool) or not isinstance(entailment_id, int):
                raise TypeError(f"entailment_id must be an int, not {type(entailment_id).__name__}")
            out["entailment_id"] = entailment_id
        if candidate_labels is not None:
            if isinstance(candidate_labels, str):
                candidate_labels = [lb.strip() for lb in candidate_labels.split(",") if lb.strip()]
            out["candidate_labels"] = list(candidate_labels)
        if hypothesis_template is not None:
            out["hypothesis_template"] = hypothesis_template
        if multi_label is not None:
            out["multi_label"] = bool(multi_label)
        if batch_size is not None:
            out["batch_size"] = batch_size
        return out

    def __call__(self, sequences: str | list[str], *args: Any, **kwargs: Any) -> Any:
        if len(args) == 1 and "candidate_labels" not in kwargs:
            kwargs["candidate_labels"] = args[0]
        elif args:
            raise ValueError(f"Unable to understand extra arguments {args}")
        params = dict(self._defaults)
        params.update(self._sanitize(**kwargs))
        labels = params.get("candidate_labels") or []
        template = params.get("hypothesis_template", "This example is {}.")
        if isinstance(sequences, str):
            if len(labels) == 0 or len(sequences) == 0:
                raise ValueError("You must include at least one label and at least one sequence.")
            return self._run(sequences, labels, template, params)
        return [self(s, **params) for s in sequences]

    def _run(self, text: str, labels: list[str], template: str, params: dict[str, Any]) -> dict[str, Any]:
        import ctypes
        from . import _lib
        p = _lib.lib.bertc_zero_shot_default_params()
        tb = template.encode("utf-8", "surrogatepass")
        p.hypothesis_template = tb
        p.multi_label = 1 if params.get("multi_label") else 0
        p.entailment_id = int(params.get("entailment_id", -1))
        p.classify.batch_size = max(1, int(params.get("batch_size") or self.batch_size or 32))
        arr, enc = _strings(labels)
        a = text.encode("utf-8", "surrogatepass")
        res = _lib.ZeroShotResult()
        err = _lib.Error()
        _lib.check(_lib.lib.bertc_zero_shot(self.model._h, a, len(a), arr, len(enc), ctypes.byref(p),
                                            ctypes.byref(res), ctypes.byref(err)), err)
        try:
            n = int(res.n_labels)
            order = [int(res.order[i]) for i in range(n)]
            scores = [float(res.scores[i]) for i in range(n)]
        finally:
            _lib.lib.bertc_zero_shot_result_free(ctypes.byref(res))
        return {"sequence": text, "labels": [labels[i] for i in order], "scores": scores}


def _no_extra(kwargs: dict[str, Any]) -> None:
    if kwargs:
        raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(kwargs))}")


def _strings(xs: list[str]) -> tuple[Any, list[bytes]]:
    import ctypes
    enc = [str(x).encode("utf-8", "surrogatepass") for x in xs]
    return (ctypes.c_char_p * max(1, len(enc)))(*enc), enc


def _text(b: bytes | None) -> str:
    return (b or b"").decode("utf-8", "surrogateescape")


_AGGREGATIONS = ("none", "simple", "first", "average", "max")


class TokenClassificationPipeline(Pipeline):
    """``pipeline("token-classification")`` / ``"ner"`` on a *ForTokenClassification checkpoint, as transformers'
    TokenClassificationPipeline: ``pipe(text, aggregation_strategy="none", ignore_labels=["O"])`` gives a list of
    ``{"entity", "score", "index", "word", "start", "end"}`` per token, or with an aggregation strategy ("simple",
    "first", "average", "max") ``{"entity_group", "score", "word", "start", "end"}`` per group; a list of texts gives a
    list of lists. start and end are character offsets into the text (libbertc's bertc_token_classify)."""

    task = "token-classification"

    def _sanitize(self, aggregation_strategy: Any = None, ignore_labels: list[str] | None = None,
                  stride: int | None = None, batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
        _no_extra(kwargs)
        out: dict[str, Any] = {}
        if stride is not None:
            out["stride"] = int(stride)
        if aggregation_strategy is not None:
            a = str(getattr(aggregation_strategy, "value", aggregation_strategy)).lower()
            if a not in _AGGREGATIONS:
                raise ValueError(f"aggregation_strategy {aggregation_strategy!r}: one of {', '.join(_AGGREGATIONS)}")
            out["aggregation_strategy"] = a
        if ignore_labels is not None:
            out["ignore_labels"] = list(ignore_labels)
        return out

    def __call__(self, inputs: str | list[str], **kwargs: Any) -> Any:
        params = dict(self._defaults)
        params.update(self._sanitize(**kwargs))
        if isinstance(inputs, str):
            return self._run(inputs, params)
        items = list(inputs)
        if not items:
            raise ValueError("At least one input is required.")
        return [self._run(x, params) for x in items]

    def _run(self, text: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        import ctypes
        from . import _lib
        p = _lib.lib.bertc_token_class_default_params()
        agg = params.get("aggregation_strategy", "none")
        p.aggregation = _AGGREGATIONS.index(agg)
        p.stride = params.get("stride", 0)
        keep: Any = None
        if "ignore_labels" in params:
            arr, keep = _strings(params["ignore_labels"])
            p.ignore_labels = arr
            p.n_ignore = len(keep)
        a = text.encode("utf-8", "surrogatepass")
        res = _lib.TokenClassResult()
        err = _lib.Error()
        _lib.check(_lib.lib.bertc_token_classify(self.model._h, a, len(a), ctypes.byref(p), ctypes.byref(res),
                                                 ctypes.byref(err)), err)
        out: list[dict[str, Any]] = []
        try:
            for i in range(int(res.n)):
                e = res.entities[i]
                if agg == "none":
                    out.append({"entity": _text(e.label), "score": float(e.score), "index": int(e.index),
                                "word": _text(e.word), "start": int(e.start), "end": int(e.end)})
                else:
                    out.append({"entity_group": _text(e.label), "score": float(e.score), "word": _text(e.word),
                                "start": int(e.start), "end": int(e.end)})
        finally:
            _lib.lib.bertc_token_class_result_free(ctypes.byref(res))
        del keep
        return out


class QuestionAnsweringPipeline(Pipeline):
    """``pipeline("question-answering")`` on a *ForQuestionAnswering checkpoint, as transformers 4.x's
    QuestionAnsweringPipeline: ``pipe(question=..., context=...)``, ``pipe({"question": ..., "context": ...})``, a
    list of such dicts, or lists of questions and contexts; parameters top_k (1), doc_stride (min(max_seq_len / 2,
    128)), max_seq_len (min(384, the model's)), max_question_len (64), max_answer_len (15),
    handle_impossible_answer (False) and align_to_words (True). One answer comes back as ``{"score", "start", "end",
    "answer"}``, several as a list, best first (libbertc's bertc_question_answer)."""

    task = "question-answering"
    _INTS = ("top_k", "doc_stride", "max_seq_len", "max_question_len", "max_answer_len")

    def _sanitize(self, top_k: int | None = None, doc_stride: int | None = None, max_seq_len: int | None = None,
                  max_question_len: int | None = None, max_answer_len: int | None = None,
                  handle_impossible_answer: bool | None = None, align_to_words: bool | None = None,
                  padding: Any = None, batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
        _no_extra(kwargs)  # padding: accepted and moot (bertc never pads: the same scores)
        vals = dict(top_k=top_k, doc_stride=doc_stride, max_seq_len=max_seq_len, max_question_len=max_question_len,
                    max_answer_len=max_answer_len)
        out: dict[str, Any] = {k: int(v) for k, v in vals.items() if v is not None}
        if out.get("top_k", 1) < 1:
            raise ValueError(f"top_k parameter should be >= 1 (got {out['top_k']})")
        if out.get("max_answer_len", 1) < 1:
            raise ValueError(f"max_answer_len parameter should be >= 1 (got {out['max_answer_len']})")
        if handle_impossible_answer is not None:
            out["handle_impossible_answer"] = bool(handle_impossible_answer)
        if align_to_words is not None:
            out["align_to_words"] = bool(align_to_words)
        return out

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        q, c = kwargs.pop("question", None), kwargs.pop("context", None)
        for key in ("X", "data"):
            if key in kwargs:
                args = (kwargs.pop(key),)
        if q is None and c is None and len(args) == 2:
            q, c = args
            args = ()
        params = dict(self._defaults)
        params.update(self._sanitize(**kwargs))
        if q is not None or c is not None:
            if q is None or c is None:
                raise ValueError("question and context are both needed")
            if isinstance(q, list) != isinstance(c, list):
                if isinstance(q, list):
                    c = [c] * len(q)
                else:
                    q = [q] * len(c)
            if isinstance(q, list):
                if len(q) != len(c):
                    raise ValueError("Questions and contexts don't have the same lengths")
                return [self._run(a, b, params) for a, b in zip(q, c)]
            return self._run(q, c, params)
        if len(args) != 1:
            raise ValueError("give question= and context=, a {\"question\", \"context\"} dict, or a list of them")
        x = args[0]
        items = x if isinstance(x, list) else [x]
        for it in items:
            if not isinstance(it, dict) or "question" not in it or "context" not in it:
                raise KeyError("You need to provide a dictionary with keys {question:..., context:...}")
        res = [self._run(it["question"], it["context"], params) for it in items]
        return res if isinstance(x, list) and len(res) > 1 else res[0]

    def _run(self, question: str, context: str, params: dict[str, Any]) -> Any:
        import ctypes
        from . import _lib
        if not question:
            raise ValueError("`question` cannot be empty")
        if not context:
            raise ValueError("`context` cannot be empty")
        p = _lib.lib.bertc_qa_default_params()
        for k in self._INTS:
            if k in params:
                setattr(p, k, params[k])
        p.handle_impossible_answer = 1 if params.get("handle_impossible_answer") else 0
        p.align_to_words = 0 if params.get("align_to_words") is False else 1
        a, b = question.encode("utf-8", "surrogatepass"), context.encode("utf-8", "surrogatepass")
        res = _lib.QAResult()
        err = _lib.Error()
        _lib.check(_lib.lib.bertc_question_answer(self.model._h, a, len(a), b, len(b), ctypes.byref(p),
                                                  ctypes.byref(res), ctypes.byref(err)), err)
        try:
            out = [{"score": float(res.answers[i].score), "start": int(res.answers[i].start),
                    "end": int(res.answers[i].end), "answer": _text(res.answers[i].answer)} for i in range(int(res.n))]
        finally:
            _lib.lib.bertc_qa_result_free(ctypes.byref(res))
        return out[0] if len(out) == 1 else out


class FillMaskPipeline(Pipeline):
    """``pipeline("fill-mask")`` on a *ForMaskedLM checkpoint, as transformers' FillMaskPipeline: ``pipe(text,
    top_k=5, targets=None)`` gives the top_k ``{"score", "token", "token_str", "sequence"}`` for the text's mask
    token, a list of such lists with several masks, and a list of results for a list of texts (libbertc's
    bertc_fill_mask)."""

    task = "fill-mask"

    def _sanitize(self, top_k: int | None = None, targets: str | list[str] | None = None,
                  batch_size: int | None = None, **kwargs: Any) -> dict[str, Any]:
        _no_extra(kwargs)
        out: dict[str, Any] = {}
        if top_k is not None:
            out["top_k"] = int(top_k)
        if targets is not None:
            out["targets"] = [targets] if isinstance(targets, str) else list(targets)
        return out

    def __call__(self, inputs: str | list[str], **kwargs: Any) -> Any:
        params = dict(self._defaults)
        params.update(self._sanitize(**kwargs))
        if isinstance(inputs, str):
            return self._run(inputs, params)
        out = [self._run(x, params) for x in inputs]
        return out[0] if len(out) == 1 else out

    def _run(self, text: str, params: dict[str, Any]) -> Any:
        import ctypes
        from . import _lib
        p = _lib.lib.bertc_fill_mask_default_params()
        if "top_k" in params:
            p.top_k = params["top_k"]
        keep: Any = None
        if "targets" in params:
            arr, keep = _strings(params["targets"])
            p.targets = arr
            p.n_targets = len(keep)
        a = text.encode("utf-8", "surrogatepass")
        res = _lib.FillMaskResult()
        err = _lib.Error()
        _lib.check(_lib.lib.bertc_fill_mask(self.model._h, a, len(a), ctypes.byref(p), ctypes.byref(res),
                                            ctypes.byref(err)), err)
        try:
            k = int(res.k)
            rows = [[{"score": float(c.score), "token": int(c.token), "token_str": _text(c.token_str),
                      "sequence": _text(c.sequence)}
                     for c in (res.candidates[m * k + j] for j in range(k))] for m in range(int(res.n_masks))]
        finally:
            _lib.lib.bertc_fill_mask_result_free(ctypes.byref(res))
        del keep
        return rows[0] if len(rows) == 1 else rows


_TASKS: dict[str, type[Pipeline]] = {
    "text-classification": TextClassificationPipeline,
    "sentiment-analysis": TextClassificationPipeline,
    "feature-extraction": FeatureExtractionPipeline,
    "zero-shot-classification": ZeroShotClassificationPipeline,
    "token-classification": TokenClassificationPipeline,
    "ner": TokenClassificationPipeline,
    "question-answering": QuestionAnsweringPipeline,
    "fill-mask": FillMaskPipeline,
}
_HEAD_TASK = {"sequence-classification": "text-classification", "token-classification": "token-classification",
              "question-answering": "question-answering", "masked-lm": "fill-mask", "none": "feature-extraction"}
_TASK_HEAD = {TokenClassificationPipeline: "token-classification", QuestionAnsweringPipeline: "question-answering",
              FillMaskPipeline: "masked-lm"}


@overload
def pipeline(task: Literal["text-classification", "sentiment-analysis"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> TextClassificationPipeline: ...


@overload
def pipeline(task: Literal["feature-extraction"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> FeatureExtractionPipeline: ...


@overload
def pipeline(task: Literal["zero-shot-classification"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> ZeroShotClassificationPipeline: ...


@overload
def pipeline(task: Literal["token-classification", "ner"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> TokenClassificationPipeline: ...


@overload
def pipeline(task: Literal["question-answering"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> QuestionAnsweringPipeline: ...


@overload
def pipeline(task: Literal["fill-mask"], model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> FillMaskPipeline: ...


@overload
def pipeline(task: str | None = None, model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> Pipeline: ...


def pipeline(task: str | None = None, model: str | os.PathLike[str] | BertcModel | None = None,
             tokenizer: Any = None, dtype: Any = None, threads: int | None = None, device: Any = None,
             batch_size: int | None = None, revision: str | None = None, torch_dtype: Any = None,
             compute: str | None = None, **kwargs: Any) -> Pipeline:
    """transformers' ``pipeline(task, model=...)`` on bertc. ``model``: a folder, a Hugging Face model id (from
    the cache, downloaded when missing), a loaded model, or None for the embedded default sentiment model.
    ``dtype``: "float32" (default), "float16", "bfloat16" or "int8" (weight storage); ``compute``: "fp32" (default)
    or "bf16" (matmul inputs rounded to bf16, fp32 sums); ``threads``: compute threads (default: all
    cores). Other keyword arguments are the task's call parameters, as defaults (``top_k``,
    ``function_to_apply``, ``truncation``, ``max_length``, ...)."""
    if task is not None and not isinstance(task, str):
        raise TypeError(f"pipeline(task=...) takes a task name such as \"sentiment-analysis\", not "
                        f"{type(task).__name__}; the model goes in model=")
    if model is not None and not isinstance(model, (str, os.PathLike, BertcModel)):
        raise TypeError(f"pipeline(model=...) takes a folder, a model id or a loaded model, not {type(model).__name__}")
    if device not in (None, "cpu", -1):
        raise ValueError(f"device {device!r}: bertc runs on the CPU")
    if tokenizer is not None and not isinstance(tokenizer, str) and tokenizer is not getattr(model, "tokenizer", None):
        # a tokenizer loaded apart from the same folder is the one the model has; another one is refused
        where = os.path.realpath(str(getattr(tokenizer, "name_or_path", "") or "x"))
        mine = os.path.realpath(str(model if not isinstance(model, BertcModel) else model.name_or_path or "y"))
        if where != mine:
            raise ValueError("bertc pipelines use the model folder's own tokenizer: this tokenizer comes from "
                             f"{getattr(tokenizer, 'name_or_path', '?')}, the model from {mine}")
    m = model if isinstance(model, BertcModel) else load_model(
        model, dtype if dtype is not None else torch_dtype, threads, revision, compute=compute)
    if task is None:
        task = _HEAD_TASK.get(m.head, "feature-extraction")
    if task not in _TASKS:
        raise KeyError(f"Unknown task {task}, available tasks are {sorted(_TASKS)}")
    cls = _TASKS[task]
    if cls in (TextClassificationPipeline, ZeroShotClassificationPipeline) and not m.has_head:
        raise ValueError(f"{m.name_or_path}: {task} needs a checkpoint with a sequence-classification head")
    if cls in _TASK_HEAD and m.head != _TASK_HEAD[cls]:
        raise ValueError(f"{m.name_or_path}: {task} needs a checkpoint with a {_TASK_HEAD[cls]} head (it has: {m.head})")
    return cls(m, batch_size=batch_size, **kwargs)
