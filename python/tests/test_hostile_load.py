"""Crafted weight files and configs (issue 28): the interpreter survives each and gets the documented exception,
BertcValueError (a ValueError) with the message naming the problem, instead of a crash or a silently wrong model."""
from __future__ import annotations

import json
import os
import shutil
import struct
import subprocess
import sys

import pytest

import bertc
import cases

HOSTILE = os.path.join(cases.DATA, "hostile-load")


def _checkpoint(tmp_path, fixture: str, config_edit: dict | None = None, weights: str | None = None):
    d = tmp_path / "ckpt"
    d.mkdir()
    src = cases.model_path(fixture)
    for name in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(src, name), d / name)
    with open(os.path.join(src, "config.json"), encoding="utf-8") as f:
        config = json.load(f)
    config.update(config_edit or {})
    (d / "config.json").write_text(json.dumps(config))
    if weights is None:
        shutil.copy(os.path.join(src, "model.safetensors"), d / "model.safetensors")
    else:
        shutil.copy(os.path.join(HOSTILE, weights), d / ("pytorch_model.bin" if weights.endswith(".bin") else
                                                          "model.safetensors"))
    return str(d)


def test_storage_overflow_is_an_exception_not_a_crash(tmp_path):
    # a torch storage of 2^62 elements at offset 2^32 read 16 GiB past the file (SIGSEGV, the interpreter died):
    # load it in a child interpreter so that a crash fails this test instead of ending the run
    path = _checkpoint(tmp_path, "tiny-distilbert", weights="torch-storage-2p62-offset-2p32.bin")
    code = ("import bertc, sys\n"
            "try:\n"
            "    bertc.AutoModel.from_pretrained(sys.argv[1])\n"
            "except bertc.BertcValueError as e:\n"
            "    print('refused:', e.status, '|', e)\n"
            "    sys.exit(0)\n"
            "sys.exit(2)\n")
    r = subprocess.run([sys.executable, "-c", code, path], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ))
    assert r.returncode == 0, (r.returncode, r.stdout, r.stderr)
    assert "refused: format error" in r.stdout and "declares 4611686018427387904 elements" in r.stdout, r.stdout
    # and in this interpreter too: an exception, then a normal load still works
    with pytest.raises(bertc.BertcValueError, match="declares 4611686018427387904 elements"):
        bertc.AutoModel.from_pretrained(path)
    assert bertc.AutoModel.from_pretrained(cases.model_path("tiny-distilbert")) is not None


def test_wrapping_safetensors_shape(tmp_path):
    path = _checkpoint(tmp_path, "tiny-distilbert")
    # add a tensor whose shape product wraps to 0 in 64 bits: it used to load as an unused empty tensor
    raw = open(os.path.join(path, "model.safetensors"), "rb").read()
    n = struct.unpack("<Q", raw[:8])[0]
    header = json.loads(raw[8:8 + n])
    data = raw[8 + n:]
    header["extra.wrapped"] = {"dtype": "F32", "shape": [2**32, 2**32, 16], "data_offsets": [len(data), len(data)]}
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    with open(os.path.join(path, "model.safetensors"), "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + data)
    with pytest.raises(bertc.BertcValueError, match="tensor extra.wrapped: shape overflows") as e:
        bertc.AutoModel.from_pretrained(path)
    assert e.value.status == "format error"


@pytest.mark.parametrize("edit, message", [
    ({"hidden_size": 32.5}, "hidden_size 32.5 is not an integer"),
    ({"type_vocab_size": 0}, "type_vocab_size 0 out of range"),
    ({"num_attention_heads": 3}, "num_attention_heads 3 out of range: hidden_size 32 is not a multiple"),
    ({"hidden_size": 2**31}, "hidden_size 2147483648 out of range"),
    ({"vocab_size": 40000}, "has shape [30522, 32], config.json implies [40000, 32]"),
])
def test_config_validated_as_transformers(tmp_path, edit, message):
    path = _checkpoint(tmp_path, "tiny-bert", edit)
    with pytest.raises(bertc.BertcValueError) as e:
        bertc.AutoModel.from_pretrained(path)
    assert message in str(e.value) and isinstance(e.value, ValueError)
