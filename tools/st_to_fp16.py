#!/usr/bin/env python3
"""Rewrites a safetensors file with its F32 tensors stored as F16 (round to nearest even, as torch's .half()),
other dtypes unchanged, names and order kept. Needs numpy.

usage: python3 tools/st_to_fp16.py IN.safetensors OUT.safetensors
"""
import json
import struct
import sys

import numpy as np

src, dst = sys.argv[1:3]
with open(src, "rb") as f:
    n = struct.unpack("<Q", f.read(8))[0]
    header = json.loads(f.read(n))
    data = f.read()
meta = header.pop("__metadata__", {"format": "pt"})
out_header, chunks, off = {"__metadata__": meta}, [], 0
worst = 0.0
for name, t in header.items():
    a, b = t["data_offsets"]
    raw = data[a:b]
    dtype = t["dtype"]
    if dtype == "F32":
        x = np.frombuffer(raw, dtype="<f4")
        h = x.astype("<f2")
        if x.size:
            big = np.abs(x) > 1e-3
            if big.any():
                worst = max(worst, float(np.max(np.abs(h[big].astype("<f4") - x[big]) / np.abs(x[big]))))
        raw, dtype = h.tobytes(), "F16"
    out_header[name] = {"dtype": dtype, "shape": t["shape"], "data_offsets": [off, off + len(raw)]}
    chunks.append(raw)
    off += len(raw)
hs = json.dumps(out_header, separators=(",", ":")).encode()
hs += b" " * (-len(hs) % 8)
with open(dst + ".tmp", "wb") as f:
    f.write(struct.pack("<Q", len(hs)))
    f.write(hs)
    for c in chunks:
        f.write(c)
import os
os.replace(dst + ".tmp", dst)
print(f"{dst}: {off} bytes of tensors, worst relative rounding {worst:.2e} (on |w| > 1e-3)")
