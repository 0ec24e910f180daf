"""MPNet, ELECTRA, DeBERTa-v2 and ModernBERT checkpoints stored as float16 and bfloat16, as save_pretrained writes a
model after .half() / .to(torch.bfloat16): bertc reads them and computes in float32 what transformers computes from
the same stored weights (tests/data/python/family-dtypes.ref.json, tools/make_family_dtype_refs.py). The checkpoints
are written here from the fp32 fixtures with numpy, rounded to nearest even as torch rounds."""
from __future__ import annotations

import json
import os
import shutil
import struct
from pathlib import Path

import numpy as np
import pytest

import bertc
import cases

with open(os.path.join(cases.DATA, "python", "family-dtypes.ref.json"), encoding="utf-8") as f:
    REFS = json.load(f)


def read_safetensors(path: str) -> dict[str, np.ndarray]:
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    kinds = {"F32": np.float32, "I64": np.int64, "I32": np.int32}
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=kinds[v["dtype"]]).reshape(v["shape"])
    return out


def write_safetensors(path: str, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    header: dict[str, object] = {"__metadata__": {"format": "pt"}}
    blobs, off = [], 0
    for k, (dt, a) in tensors.items():
        b = a.tobytes()
        header[k] = {"dtype": dt, "shape": list(a.shape), "data_offsets": [off, off + len(b)]}
        blobs.append(b)
        off += len(b)
    h = json.dumps(header).encode()
    h += b" " * (-len(h) % 8)
    Path(path).write_bytes(struct.pack("<Q", len(h)) + h + b"".join(blobs))


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
    for k, a in read_safetensors(os.path.join(src, "model.safetensors")).items():
        if a.dtype != np.float32:
            tensors[k] = ("I64" if a.dtype == np.int64 else "I32", a)
        elif dtype == "float16":
            tensors[k] = ("F16", a.astype(np.float16))
        else:
            tensors[k] = ("BF16", to_bf16(a))
    write_safetensors(str(tmp_path / "model.safetensors"), tensors)
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
