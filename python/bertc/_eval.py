"""bertc.evaluate(): a classifier over a labeled dataset, with scikit-learn's metrics and the traps named — the
dict `bertc eval --json` writes (libbertc's bertc_eval_run)."""
from __future__ import annotations

import ctypes
import json
import math
import os
from ctypes import POINTER, Structure, c_char_p, c_double, c_int, c_size_t, c_uint64, c_void_p
from typing import Any

from . import _lib
from ._lib import eval_lib, lib
from ._model import BertcModel, load_model
from ._train import DatasetParams, require_files, set_dataset_params

__all__ = ["evaluate"]


class MetricsParams(Structure):
    _fields_ = [("positive", c_int), ("bootstrap", c_int), ("seed", c_uint64), ("min_precision", c_double),
                ("min_recall", c_double), ("ece_bins", c_int)]


class EvalParams(Structure):
    _fields_ = [("data", c_char_p), ("train", c_char_p), ("dataset", DatasetParams), ("metrics", MetricsParams),
                ("positive_label", c_char_p), ("threshold", c_double), ("batch_size", c_int),
                ("train_sample", c_int), ("progress", c_void_p), ("progress_ctx", c_void_p),
                ("threshold_from", c_char_p)]


_lib.check_struct_sizes(lib, "bertc_struct_size", {"bertc_metrics_params": MetricsParams})
_lib.check_struct_sizes(eval_lib, "bertc_eval_struct_size", {"bertc_eval_params": EvalParams})
eval_lib.bertc_eval_default_params.restype = EvalParams
eval_lib.bertc_eval_default_params.argtypes = []
eval_lib.bertc_eval_run.restype = c_int
eval_lib.bertc_eval_run.argtypes = [c_void_p, POINTER(EvalParams), POINTER(c_void_p), POINTER(_lib.Error)]
eval_lib.bertc_eval_report_render.restype = c_int
eval_lib.bertc_eval_report_render.argtypes = [c_void_p, c_int, POINTER(c_void_p), POINTER(c_size_t), POINTER(_lib.Error)]
eval_lib.bertc_eval_report_free.restype = None
eval_lib.bertc_eval_report_free.argtypes = [c_void_p]

_RENDER = {"json": 0, "terminal": 1, "markdown": 2, "html": 3, "predictions": 4}


def _render(report: int, fmt: str) -> str:
    out = c_void_p()
    n = c_size_t()
    err = _lib.Error()
    _lib.check(eval_lib.bertc_eval_report_render(report, _RENDER[fmt], ctypes.byref(out), ctypes.byref(n),
                                            ctypes.byref(err)), err)
    return _lib.take_string(out, n.value)


def _write(path: str | os.PathLike[str], text: str) -> None:
    tmp = f"{os.fspath(path)}.tmp-{os.getpid()}"
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)  # never a half-written report


def evaluate(model: str | os.PathLike[str] | BertcModel | None = None, data: str | os.PathLike[str] | None = None,
             *, train: str | os.PathLike[str] | None = None, text_column: str | None = None,
             pair_column: str | None = None, label_column: str | None = None, data_format: str | None = None,
             positive_label: str | int | None = None, threshold: float | None = None,
             threshold_from: str | os.PathLike[str] | None = None, batch_size: int | None = None,
             train_sample: int | None = None, bootstrap: int | None = None, seed: int | None = None,
             min_precision: float | None = None, min_recall: float | None = None, ece_bins: int | None = None,
             json_path: str | os.PathLike[str] | None = None, report: str | os.PathLike[str] | None = None,
             markdown: str | os.PathLike[str] | None = None, predictions: str | os.PathLike[str] | None = None,
             dtype: Any = None, threads: int | None = None) -> dict[str, Any]:
    """Runs a classifier (a folder, a model id, a loaded model, or None for the embedded default) over a labeled
    dataset (TSV, CSV, JSON lines) and returns the dict ``bertc eval --json`` writes: accuracy, per-class and
    averaged precision / recall / F1 as scikit-learn computes them, MCC, ROC AUC, calibration, bootstrap
    intervals, and ``warnings`` (accuracy paradox, zero division, leakage and the train-vs-test gap with
    ``train``). ``json_path`` / ``report`` (HTML) / ``markdown`` / ``predictions`` also write those files, as the
    CLI's options of the same names do. The suggested ``thresholds`` are chosen on ``data`` itself (applied to it
    they leak the test set); ``threshold_from`` (a labeled validation file) picks the best-F1 threshold there and
    applies it to ``data``."""
    if data is None:
        raise ValueError("evaluate() needs data: a labeled dataset file")
    if threshold is not None and threshold_from is not None:
        raise ValueError("threshold and threshold_from exclude each other")
    require_files(data, train)
    if threshold_from is not None:
        require_files(threshold_from)
    m = model if isinstance(model, BertcModel) else load_model(model, dtype, threads)
    p = eval_lib.bertc_eval_default_params()
    p.data = os.fsencode(data)
    p.train = os.fsencode(train) if train is not None else None
    set_dataset_params(p.dataset, data_format, text_column, pair_column, label_column)
    if positive_label is not None:
        p.positive_label = str(positive_label).encode()
    p.threshold = math.nan if threshold is None else float(threshold)
    p.threshold_from = os.fsencode(threshold_from) if threshold_from is not None else None
    for name, v in (("batch_size", batch_size), ("train_sample", train_sample)):
        if v is not None:
            setattr(p, name, int(v))
    for name, v in (("bootstrap", bootstrap), ("seed", seed), ("ece_bins", ece_bins)):
        if v is not None:
            setattr(p.metrics, name, int(v))
    for name, fv in (("min_precision", min_precision), ("min_recall", min_recall)):
        if fv is not None:
            setattr(p.metrics, name, float(fv))
    rep = c_void_p()
    err = _lib.Error()
    _lib.check(eval_lib.bertc_eval_run(m._h, ctypes.byref(p), ctypes.byref(rep), ctypes.byref(err)), err)
    try:
        text = _render(rep.value or 0, "json")
        for path, fmt in ((json_path, "json"), (report, "html"), (markdown, "markdown"),
                          (predictions, "predictions")):
            if path is not None:
                _write(path, text if fmt == "json" else _render(rep.value or 0, fmt))
        result: dict[str, Any] = json.loads(text)
        return result
    finally:
        eval_lib.bertc_eval_report_free(rep)
