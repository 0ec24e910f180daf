"""bertc.train(): fine-tuning with transformers' Trainer arithmetic (libbertc's bertc_train); bertc.distill():
knowledge distillation on the same loop (bertc_distill)."""
from __future__ import annotations

import ctypes
import json
import os
import signal
import threading
from ctypes import (CFUNCTYPE, POINTER, Structure, c_char_p, c_double, c_int, c_long, c_uint64, c_void_p)
from typing import Any, Callable

from . import _lib
from ._lib import lib

__all__ = ["train", "distill", "DatasetParams"]


class DatasetParams(Structure):
    _fields_ = [("format", c_int), ("text_column", c_char_p), ("pair_column", c_char_p), ("label_column", c_char_p)]


class TrainEvent(Structure):
    _fields_ = [("kind", c_int), ("step", c_long), ("max_steps", c_long), ("epoch", c_double),
                ("num_epochs", c_double), ("loss", c_double), ("learning_rate", c_double), ("grad_norm", c_double),
                ("tokens_per_second", c_double), ("elapsed_seconds", c_double), ("eta_seconds", c_double),
                ("message", c_char_p), ("json", c_char_p), ("metrics", c_void_p), ("train_metrics", c_void_p)]


CALLBACK = CFUNCTYPE(None, POINTER(TrainEvent), c_void_p)


class TrainParams(Structure):
    _fields_ = [("model", c_char_p), ("train", c_char_p), ("validation", c_char_p), ("output_dir", c_char_p),
                ("data", DatasetParams), ("labels", c_char_p), ("problem", c_int), ("epochs", c_double),
                ("learning_rate", c_double), ("batch_size", c_int), ("warmup_steps", c_int),
                ("warmup_ratio", c_double), ("max_length", c_int), ("weight_decay", c_double),
                ("adam_beta1", c_double), ("adam_beta2", c_double), ("adam_epsilon", c_double),
                ("max_grad_norm", c_double), ("gradient_accumulation_steps", c_int), ("lr_scheduler", c_int),
                ("seed", c_uint64), ("shuffle", c_int), ("logging_steps", c_int), ("eval_steps", c_int),
                ("save_steps", c_int), ("save_total_limit", c_int), ("metric_for_best_model", c_char_p),
                ("early_stopping_patience", c_int), ("resume_from_checkpoint", c_char_p),
                ("overwrite_output_dir", c_int), ("freeze_embeddings", c_int), ("n_threads", c_int),
                ("max_steps", c_long), ("train_sample", c_int), ("overfit_gap", c_double),
                ("stop", POINTER(c_int)), ("callback", CALLBACK), ("callback_ctx", c_void_p), ("bf16", c_int)]


class DistillParams(Structure):
    _fields_ = [("train", TrainParams), ("teacher", c_char_p), ("temperature", c_double), ("alpha", c_double),
                ("unlabeled", c_char_p), ("augment", c_int), ("augment_swap", c_double), ("augment_delete", c_double),
                ("augment_mask", c_double), ("augment_neighbors", c_int), ("augment_min_words", c_int),
                ("augmented_out", c_char_p),
                ("teacher_cache", c_char_p), ("teacher_max_length", c_int), ("teacher_batch_size", c_int),
                ("label_only", c_int), ("teacher_compute", c_int)]


_lib.check_struct_sizes(lib, "bertc_struct_size", {"bertc_dataset_params": DatasetParams,
                                                    "bertc_train_event": TrainEvent, "bertc_train_params": TrainParams,
                                                    "bertc_distill_params": DistillParams})
lib.bertc_train_default_params.restype = TrainParams
lib.bertc_train_default_params.argtypes = []
lib.bertc_train.restype = c_int
lib.bertc_train.argtypes = [POINTER(TrainParams), POINTER(_lib.Error)]
lib.bertc_distill_default_params.restype = DistillParams
lib.bertc_distill_default_params.argtypes = []
lib.bertc_distill.restype = c_int
lib.bertc_distill.argtypes = [POINTER(DistillParams), POINTER(_lib.Error)]
lib.bertc_student_from_teacher.restype = c_int
lib.bertc_student_from_teacher.argtypes = [c_char_p, POINTER(c_int), c_int, c_char_p, POINTER(_lib.Error)]

_EVENTS = ("start", "progress", "log", "eval", "save", "warning", "end", "teacher")
_SCHEDULERS = {"linear": 0, "constant": 1, "cosine": 2, "constant_with_warmup": 3}
_PROBLEMS = {None: 0, "single_label_classification": 1, "multi_label_classification": 2, "regression": 3}
_FORMATS = {None: 0, "auto": 0, "tsv": 1, "csv": 2, "jsonl": 3}
# TrainingArguments' names (and bertc train's) -> bertc_train_params fields
_ALIASES = {"num_train_epochs": "epochs", "epochs": "epochs", "per_device_train_batch_size": "batch_size",
            "batch_size": "batch_size", "threads": "n_threads", "lr_scheduler_type": "lr_scheduler"}
_NUMERIC = {"epochs", "learning_rate", "batch_size", "warmup_steps", "warmup_ratio", "max_length", "weight_decay",
            "adam_beta1", "adam_beta2", "adam_epsilon", "max_grad_norm", "gradient_accumulation_steps", "seed",
            "logging_steps", "eval_steps", "save_steps", "save_total_limit", "early_stopping_patience", "n_threads",
            "max_steps", "train_sample", "overfit_gap"}


def _path(p: Any) -> bytes | None:
    return os.fsencode(p) if p is not None else None


def require_files(*paths: Any) -> None:
    """FileNotFoundError for a dataset file that is not there (libbertc would call it an input error)."""
    for f in paths:
        if f is not None and not os.path.isfile(f):
            raise FileNotFoundError(2, "no such dataset file", os.fspath(f))


def set_dataset_params(d: DatasetParams, data_format: str | None, text_column: str | None,
                       pair_column: str | None, label_column: str | None) -> None:
    """The columns and format of bertc_dataset_params, as evaluate() and train() take them."""
    if data_format not in _FORMATS:
        raise ValueError(f"data_format {data_format!r}: one of auto, tsv, csv, jsonl")
    d.format = _FORMATS[data_format]
    d.text_column = text_column.encode() if text_column else None
    d.pair_column = pair_column.encode() if pair_column else None
    d.label_column = label_column.encode() if label_column is not None else None


def train(model: str | os.PathLike[str], train: str | os.PathLike[str], output_dir: str | os.PathLike[str],
          validation: str | os.PathLike[str] | None = None, *, labels: str | list[str] | None = None,
          problem_type: str | None = None, text_column: str | None = None, pair_column: str | None = None,
          label_column: str | None = None, data_format: str | None = None, shuffle: bool = True,
          metric_for_best_model: str | None = None, resume_from_checkpoint: str | bool | None = None,
          overwrite_output_dir: bool = False, freeze_embeddings: bool = False, bf16: bool = False,
          callback: Callable[[dict[str, Any]], None] | None = None, disable_tqdm: bool | None = None,
          **options: Any) -> dict[str, Any]:
    """Fine-tunes a checkpoint folder on a dataset file (TSV, CSV or JSON lines) and writes ``output_dir`` as
    ``save_pretrained`` does, as ``bertc train`` does. Options take TrainingArguments' names
    (``num_train_epochs``, ``learning_rate``, ``per_device_train_batch_size``, ``warmup_steps``,
    ``weight_decay``, ``lr_scheduler_type``, ``seed``, ``logging_steps``, ``eval_steps``, ``save_steps``,
    ``max_steps``, ...) and bertc's (``max_length``, ``threads``, ``train_sample``, ``overfit_gap``); ``bf16=True``
    is TrainingArguments' bf16 mixed precision.

    Returns the final entry ``bertc train`` prints (train_runtime, train_loss, ...) with ``log_history`` (every
    log and evaluation entry) and ``warnings``. ``callback`` receives each event as a dict. A progress bar goes to
    stderr when it is a terminal (``disable_tqdm``, TrainingArguments' name: True never, False always), ending with
    the line naming the checkpoint that became the output. Ctrl-C saves a checkpoint and raises BertcInterrupted; a
    diverged run raises BertcValueError."""
    require_files(train, validation)
    p = lib.bertc_train_default_params()
    _fill(p, model, train, output_dir, validation, labels, problem_type, text_column, pair_column, label_column,
          data_format, shuffle, metric_for_best_model, resume_from_checkpoint, overwrite_output_dir, freeze_embeddings,
          bf16, options, "train")
    return _run(lambda err: lib.bertc_train(ctypes.byref(p), err), p, callback, disable_tqdm)


def _embedded_folder() -> str:
    """The built-in model as a folder to train from, written once under the cache (libbertc's
    bertc_default_model_folder, as `bertc train --model embedded`)."""
    buf = ctypes.create_string_buffer(4096)
    err = _lib.Error()
    _lib.check(lib.bertc_default_model_folder(buf, len(buf), ctypes.byref(err)), err)
    return os.fsdecode(buf.value)


def _fill(p: TrainParams, model: Any, train: Any, output_dir: Any, validation: Any, labels: str | list[str] | None,
          problem_type: str | None, text_column: str | None, pair_column: str | None, label_column: str | None,
          data_format: str | None, shuffle: bool, metric_for_best_model: str | None,
          resume_from_checkpoint: str | bool | None, overwrite_output_dir: bool, freeze_embeddings: bool, bf16: bool,
          options: dict[str, Any], fn: str) -> None:
    if model is None or (isinstance(model, str) and model == "embedded"):
        model = _embedded_folder()
    p.model, p.train, p.validation, p.output_dir = _path(model), _path(train), _path(validation), _path(output_dir)
    set_dataset_params(p.data, data_format, text_column, pair_column, label_column)
    if labels is not None:
        p.labels = (",".join(labels) if not isinstance(labels, str) else labels).encode()
    if problem_type not in _PROBLEMS:
        raise ValueError(f"problem_type {problem_type!r}: one of {', '.join(k for k in _PROBLEMS if k)}")
    p.problem = _PROBLEMS[problem_type]
    p.shuffle = int(bool(shuffle))
    p.overwrite_output_dir, p.freeze_embeddings = int(overwrite_output_dir), int(freeze_embeddings)
    p.bf16 = int(bool(bf16))  # TrainingArguments(bf16=True): bf16 matmul inputs, fp32 sums and master weights
    if metric_for_best_model:
        p.metric_for_best_model = metric_for_best_model.encode()
    if resume_from_checkpoint:
        p.resume_from_checkpoint = b"latest" if resume_from_checkpoint is True else _path(resume_from_checkpoint)
    for k, v in options.items():
        field = _ALIASES.get(k, k)
        if field == "lr_scheduler":
            if v not in _SCHEDULERS:
                raise ValueError(f"lr_scheduler_type {v!r}: one of {', '.join(_SCHEDULERS)}")
            p.lr_scheduler = _SCHEDULERS[v]
        elif field in _NUMERIC:
            setattr(p, field, type(getattr(p, field))(v))
        else:
            raise TypeError(f"{fn}() got an unexpected keyword argument {k!r}")


class _Bar:
    """A tqdm-style line on stderr: steps, a bar, loss, learning rate, elapsed and left; the closing line after."""

    def __init__(self) -> None:
        import time
        self.t0 = self.last = time.monotonic()
        self.first_step: int | None = None

    def progress(self, step: int, total: int, loss: float, lr: float) -> None:
        import sys
        import time
        now = time.monotonic()
        if self.first_step is None:
            self.first_step, self.t0 = step - 1, now  # a resume: time only this process's steps
        if now - self.last < 0.2 and step < total:
            return
        self.last = now
        done = max(step - (self.first_step or 0), 1)
        left = (now - self.t0) / done * max(total - step, 0)
        width = 30
        fill = int(width * step / total) if total else 0
        loss_s = f" loss {loss:.4f}" if loss == loss else ""
        sys.stderr.write(f"\r{step}/{total} [{'#' * fill}{'.' * (width - fill)}]{loss_s} lr {lr:.3g} "
                         f"{_clock(now - self.t0)}<{_clock(left)}")
        sys.stderr.flush()

    def end(self, msg: str | None) -> None:
        import sys
        sys.stderr.write("\n" + (msg + "\n" if msg else ""))
        sys.stderr.flush()


def _clock(s: float) -> str:
    s = int(s)
    return f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60:02d}:{s % 60:02d}"


def _run(call: Callable[[Any], int], p: TrainParams, callback: Callable[[dict[str, Any]], None] | None,
         disable_tqdm: bool | None = None) -> dict[str, Any]:
    import sys
    show = not disable_tqdm if disable_tqdm is not None else sys.stderr.isatty()
    bar = _Bar() if show else None
    history: list[Any] = []
    warnings: list[str] = []
    final: dict[str, Any] = {}
    failure: list[BaseException] = []

    def on_event(ev_p: Any, _ctx: Any) -> None:
        e = ev_p.contents
        kind = _EVENTS[e.kind] if 0 <= e.kind < len(_EVENTS) else str(e.kind)
        entry = json.loads(e.json) if e.json else None
        msg = e.message.decode("utf-8", "replace") if e.message else None
        if kind in ("log", "eval") and entry is not None:
            history.append(entry)
        elif kind == "warning" and msg:
            warnings.append(msg)
        elif kind == "end" and entry is not None:
            final.update(entry)
        if bar is not None and kind == "progress":
            bar.progress(int(e.step), int(e.max_steps), float(e.loss), float(e.learning_rate))
        elif bar is not None and kind == "end":
            bar.end(msg)
        if callback is not None and not failure:
            try:
                callback({"event": kind, "step": e.step, "max_steps": e.max_steps, "epoch": e.epoch,
                          "loss": e.loss, "learning_rate": e.learning_rate, "grad_norm": e.grad_norm,
                          "tokens_per_second": e.tokens_per_second, "message": msg, "entry": entry})
            except BaseException as exc:  # stop the run at the next step and re-raise after it
                failure.append(exc)
                stop.value = 1

    stop = c_int(0)
    p.stop = ctypes.pointer(stop)
    cb = CALLBACK(on_event)
    p.callback = cb
    old = None
    if threading.current_thread() is threading.main_thread():
        old = signal.signal(signal.SIGINT, lambda *_: setattr(stop, "value", 1))
    err = _lib.Error()
    try:
        status = call(ctypes.byref(err))
    finally:
        if old is not None:
            signal.signal(signal.SIGINT, old)
    if failure:
        raise failure[0]
    _lib.check(status, err)
    final["log_history"] = history
    final["warnings"] = warnings
    return final


def distill(teacher: str | os.PathLike[str] | None, student: str | os.PathLike[str] | None,
            train: str | os.PathLike[str], output_dir: str | os.PathLike[str] | None,
            validation: str | os.PathLike[str] | None = None, *, temperature: float = 2.0, alpha: float = 0.5,
            unlabeled: str | os.PathLike[str] | None = None, augment: int = 0, augment_swap: float = 0.3,
            augment_delete: float = 0.1, augment_mask: float = 0.3, augment_neighbors: int = 15,
            augment_min_words: int = 0,
            augmented_out: str | os.PathLike[str] | None = None, teacher_cache: str | os.PathLike[str] | None = None,
            teacher_max_length: int = 0, teacher_batch_size: int = 0, student_layers: int | None = None,
            label_only: bool = False, teacher_compute: str = "fp32",
            labels: str | list[str] | None = None, text_column: str | None = None, pair_column: str | None = None,
            label_column: str | None = None, data_format: str | None = None, shuffle: bool = True,
            metric_for_best_model: str | None = None, resume_from_checkpoint: str | bool | None = None,
            overwrite_output_dir: bool = False, freeze_embeddings: bool = False, bf16: bool = False,
            callback: Callable[[dict[str, Any]], None] | None = None, disable_tqdm: bool | None = None,
            **options: Any) -> dict[str, Any]:
    """Distils ``teacher`` (a fine-tuned sequence classifier's folder) into ``student`` (a folder; a base model gets a
    new head) on ``train``, as ``bertc distill`` does: the loss is
    ``alpha * CE(student, label) + (1 - alpha) * T**2 * KL(softmax(teacher / T) || softmax(student / T))``
    (DistilBERT's; ``temperature`` is T). The teacher labels each distinct text once and its logits are kept in
    ``teacher_cache`` (default ``output_dir + ".teacher-logits.safetensors"``); with ``teacher=None`` the cache must
    hold every row. ``unlabeled`` texts and ``augment`` variants per training row (nearest-word swaps, deletions, a
    masked span; seeded by ``seed``) take the teacher's argmax as their label. ``student=None`` with
    ``student_layers=N`` makes the student from the teacher's layers (every k-th), written beside ``output_dir``.
    ``label_only=True`` (with ``teacher_cache``; ``output_dir`` may be None) only fills the cache and writes
    ``augmented_out``. ``teacher_compute="bf16"`` runs the teacher in bf16 arithmetic (the tile unit of an AMX Xeon;
    logits within about 1e-2 of fp32's; a cache keeps one compute). Every other option, the result and the errors are :func:`train`'s."""
    require_files(train, validation, unlabeled)
    if teacher is None and teacher_cache is None:
        raise ValueError("distill() needs a teacher, or a teacher_cache holding every row's logits")
    if student is None:
        if not student_layers or teacher is None:
            raise ValueError("distill() needs a student folder, or student_layers with a teacher")
        if output_dir is None:
            raise ValueError("distill(): student_layers writes the student beside output_dir")
        init = os.fspath(output_dir).rstrip("/") + ".student-init"
        err = _lib.Error()
        _lib.check(lib.bertc_student_from_teacher(_path(teacher), None, int(student_layers), _path(init),
                                                  ctypes.byref(err)), err)
        student = init
    elif student_layers:
        raise ValueError("distill(): student_layers makes the student from the teacher: give it or a student, not both")
    d = lib.bertc_distill_default_params()
    _fill(d.train, student, train, output_dir, validation, labels, None, text_column, pair_column, label_column,
          data_format, shuffle, metric_for_best_model, resume_from_checkpoint, overwrite_output_dir, freeze_embeddings,
          bf16, options, "distill")
    d.teacher, d.unlabeled, d.augmented_out = _path(teacher), _path(unlabeled), _path(augmented_out)
    d.teacher_cache = _path(teacher_cache)
    d.temperature, d.alpha = float(temperature), float(alpha)
    d.augment, d.augment_neighbors, d.augment_min_words = int(augment), int(augment_neighbors), int(augment_min_words)
    d.augment_swap, d.augment_delete, d.augment_mask = float(augment_swap), float(augment_delete), float(augment_mask)
    d.teacher_max_length, d.teacher_batch_size = int(teacher_max_length), int(teacher_batch_size)
    d.label_only = int(bool(label_only))
    if teacher_compute not in ("fp32", "bf16"):
        raise ValueError(f"distill(teacher_compute={teacher_compute!r}): use 'fp32' or 'bf16'")
    d.teacher_compute = 1 if teacher_compute == "bf16" else 0
    if label_only and teacher_cache is None:
        raise ValueError("distill(label_only=True) needs a teacher_cache to fill")
    return _run(lambda err: lib.bertc_distill(ctypes.byref(d), err), d.train, callback, disable_tqdm)
