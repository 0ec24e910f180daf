"""The package's behaviour beyond the reference outputs: errors, threads, the GIL, training, the CLI's numbers."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import threading
import time

import numpy as np
import pytest

import bertc
import cases

BIN = os.environ.get("BERTC_BIN", os.path.join(cases.ROOT, "build", "bertc"))
TINY = cases.model_path("tiny-bert")


def test_errors_are_python_exceptions(tmp_path):
    with pytest.raises(bertc.BertcOSError) as e:
        bertc.AutoModel.from_pretrained(str(tmp_path / "missing"))
    assert isinstance(e.value, OSError)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "config.json").write_text('{"model_type": "bert", "hidden_size": ')
    with pytest.raises(bertc.BertcValueError) as e:
        bertc.AutoModel.from_pretrained(str(bad))
    assert isinstance(e.value, ValueError) and "config.json" in str(e.value) and e.value.status == "format error"
    with pytest.raises(bertc.BertcError):
        bertc.AutoTokenizer.from_pretrained(str(bad))
    clf = bertc.pipeline("sentiment-analysis")
    with pytest.raises(ValueError, match="longer than"):
        clf("word " * 600)  # transformers fails too without truncation
    assert clf("word " * 600, truncation=True)[0]["label"] in ("POSITIVE", "NEGATIVE")
    with pytest.raises(ValueError, match="text pairs"):
        clf([["a", "b"]])
    with pytest.raises(KeyError):
        bertc.pipeline("translation")
    with pytest.raises(ValueError, match="function_to_apply"):
        clf("x", function_to_apply="relu")
    with pytest.raises(ValueError, match="dtype"):
        bertc.pipeline("sentiment-analysis", dtype="float64")


def test_base_model_has_no_classification_pipeline(tmp_path):
    base = tmp_path / "base"
    shutil.copytree(TINY, base)
    cfg = json.loads((base / "config.json").read_text())
    cfg["architectures"] = ["BertModel"]
    (base / "config.json").write_text(json.dumps(cfg))
    with pytest.raises(ValueError, match="classification head"):
        bertc.AutoModelForSequenceClassification.from_pretrained(base)
    with pytest.raises(ValueError, match="classification head"):
        bertc.pipeline("sentiment-analysis", model=base)
    fe = bertc.pipeline(model=base)
    assert isinstance(fe, bertc.FeatureExtractionPipeline) and np.array(fe("hello")).shape == (1, 3, 32)


def test_dtype_and_threads():
    texts = ["a charming journey", "a dull mess"]
    base = bertc.pipeline("sentiment-analysis", threads=1)(texts, top_k=None)
    for dt in ("float16", "bf16", "int8"):
        p = bertc.pipeline("sentiment-analysis", dtype=dt, threads=2)
        assert p.model.dtype in ("float16", "bfloat16", "int8")
        got = p(texts, top_k=None)
        assert [r[0]["label"] for r in got] == [r[0]["label"] for r in base]
        assert abs(got[0][0]["score"] - base[0][0]["score"]) < 0.05
    bf = bertc.pipeline("sentiment-analysis", compute="bf16")
    assert bf.model.compute == "bf16" and bf.model.dtype == "float32"
    got = bf(texts, top_k=None)
    assert [r[0]["label"] for r in got] == [r[0]["label"] for r in base]
    assert abs(got[0][0]["score"] - base[0][0]["score"]) < 0.01
    with pytest.raises(ValueError, match="compute"):
        bertc.pipeline("sentiment-analysis", compute="fp8")
    with pytest.raises(bertc.BertcValueError):
        bertc.pipeline("sentiment-analysis", compute="bf16", dtype="int8")


def test_one_model_many_threads():
    """One model shared by 4 Python threads gives what it gives alone."""
    clf = bertc.pipeline("sentiment-analysis")
    texts = [f"the film is {w} and {v}" for w in ("good", "bad", "long", "fun") for v in ("slow", "sharp", "odd")]
    want = clf(texts, top_k=None)
    got: dict[int, list] = {}

    def work(k: int) -> None:
        for _ in range(5):
            r = clf(texts, top_k=None)
            if got.get(k, r) != r:
                raise AssertionError("a thread's results changed")
            got[k] = r

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(got[k] == want for k in range(4))


def test_gil_released_while_computing():
    """A pure-Python thread keeps running while libbertc classifies (ctypes drops the GIL)."""
    clf = bertc.pipeline("sentiment-analysis", threads=1)
    texts = ["a charming and often affecting journey through a long film"] * 400
    ticks: list[float] = []
    done = threading.Event()

    def spin() -> None:
        while not done.is_set():
            ticks.append(time.perf_counter())
            time.sleep(0.001)

    t = threading.Thread(target=spin)
    t.start()
    time.sleep(0.01)
    t0 = time.perf_counter()
    clf(texts)
    t1 = time.perf_counter()
    done.set()
    t.join()
    inside = [x for x in ticks if t0 + 0.02 < x < t1 - 0.02]
    assert t1 - t0 > 0.1 and len(inside) > 5, (t1 - t0, len(inside))


# BatchEncoding.word_ids() / sequence_ids(): tokenizers 0.23.3's Encoding.word_ids for the same tokenizer.json (what
# transformers' fast tokenizers return), a pair, and a padded batch (padding gets None, as tokenizers pads).
WORD_IDS = {
    "tok-bert": [None, 0, 1, 2, 3, 4, 4, 4, 5, 6, None, 0, 1, None],
    "tok-roberta": [None, 0, 1, 2, 3, 4, 4, 5, 6, 6, 7, 8, None, None, 0, 1, 2, None],
    "tok-xlmr": [None, 0, 0, 0, 0, 0, 1, 1, 2, 3, 3, 3, 3, 3, 3, 3, 4, None, None, 0, 1, None],
}


@pytest.mark.parametrize("name", sorted(WORD_IDS))
def test_word_ids(name):
    tok = bertc.AutoTokenizer.from_pretrained(cases.model_path(name))
    enc = tok("Hello, world! unaffable [MASK] x", "second  pair")
    assert enc.word_ids() == WORD_IDS[name]
    seq = enc.sequence_ids()
    assert [w is None for w in seq] == [w is None for w in WORD_IDS[name]]
    first = [i for i, q in enumerate(seq) if q == 0]
    assert first and all(seq[i] == 0 for i in first) and seq[first[-1] + 2:].count(1) == seq.count(1)
    assert enc.token_to_word(1) == 0 and enc.token_to_word(0) is None and enc.token_to_sequence(-2) == 1
    batch = tok(["Hello, world!", "x"], padding=True)
    assert batch.word_ids(1)[-1] is None and batch.token_to_word(1, 1) == 0
    assert len(batch.word_ids(1)) == len(batch["input_ids"][1])
    with pytest.raises(IndexError):
        batch.word_ids(2)


def test_word_ids_match_rust_tokenizers():
    """Against the Rust crate itself where it is installed (CI's clients venv; the literal values above elsewhere)."""
    tokenizers = pytest.importorskip("tokenizers")
    for name in cases.TOKENIZERS:
        path = os.path.join(cases.model_path(name), "tokenizer.json")
        if not os.path.exists(path):
            continue
        hf = tokenizers.Tokenizer.from_file(path)
        hf.no_truncation()
        hf.no_padding()
        tok = bertc.AutoTokenizer.from_pretrained(cases.model_path(name))
        for a in cases.TOKENIZE_TEXTS:
            for b in (None, "a second text, here"):
                want = (hf.encode(a) if b is None else hf.encode(a, b)).word_ids
                assert tok(a, b).word_ids() == want, (name, a, b)


def test_batch_encoding_and_tokenizer_api():
    tok = bertc.AutoTokenizer.from_pretrained(TINY)
    enc = tok(["hello world", "hi"], padding=True, return_tensors="np")
    assert enc.input_ids.dtype == np.int64 and enc.input_ids.shape == (2, 4)
    assert enc.attention_mask.tolist() == [[1, 1, 1, 1], [1, 1, 1, 0]]
    assert enc.tokens(0) == ["[CLS]", "hello", "world", "[SEP]"]
    assert tok.convert_tokens_to_ids(["hello", "[SEP]", "notaword!!"]) == [7592, 102, 100]
    assert tok.cls_token_id == 101 and tok.pad_token_id == 0 and len(tok) == 30522
    assert tok.decode(np.array([101, 7592, 2088, 102]), skip_special_tokens=True) == "hello world"
    with pytest.raises(ValueError, match="padding"):
        tok(["a", "b c"], return_tensors="np")
    with pytest.raises(TypeError):
        tok(["a", 3])


def _run_cli(*args: str, env: dict[str, str] | None = None) -> str:
    return subprocess.run([BIN, *args], check=True, capture_output=True, text=True,
                          env={**os.environ, **env} if env else None).stdout


@pytest.mark.skipif(not os.access(BIN, os.X_OK), reason="build/bertc not built")
def test_pipeline_equals_cli(tmp_path):
    texts = ["a charming journey", "not good", "it 's a charming and often affecting journey ."]
    f = tmp_path / "in.txt"
    f.write_text("\n".join(texts) + "\n")
    cli = [json.loads(line) for line in _run_cli("classify", "--input", str(f)).splitlines()]
    py = bertc.pipeline("sentiment-analysis")(texts)
    assert [c["label"] for c in cli] == [p["label"] for p in py]
    # the logits are the same bits; the pipeline's softmax is transformers' numpy float32 one, the CLI's C: one ulp at most
    assert max(abs(c["score"] - p["score"]) for c, p in zip(cli, py)) < 2e-7


@pytest.mark.skipif(not os.access(BIN, os.X_OK), reason="build/bertc not built")
def test_train_progress_bar(tmp_path, capfd):
    """bertc.train shows a progress bar on stderr (a terminal's, or forced with disable_tqdm=False), ending with the
    line naming the checkpoint that became the output; disable_tqdm=True, nothing."""
    data = os.path.join(cases.DATA, "sst2-dev.tsv")
    common = dict(max_steps=3, per_device_train_batch_size=8, warmup_steps=1, threads=1)
    bertc.train(TINY, data, tmp_path / "a", disable_tqdm=False, **common)
    err = capfd.readouterr().err
    assert "3/3 [##############################] loss " in err and "output = checkpoint-3 (the last step" in err
    bertc.train(TINY, data, tmp_path / "b", disable_tqdm=True, **common)
    assert capfd.readouterr().err == ""


def test_train_equals_cli(tmp_path):
    data = os.path.join(cases.DATA, "sst2-dev.tsv")
    common = dict(max_steps=4, per_device_train_batch_size=8, logging_steps=2, warmup_steps=1, seed=7)
    events: list[str] = []
    res = bertc.train(TINY, data, tmp_path / "py", threads=1, callback=lambda e: events.append(e["event"]),
                      **common)
    assert events[0] == "start" and events[-1] == "end" and "log" in events
    assert res["step"] == 4 and len(res["log_history"]) >= 2 and res["train_loss"] > 0
    out = _run_cli("train", "--model", TINY, "--train", data, "--output", str(tmp_path / "cli"), "--max-steps", "4",
                   "--batch-size", "8", "--logging-steps", "2", "--warmup-steps", "1", "--seed", "7", "--threads", "1",
                   "--quiet")
    cli = json.loads(out.strip().splitlines()[-1])
    assert cli["train_loss"] == res["train_loss"]
    a = (tmp_path / "py" / "model.safetensors").read_bytes()
    b = (tmp_path / "cli" / "model.safetensors").read_bytes()
    assert a == b
    with pytest.raises(TypeError):
        bertc.train(TINY, data, tmp_path / "x", no_such_option=1)
    # bf16 mixed precision: the same as `bertc train --bf16`, close to the fp32 run, not equal to it. Each process
    # times the bf16 tiers once; under load two processes can choose differently, so the CLI is given this one's.
    isa = bertc.pipeline("sentiment-analysis", model=TINY, compute="bf16").model.compute_isa
    res16 = bertc.train(TINY, data, tmp_path / "py16", threads=1, bf16=True, **common)
    out16 = _run_cli("train", "--model", TINY, "--train", data, "--output", str(tmp_path / "cli16"), "--max-steps", "4",
                     "--batch-size", "8", "--logging-steps", "2", "--warmup-steps", "1", "--seed", "7", "--threads", "1",
                     "--bf16", "--quiet", env={"BERTC_BF16_TIER": "fp32" if isa.startswith("fp32-") else isa})
    assert json.loads(out16.strip().splitlines()[-1])["train_loss"] == res16["train_loss"]
    if isa.startswith("fp32-"):
        assert res16["train_loss"] == res["train_loss"]  # no bf16 tier beats fp32 here: --bf16 trains in fp32
    else:
        assert res16["train_loss"] != res["train_loss"]
        assert res16["train_loss"] == pytest.approx(res["train_loss"], rel=2e-2)


@pytest.mark.skipif(not os.access(BIN, os.X_OK), reason="build/bertc not built")
def test_evaluate_equals_cli(tmp_path):
    """bertc.evaluate gives the dict `bertc eval --json` writes (timing aside), and writes the same reports."""
    data = os.path.join(cases.DATA, "sst2-dev.tsv")
    subprocess.run([BIN, "eval", "--data", data, "--bootstrap", "50", "--json", str(tmp_path / "cli.json"),
                    "--markdown", str(tmp_path / "cli.md"), "--quiet"], check=True, capture_output=True)
    cli = json.loads((tmp_path / "cli.json").read_text())
    py = bertc.evaluate(data=data, bootstrap=50, markdown=tmp_path / "py.md", json_path=tmp_path / "py.json")
    for d in (cli, py):
        d.pop("seconds")
    assert py == cli and py["n"] == 872 and py["accuracy"] == pytest.approx(0.9105504587155964, abs=0)
    assert json.loads((tmp_path / "py.json").read_text())["accuracy"] == py["accuracy"]
    strip = lambda s: [x for x in s.splitlines() if "seconds" not in x and " s " not in x]  # noqa: E731
    assert strip((tmp_path / "py.md").read_text()) == strip((tmp_path / "cli.md").read_text())
    with pytest.raises(bertc.BertcValueError, match="positive"):
        bertc.evaluate(data=data, positive_label="NEUTRAL")
    with pytest.raises(FileNotFoundError):
        bertc.evaluate(data=tmp_path / "missing.tsv")


def test_evaluate_threshold_from(tmp_path):
    """threshold_from: the best-F1 threshold of a validation file, applied to the test file (as --threshold would);
    the suggested thresholds say they were chosen on the data they came from."""
    lines = open(os.path.join(cases.DATA, "sst2-dev.tsv"), encoding="utf-8").read().splitlines()
    (tmp_path / "val.tsv").write_text("\n".join([lines[0]] + lines[1::2][1:]) + "\n", encoding="utf-8")
    (tmp_path / "test.tsv").write_text("\n".join([lines[0]] + lines[2::2]) + "\n", encoding="utf-8")
    small = os.path.join(cases.ROOT, "models", "sst2-small")
    val = bertc.evaluate(small, tmp_path / "val.tsv", bootstrap=0)
    assert val["thresholds"]["chosen_on"].startswith("this data")
    t = val["thresholds"]["best_f1"]["threshold"]
    got = bertc.evaluate(small, tmp_path / "test.tsv", threshold_from=tmp_path / "val.tsv", bootstrap=0)
    want = bertc.evaluate(small, tmp_path / "test.tsv", threshold=t, bootstrap=0)
    assert got["threshold"] == t and got["threshold_from"] == {"data": str(tmp_path / "val.tsv"), "n": val["n"],
                                                               "best_f1": val["thresholds"]["best_f1"]["f1"]}
    assert got["confusion_matrix"] == want["confusion_matrix"] and got["f1"] == want["f1"]
    with pytest.raises(ValueError, match="exclude each other"):
        bertc.evaluate(small, tmp_path / "test.tsv", threshold=0.5, threshold_from=tmp_path / "val.tsv")


def test_kernel_tiers_amx_emulated():
    """bf16 compute and int8 on the AMX tier's code through the tile model (BERTC_AMX=emulate), in a fresh process:
    int8 logits equal this process's int8 tier's to the bit, bf16 within 0.05 of fp32."""
    import json
    import os
    import subprocess
    import sys
    texts = ["a charming journey", "a dull , lifeless mess", "the cast is uniformly excellent and the plot clever"]
    code = ("import json, sys, bertc\n"
            "out = {}\n"
            "for kw in ({'compute': 'bf16'}, {'dtype': 'int8'}):\n"
            "    p = bertc.pipeline('sentiment-analysis', **kw)\n"
            "    out[list(kw.values())[0]] = [p.model.compute_isa, p(json.loads(sys.argv[1]), top_k=None, function_to_apply='none')]\n"
            "print(json.dumps(out))\n")
    env = dict(os.environ, BERTC_AMX="emulate")
    res = subprocess.run([sys.executable, "-c", code, json.dumps(texts)], env=env, capture_output=True, text=True,
                         check=True)
    emu = json.loads(res.stdout)
    assert emu["bf16"][0] == "amx-emulated" and emu["int8"][0] == "amx-emulated"
    here = bertc.pipeline("sentiment-analysis", dtype="int8")
    assert here.model.compute_isa in ("amx", "avx512", "avx2", "portable")
    want = here(texts, top_k=None, function_to_apply="none")
    assert emu["int8"][1] == json.loads(json.dumps(want))
    fp32 = bertc.pipeline("sentiment-analysis")(texts, top_k=None, function_to_apply="none")
    for got_row, ref_row in zip(emu["bf16"][1], fp32):
        ref = {r["label"]: r["score"] for r in ref_row}
        for r in got_row:
            assert abs(r["score"] - ref[r["label"]]) < 0.05


def test_errors_in_python_words(tmp_path):
    """libbertc's messages name command-line flags; raised in Python they name the keyword arguments."""
    f = tmp_path / "odd.tsv"
    f.write_text("review\tstars\ngood\t1\nbad\t0\n", encoding="utf-8")
    with pytest.raises(bertc.BertcValueError) as e:
        bertc.evaluate(os.path.join(cases.ROOT, "models", "sst2-small"), f, bootstrap=0)
    assert "(name it with label_column=)" in str(e.value) and "--" not in str(e.value)
    assert bertc.evaluate(os.path.join(cases.ROOT, "models", "sst2-small"), f, label_column="stars",
                          bootstrap=0)["n"] == 2


def test_trainer_and_training_arguments(tmp_path):
    """Trainer / TrainingArguments over bertc.train: the same run as bertc.train with those fields (model bytes
    equal); a list of dicts as a dataset; fields bertc does not implement refused by name."""
    data = os.path.join(cases.DATA, "sst2-dev.tsv")
    args = bertc.TrainingArguments(output_dir=str(tmp_path / "t"), max_steps=3, per_device_train_batch_size=8,
                                   learning_rate=1e-4, warmup_steps=1, seed=7, logging_steps=1, threads=1,
                                   disable_tqdm=True)
    res = bertc.Trainer(model=TINY, args=args, train_dataset=data).train()
    ref = bertc.train(TINY, data, tmp_path / "r", max_steps=3, per_device_train_batch_size=8, learning_rate=1e-4,
                      warmup_steps=1, seed=7, logging_steps=1, threads=1, disable_tqdm=True, num_train_epochs=3,
                      lr_scheduler_type="linear", save_steps=500)
    assert res["train_loss"] == ref["train_loss"]
    assert (tmp_path / "t" / "model.safetensors").read_bytes() == (tmp_path / "r" / "model.safetensors").read_bytes()
    rows = [{"sentence": "a fine film", "label": 1}, {"sentence": "dull", "label": 0}] * 4
    t = bertc.Trainer(model=TINY, args=bertc.TrainingArguments(output_dir=str(tmp_path / "l"), max_steps=1,
                                                               threads=1, disable_tqdm=True),
                      train_dataset=rows, eval_dataset=rows[:2] + [{"text": "great", "label": 1}])
    assert t.train()["step"] == 1 and t.evaluate()["n"] == 3
    emb = bertc.train("embedded", data, tmp_path / "e", max_steps=1, per_device_train_batch_size=4, threads=1,
                      disable_tqdm=True)  # the built-in model, written under the cache once
    assert emb["step"] == 1 and (tmp_path / "e" / "config.json").exists()
    with pytest.raises(TypeError, match="does not implement: fp16, report_to"):
        bertc.TrainingArguments(output_dir="x", fp16=True, report_to="wandb")
    with pytest.raises(TypeError, match="Trainer arguments bertc does not implement: compute_metrics"):
        bertc.Trainer(model=TINY, args=args, train_dataset=data, compute_metrics=lambda p: {})
