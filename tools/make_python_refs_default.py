#!/usr/bin/env python3
"""Renews the embedded default's part of tests/data/python/refs.json (its text-classification pipeline cases and the
SST-2 dev pipeline outputs) after the default model changes, leaving every other model's references as they were
made: transformers' pipeline on models/minilm-sst2, in float32, as tools/make_python_refs.py runs it. The versions
used are recorded under "versions_by_model"["default"].

    /work/venv-torch/bin/python tools/make_python_refs_default.py      # transformers, torch (CPU), tokenizers
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python", "tests"))
import cases  # noqa: E402

with open(cases.REFS, encoding="utf-8") as f:
    refs = json.load(f)
cases.PIPELINE_MODELS = ["default"]
cases.FEATURE_MODELS = []
cases.MODEL_NAMES = []
cases.TOKENIZERS = []
new = cases.run_transformers()
refs["text_classification"] = new["text_classification"] + \
    [c for c in refs["text_classification"] if c["model"] != "default"]  # the default's cases first, as before
refs["sst2_dev"] = new["sst2_dev"]
refs.setdefault("versions_by_model", {})["default"] = new["versions"]
with open(cases.REFS, "w", encoding="utf-8") as f:
    json.dump(refs, f, ensure_ascii=False, separators=(",", ":"))
print(cases.REFS, new["versions"], len(new["text_classification"]), "cases,", len(new["sst2_dev"]), "dev outputs")
