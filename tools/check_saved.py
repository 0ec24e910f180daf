#!/usr/bin/env python3
"""Loads a folder written by `bertc train` with transformers (AutoModelForSequenceClassification and
AutoTokenizer) and prints, per text, the token ids and logits as JSON lines: the reference that
tests/test_train.c compares `bertc classify --logits` with.

usage: python3 tools/check_saved.py FOLDER [TEXT ...]   (needs torch + transformers)
"""
import json
import sys

import torch
from transformers import AutoModelForSequenceClassification, AutoTokenizer

folder = sys.argv[1]
texts = sys.argv[2:] or ["a charming and often affecting journey .", "unflinchingly bleak and desperate"]
tok = AutoTokenizer.from_pretrained(folder)
model = AutoModelForSequenceClassification.from_pretrained(folder).eval()
import transformers
print(json.dumps({"torch": torch.__version__, "transformers": transformers.__version__,
                  "architectures": model.config.architectures, "id2label": model.config.id2label,
                  "problem_type": model.config.problem_type}))
with torch.no_grad():
    for t in texts:
        enc = tok(t, return_tensors="pt", truncation=True, max_length=128)
        if model.config.model_type == "distilbert":
            enc.pop("token_type_ids", None)  # the tokenizer may return them; DistilBERT takes none
        logits = model(**enc).logits[0].tolist()
        print(json.dumps({"text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits}))
