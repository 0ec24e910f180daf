"""transformers' Trainer and TrainingArguments over bertc.train: the same field names, the same run as ``bertc
train``. Arguments bertc does not implement are a TypeError naming them, never silently ignored."""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass, field, fields
from typing import Any, Iterable

from ._model import BertcModel


@dataclass
class TrainingArguments:
    """The TrainingArguments fields bertc's trainer implements, with transformers' defaults where bertc follows them
    (learning_rate 5e-5, 3 epochs, batch 8, no warm-up, linear decay, seed 42); ``eval_strategy`` "steps" needs
    ``eval_steps``, "epoch" and "no" as transformers reads them."""

    output_dir: str
    num_train_epochs: float = 3.0
    learning_rate: float = 5e-5
    per_device_train_batch_size: int = 8
    gradient_accumulation_steps: int = 1
    warmup_steps: int = 0
    warmup_ratio: float = 0.0
    weight_decay: float = 0.0
    adam_beta1: float = 0.9
    adam_beta2: float = 0.999
    adam_epsilon: float = 1e-8
    max_grad_norm: float = 1.0
    lr_scheduler_type: str = "linear"
    max_steps: int = -1
    seed: int = 42
    logging_steps: int = 500
    eval_strategy: str = "no"
    eval_steps: int | None = None
    save_steps: int = 500
    save_total_limit: int | None = None
    metric_for_best_model: str | None = None
    overwrite_output_dir: bool = False
    bf16: bool = False
    disable_tqdm: bool | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # bertc's own: max_length, threads, train_sample, ...

    def __init__(self, output_dir: str, **kwargs: Any) -> None:
        known = {f.name for f in fields(self)} - {"output_dir", "extra"}
        bertc_own = {"max_length", "threads", "train_sample", "overfit_gap", "early_stopping_patience"}
        bad = sorted(k for k in kwargs if k not in known and k not in bertc_own and k != "evaluation_strategy")
        if bad:
            raise TypeError(f"TrainingArguments fields bertc's trainer does not implement: {', '.join(bad)}")
        self.output_dir = str(output_dir)
        for f in fields(self):
            if f.name not in ("output_dir", "extra"):
                setattr(self, f.name, f.default)
        self.extra = {k: kwargs.pop(k) for k in list(kwargs) if k in bertc_own}
        if "evaluation_strategy" in kwargs:  # transformers' older name
            kwargs.setdefault("eval_strategy", kwargs.pop("evaluation_strategy"))
        for k, v in kwargs.items():
            setattr(self, k, v)
        if self.eval_strategy not in ("no", "steps", "epoch"):
            raise ValueError(f"eval_strategy {self.eval_strategy!r}: no, steps or epoch")


class Trainer:
    """``Trainer(model, args, train_dataset, eval_dataset).train()``: the model a folder, a model id or a loaded
    BertcModel; the datasets a file (TSV, CSV, JSON lines) or a list of ``{"text", "label"}`` dicts (``sentence``
    for ``text`` too, as GLUE names it). ``train()`` returns the final entry with ``log_history``; ``evaluate()``
    the eval dict of ``bertc.evaluate`` on ``eval_dataset`` with the trained model."""

    def __init__(self, model: str | os.PathLike[str] | BertcModel | None = None, args: TrainingArguments | None = None,
                 train_dataset: Any = None, eval_dataset: Any = None, **kwargs: Any) -> None:
        bad = sorted(k for k, v in kwargs.items() if v is not None)
        if bad:
            raise TypeError(f"Trainer arguments bertc does not implement: {', '.join(bad)} (bertc tokenizes, batches "
                            "and computes the metrics itself)")
        if model is None or args is None or train_dataset is None:
            raise ValueError("Trainer needs model, args and train_dataset")
        self.model = model.name_or_path if isinstance(model, BertcModel) else os.fspath(model)
        self.args = args
        self._tmp = tempfile.TemporaryDirectory(prefix="bertc-trainer-")
        self.train_file = self._file(train_dataset, "train")
        self.eval_file = self._file(eval_dataset, "eval") if eval_dataset is not None else None
        self.state: dict[str, Any] = {}

    def _file(self, data: Any, name: str) -> str:
        if isinstance(data, (str, os.PathLike)):
            return os.fspath(data)
        rows = list(data) if isinstance(data, Iterable) else None
        if rows is None or not all(isinstance(r, dict) for r in rows):
            raise TypeError(f"{name}_dataset: a file path or a list of {{'text', 'label'}} dicts")
        path = os.path.join(self._tmp.name, f"{name}.jsonl")
        with open(path, "w", encoding="utf-8") as f:
            for r in rows:
                text = r.get("text", r.get("sentence"))
                if not isinstance(text, str) or "label" not in r:
                    raise ValueError(f"{name}_dataset rows need a text (or sentence) string and a label: {r!r}")
                row = {"text": text, "label": r["label"]}
                if isinstance(r.get("text_pair"), str):
                    row["text_pair"] = r["text_pair"]
                f.write(json.dumps(row, ensure_ascii=False) + "\n")
        return path

    def train(self, resume_from_checkpoint: str | bool | None = None) -> dict[str, Any]:
        from ._train import train
        a = self.args
        opts: dict[str, Any] = dict(num_train_epochs=a.num_train_epochs, learning_rate=a.learning_rate,
                                    per_device_train_batch_size=a.per_device_train_batch_size,
                                    gradient_accumulation_steps=a.gradient_accumulation_steps,
                                    warmup_steps=a.warmup_steps, warmup_ratio=a.warmup_ratio,
                                    weight_decay=a.weight_decay, adam_beta1=a.adam_beta1, adam_beta2=a.adam_beta2,
                                    adam_epsilon=a.adam_epsilon, max_grad_norm=a.max_grad_norm,
                                    lr_scheduler_type=a.lr_scheduler_type, seed=a.seed,
                                    logging_steps=a.logging_steps, save_steps=a.save_steps)
        if a.max_steps > 0:
            opts["max_steps"] = a.max_steps
        if a.save_total_limit is not None:
            opts["save_total_limit"] = a.save_total_limit
        validation = None
        if self.eval_file is not None and a.eval_strategy != "no":
            validation = self.eval_file
            if a.eval_strategy == "steps":
                if not a.eval_steps:
                    raise ValueError("eval_strategy='steps' needs eval_steps")
                opts["eval_steps"] = a.eval_steps
        opts.update(a.extra)
        self.state = train(self.model, self.train_file, a.output_dir, validation,
                           metric_for_best_model=a.metric_for_best_model, overwrite_output_dir=a.overwrite_output_dir,
                           resume_from_checkpoint=resume_from_checkpoint, bf16=a.bf16, disable_tqdm=a.disable_tqdm,
                           **opts)
        return self.state

    def evaluate(self, eval_dataset: Any = None) -> dict[str, Any]:
        from ._eval import evaluate
        data = self._file(eval_dataset, "eval") if eval_dataset is not None else self.eval_file
        if data is None:
            raise ValueError("evaluate() needs an eval_dataset")
        return evaluate(self.args.output_dir, data)
