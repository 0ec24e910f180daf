"""safetensors files read and written with numpy alone, for the tests that need a reference's tensors or a checkpoint
stored another way (test_electra.py, test_family_dtypes.py)."""
from __future__ import annotations

import json
import struct
from pathlib import Path

import numpy as np

_DTYPES = {"F32": np.float32, "I32": np.int32, "I64": np.int64}


def read(path: str) -> dict[str, np.ndarray]:
    """Every tensor of an F32 / I32 / I64 file by name, as read-only arrays over the file's bytes."""
    raw = Path(path).read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    header.pop("__metadata__", None)
    out = {}
    for k, v in header.items():
        a, b = v["data_offsets"]
        out[k] = np.frombuffer(raw[8 + n + a:8 + n + b], dtype=_DTYPES[v["dtype"]]).reshape(v["shape"])
    return out


def write(path: str, tensors: dict[str, tuple[str, np.ndarray]]) -> None:
    """tensors: name -> (safetensors dtype, array of that dtype's bytes), written in that order."""
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
