"""bertc: BERT-family text encoders (DistilBERT, BERT, RoBERTa) in C, with transformers' Python API.

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

from ._lib import BertcError, BertcInterrupted, BertcMemoryError, BertcOSError, BertcValueError
from ._model import AutoModel, AutoModelForSequenceClassification, BertcConfig, BertcModel, ModelOutput
from ._pipeline import FeatureExtractionPipeline, Pipeline, TextClassificationPipeline, pipeline
from ._tokenizer import AutoTokenizer, BatchEncoding, BertcTokenizer
from ._eval import evaluate
from ._train import train

__version__ = "0.1.0"

__all__ = [
    "AutoModel", "AutoModelForSequenceClassification", "AutoTokenizer", "BatchEncoding", "BertcConfig",
    "BertcError", "BertcInterrupted", "BertcMemoryError", "BertcModel", "BertcOSError", "BertcTokenizer",
    "BertcValueError", "FeatureExtractionPipeline", "ModelOutput", "Pipeline", "TextClassificationPipeline",
    "evaluate", "pipeline", "train", "__version__",
]
