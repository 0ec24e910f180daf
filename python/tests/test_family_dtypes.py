"""MPNet, ELECTRA, DeBERTa-v2 and ModernBERT checkpoints stored as float16 and bfloat16, as save_pretrained writes a
model after .half() / .to(torch.bfloat16): bertc reads them and computes in float32 what transformers computes from
the same stored weights (tests/data/python/family-dtypes.ref.json, tools/make_family_dtype_refs.py). The checkpoints
are written here from the fp32 fixtures with numpy, rounded to nearest even as torch rounds."""
from __future__ import annotations

import json
import os
import shutil

import numpy as np
import pytest

import bertc
import cases
import stfile

with open(os.path.join(cases.DATA, "python", "family-dtypes.ref.json"), encoding="utf-8") as f:
    REFS = json.load(f)


def to_bf16(a: np.ndarray) -> np.ndarray:
    """float32 -> bfloat16 bits, round to nearest even (finite values)."""
    u = np.ascontiguousarray(a, dtype=np.float32).view(np.uint32).astype(np.uint64)
    return ((u + 0x7FFF + ((u >> 16) & 1)) >> 16).astype(np.uint16)


@pytest.mark.parametrize("name", sorted(REFS["models"]))
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_stored_half_precision(tmp_path, name, dtype):
    src = cases.model_path(name)
    for f in os.listdir(src):
        if f != "model.safetensors":
            shutil.copy(os.path.join(src, f), tmp_path)
    tensors: dict[str, tuple[str, np.ndarray]] = {}
    for k, a in stfile.read(os.path.join(src, "model.safetensors")).items():
        if a.dtype != np.float32:
            tensors[k] = ("I64" if a.dtype == np.int64 else "I32", a)
        elif dtype == "float16":
            tensors[k] = ("F16", a.astype(np.float16))
        else:
            tensors[k] = ("BF16", to_bf16(a))
    stfile.write(str(tmp_path / "model.safetensors"), tensors)
    tok = bertc.AutoTokenizer.from_pretrained(str(tmp_path))
    head = bertc.AutoModelForSequenceClassification.from_pretrained(str(tmp_path))
    want = np.array(REFS["models"][name][dtype])
    for t, w in zip(REFS["texts"], want):
        got = head(**tok([t], return_tensors="np")).logits[0]
        np.testing.assert_allclose(got, w, atol=1e-5, rtol=0, err_msg=f"{name} {dtype} {t!r}")
    # and not what the fp32 checkpoint gives: the stored precision is what ran
    fp32 = bertc.AutoModelForSequenceClassification.from_pretrained(src)
    ref32 = fp32(**tok([REFS["texts"][0]], return_tensors="np")).logits[0]
    assert np.abs(ref32 - want[0]).max() > 1e-6
