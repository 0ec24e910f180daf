"""bertc.distill(): the same run as `bertc distill` (its bytes), alpha=1 being bertc.train, the teacher cache reused
without the teacher, a student made from the teacher's layers, and its errors."""
from __future__ import annotations

import json
import os
import subprocess

import pytest

import bertc

import cases

BIN = os.environ.get("BERTC_BIN", os.path.join(cases.ROOT, "build", "bertc"))
TEACHER = os.path.join(cases.ROOT, "models", "sst2-small")
STUDENT = cases.model_path("tiny-bert")


def _data(tmp_path):
    rows = open(os.path.join(cases.DATA, "sst2-dev.tsv"), encoding="utf-8").read().splitlines()[:41]
    train = tmp_path / "train.tsv"
    train.write_text("\n".join(rows) + "\n", encoding="utf-8")
    unl = tmp_path / "unl.tsv"
    unl.write_text("sentence\nan unlabelled line\nanother one , bleak\n", encoding="utf-8")
    return str(train), str(unl)


COMMON = dict(max_steps=6, per_device_train_batch_size=8, learning_rate=1e-3, warmup_steps=0, seed=7, threads=1,
              train_sample=0)


def test_distill_equals_cli(tmp_path):
    train, unl = _data(tmp_path)
    events: list[str] = []
    res = bertc.distill(TEACHER, STUDENT, train, tmp_path / "py", temperature=3.0, alpha=0.25, unlabeled=unl,
                        augment=1, callback=lambda e: events.append(e["event"]), **COMMON)
    assert "teacher" in events and events[-1] == "end" and res["step"] == 6 and res["train_loss"] > 0
    out = subprocess.run([BIN, "distill", "--teacher", TEACHER, "--student", STUDENT, "--train", train, "--output",
                          str(tmp_path / "cli"), "--temperature", "3", "--alpha", "0.25", "--unlabeled", unl, "--augment",
                          "1", "--max-steps", "6", "--batch-size", "8", "--learning-rate", "1e-3", "--warmup-steps", "0",
                          "--seed", "7", "--threads", "1", "--train-sample", "0", "--quiet"],
                         capture_output=True, text=True, check=True).stdout
    assert json.loads(out.strip().splitlines()[-1])["train_loss"] == res["train_loss"]
    assert (tmp_path / "py" / "model.safetensors").read_bytes() == (tmp_path / "cli" / "model.safetensors").read_bytes()
    # the saved student is a classifier with the teacher's labels
    clf = bertc.pipeline("sentiment-analysis", model=str(tmp_path / "py"))
    assert clf("a charming and often affecting journey")[0]["label"] in ("NEGATIVE", "POSITIVE")
    # the cache alone, no teacher: the same student
    res2 = bertc.distill(None, STUDENT, train, tmp_path / "py2", temperature=3.0, alpha=0.25, unlabeled=unl, augment=0,
                         teacher_cache=str(tmp_path / "py.teacher-logits.safetensors"), **COMMON)
    assert res2["step"] == 6
    with pytest.raises(ValueError):
        bertc.distill(None, STUDENT, train, tmp_path / "py3", augment=1,
                      teacher_cache=str(tmp_path / "py.teacher-logits.safetensors"), **COMMON)


def test_alpha_one_is_train(tmp_path):
    train, _ = _data(tmp_path)
    a = bertc.train(STUDENT, train, tmp_path / "t", labels=["NEGATIVE", "POSITIVE"], **COMMON)
    b = bertc.distill(TEACHER, STUDENT, train, tmp_path / "d", alpha=1.0, **COMMON)
    assert a["train_loss"] == b["train_loss"]
    assert (tmp_path / "t" / "model.safetensors").read_bytes() == (tmp_path / "d" / "model.safetensors").read_bytes()


def test_student_layers_and_errors(tmp_path):
    train, _ = _data(tmp_path)
    res = bertc.distill(TEACHER, None, train, tmp_path / "s", student_layers=2, **COMMON)
    assert res["step"] == 6
    cfg = json.loads((tmp_path / "s.student-init" / "config.json").read_text())
    assert cfg["n_layers"] == 2
    with pytest.raises(ValueError, match="student"):
        bertc.distill(TEACHER, None, train, tmp_path / "x")
    with pytest.raises(ValueError, match="temperature"):
        bertc.distill(TEACHER, STUDENT, train, tmp_path / "x", temperature=0.0, **COMMON)
    with pytest.raises(TypeError):
        bertc.distill(TEACHER, STUDENT, train, tmp_path / "x", no_such_option=1)
    with pytest.raises(FileNotFoundError):
        bertc.distill(TEACHER, STUDENT, str(tmp_path / "missing.tsv"), tmp_path / "x")


def test_label_only_then_cache(tmp_path):
    train, _ = _data(tmp_path)
    cache, aug = str(tmp_path / "c.safetensors"), str(tmp_path / "aug.tsv")
    events: list[str] = []
    bertc.distill(TEACHER, STUDENT, train, None, augment=1, augmented_out=aug, teacher_cache=cache, label_only=True, seed=7,
                  callback=lambda e: events.append(e["event"]))
    assert "teacher" in events and os.path.isfile(cache) and os.path.isfile(aug)
    a = bertc.distill(None, STUDENT, train, tmp_path / "a", unlabeled=aug, teacher_cache=cache, **COMMON)
    b = bertc.distill(TEACHER, STUDENT, train, tmp_path / "b", augment=1, **COMMON)
    assert a["train_loss"] == b["train_loss"]
    with pytest.raises(ValueError, match="teacher_cache"):
        bertc.distill(TEACHER, STUDENT, train, None, label_only=True)


def test_teacher_compute_bf16_is_the_clis(tmp_path):
    """teacher_compute="bf16" fills the same cache, byte for byte, as `bertc distill --teacher-compute bf16`; the cache
    says which compute made it, and a teacher at the other compute is refused."""
    train, _ = _data(tmp_path)
    py, cli = str(tmp_path / "py.safetensors"), str(tmp_path / "cli.safetensors")
    bertc.distill(TEACHER, STUDENT, train, None, teacher_cache=py, label_only=True, teacher_compute="bf16")
    subprocess.run([BIN, "distill", "--teacher", TEACHER, "--student", STUDENT, "--train", train, "--teacher-cache", cli,
                    "--teacher-compute", "bf16", "--label-only"], check=True, capture_output=True)
    assert open(py, "rb").read() == open(cli, "rb").read()
    assert b'"compute":"bf16"' in open(py, "rb").read()
    with pytest.raises(bertc.BertcError, match="holds bf16 logits"):
        with open(train, "a", encoding="utf-8") as f:
            f.write("a row the cache lacks\t1\n")
        bertc.distill(TEACHER, STUDENT, train, None, teacher_cache=py, label_only=True)
    with pytest.raises(ValueError, match="teacher_compute"):
        bertc.distill(TEACHER, STUDENT, train, None, teacher_cache=py, label_only=True, teacher_compute="int8")
