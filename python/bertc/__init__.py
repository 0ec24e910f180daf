"""bertc: BERT-family text encoders (DistilBERT, BERT, RoBERTa, XLM-R, MPNet, ELECTRA, DeBERTa-v2/v3, ModernBERT) in C,
with transformers' Python API.

    >>> import bertc
    >>> clf = bertc.pipeline("sentiment-analysis")          # the embedded default model
    >>> clf("a charming and often affecting journey")
    [{'label': 'POSITIVE', 'score': 0.99...}]
    >>> tok = bertc.AutoTokenizer.from_pretrained("path/to/checkpoint")
    >>> model = bertc.AutoModelForSequenceClassification.from_pretrained("path/to/checkpoint")
    >>> model(**tok(["a", "b"], padding=True, return_tensors="np")).logits

Everything runs in libbertc (ctypes; the GIL is released while it computes). numpy is the only dependency and is
imported on first use.
"""
from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

# Names load on first use (PEP 562), so `import bertc` costs next to nothing; libbertc.so is mapped by the first
# name that needs it.
_WHERE = {
    "BertcError": "_lib", "BertcInterrupted": "_lib", "BertcMemoryError": "_lib", "BertcOSError": "_lib",
    "BertcValueError": "_lib",
    "AutoModel": "_model", "AutoModelForSequenceClassification": "_model", "BertcConfig": "_model",
    "AutoConfig": "_model",
    "AutoModelForTokenClassification": "_model", "AutoModelForQuestionAnswering": "_model",
    "AutoModelForMaskedLM": "_model", "ElectraForPreTraining": "_model",
    "BertcModel": "_model", "ModelOutput": "_model",
    "FeatureExtractionPipeline": "_pipeline", "Pipeline": "_pipeline", "TextClassificationPipeline": "_pipeline",
    "ZeroShotClassificationPipeline": "_pipeline", "pipeline": "_pipeline",
    "TokenClassificationPipeline": "_pipeline", "QuestionAnsweringPipeline": "_pipeline",
    "FillMaskPipeline": "_pipeline",
    "AutoTokenizer": "_tokenizer", "BatchEncoding": "_tokenizer", "BertcTokenizer": "_tokenizer",
    "evaluate": "_eval", "train": "_train", "distill": "_train",
    "Trainer": "_trainer", "TrainingArguments": "_trainer",
    "cache_list": "_hub", "cache_remove": "_hub", "CachedModel": "_hub",
}

__all__ = sorted(_WHERE) + ["__version__"]

if TYPE_CHECKING:
    from ._eval import evaluate
    from ._hub import CachedModel, cache_list, cache_remove
    from ._lib import BertcError, BertcInterrupted, BertcMemoryError, BertcOSError, BertcValueError
    from ._model import (AutoConfig, AutoModel, AutoModelForMaskedLM, AutoModelForQuestionAnswering,
                         AutoModelForSequenceClassification, AutoModelForTokenClassification, BertcConfig, BertcModel,
                         ElectraForPreTraining, ModelOutput)
    from ._pipeline import (FeatureExtractionPipeline, FillMaskPipeline, Pipeline, QuestionAnsweringPipeline,
                            TextClassificationPipeline, TokenClassificationPipeline, ZeroShotClassificationPipeline,
                            pipeline)
    from ._tokenizer import AutoTokenizer, BatchEncoding, BertcTokenizer
    from ._train import distill, train
    from ._trainer import Trainer, TrainingArguments


def __getattr__(name: str) -> Any:
    mod = _WHERE.get(name)
    if mod is None:
        raise AttributeError(f"module 'bertc' has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{mod}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return __all__
