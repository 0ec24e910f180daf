"""Writes tests/data/python/family-dtypes.ref.json: transformers' logits for the new families' tiny classifiers
with their weights stored as float16 and as bfloat16 (rounded to nearest even, as torch's .to() rounds), computed
in float32 (AutoModelForSequenceClassification, dtype=torch.float32, which upcasts the stored weights exactly).
python/tests/test_family_dtypes.py writes the same rounded checkpoints with numpy and checks bertc against these.

    /work/venv-torch/bin/python tools/make_family_dtype_refs.py     # PyPI torch 2.15.0, transformers 5.25.0
"""
import json
import os
import shutil
import tempfile

import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
MODELS = ["tiny-mpnet", "tiny-electra", "tiny-deberta", "tiny-deberta-nob", "tiny-modernbert"]
TEXTS = ["a charming and often affecting journey", "not good at all , really", "x"]
out = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "texts": TEXTS,
       "models": {}}
for name in MODELS:
    src = os.path.join(ROOT, "tests", "data", name)
    tok = AutoTokenizer.from_pretrained(src)
    out["models"][name] = {}
    for tag, dt in (("float16", torch.float16), ("bfloat16", torch.bfloat16)):
        with tempfile.TemporaryDirectory() as d:
            for f in os.listdir(src):
                if f != "model.safetensors":
                    shutil.copy(os.path.join(src, f), d)
            sd = {k: v.to(dt) if v.is_floating_point() else v for k, v in load_file(os.path.join(src, "model.safetensors")).items()}
            save_file(sd, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
            m = AutoModelForSequenceClassification.from_pretrained(d, dtype=torch.float32).eval()
            with torch.no_grad():
                logits = [m(**tok(t, return_tensors="pt")).logits[0].tolist() for t in TEXTS]
        out["models"][name][tag] = logits
path = os.path.join(ROOT, "tests", "data", "python", "family-dtypes.ref.json")
with open(path, "w", encoding="utf-8") as f:
    json.dump(out, f, indent=1)
print(path, out["versions"])
