"""Writes tests/data/python/refs.json: the outputs of transformers' pipeline, AutoTokenizer and AutoModel on the
cases of python/tests/cases.py, which the Python package's tests compare bertc against.

    /work/venv-torch/bin/python tools/make_python_refs.py      # transformers, torch (CPU), tokenizers
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python", "tests"))
import cases  # noqa: E402

refs = cases.run_transformers()
os.makedirs(os.path.dirname(cases.REFS), exist_ok=True)
with open(cases.REFS, "w", encoding="utf-8") as f:
    json.dump(refs, f, ensure_ascii=False, separators=(",", ":"))
print(cases.REFS, refs["versions"], os.path.getsize(cases.REFS), "bytes")
