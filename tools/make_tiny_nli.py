#!/usr/bin/env python3
"""tests/data/tiny-nli-bert and tests/data/tiny-nli-roberta: tiny NLI *ForSequenceClassification checkpoints (random
weights, seed 0; BERT hidden 16, RoBERTa hidden 8; 2 layers, 2 heads; labels {0: contradiction, 1: neutral,
2: entailment}) over tests/data/tok-bert and tok-roberta (the tokenizer files are symlinks), and
tests/data/tiny-nli.ref.json: the outputs of transformers' zero-shot-classification pipeline (float32) for single- and
multi-label calls, one label, a custom template, comma-separated labels, a list of texts, a long text truncated
"only_first", labels with spaces and non-ASCII letters, and tiny-bert (2 labels, no entailment label: id -1).
Made with PyPI torch and transformers 5.24 (/work/venv-torch):
    /work/venv-torch/bin/python tools/make_tiny_nli.py"""
import json
import os

import torch
from transformers import (AutoTokenizer, BertConfig, BertForSequenceClassification, RobertaConfig,
                          RobertaForSequenceClassification, pipeline)
from transformers.utils import logging

logging.set_verbosity_error()
D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
LABELS = {0: "contradiction", 1: "neutral", 2: "entailment"}


def relink(d, name, target):
    p = os.path.join(d, name)
    if os.path.lexists(p):
        os.remove(p)
    os.symlink(target, p)


def build(name, tokdir, cls, cfgcls, hidden, **kw):
    out = os.path.join(D, name)
    os.makedirs(out, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        relink(out, f, os.path.join("..", tokdir, f))
    tok = AutoTokenizer.from_pretrained(out)
    torch.manual_seed(0)
    cfg = cfgcls(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=2,
                 intermediate_size=2 * hidden, initializer_range=0.5, id2label=LABELS,
                 label2id={v: k for k, v in LABELS.items()}, **kw)
    model = cls(cfg).eval()
    model.save_pretrained(out, safe_serialization=True)
    return out


bert = build("tiny-nli-bert", "tok-bert", BertForSequenceClassification, BertConfig, 16,
             max_position_embeddings=512, pad_token_id=0)
roberta = build("tiny-nli-roberta", "tok-roberta", RobertaForSequenceClassification, RobertaConfig, 8,
                max_position_embeddings=514, pad_token_id=1, bos_token_id=0, eos_token_id=2)

LONG = " ".join(f"word{i % 37} and the film number {i}" for i in range(300))
CASES = [
    {"sequences": "I have a problem with my iphone that needs to be resolved asap!!",
     "candidate_labels": ["urgent", "not urgent", "phone", "tablet", "computer"]},
    {"sequences": "I have a problem with my iphone that needs to be resolved asap!!",
     "candidate_labels": ["urgent", "not urgent", "phone", "tablet", "computer"], "multi_label": True},
    {"sequences": "The match ended in a draw after extra time.", "candidate_labels": ["sports"]},
    {"sequences": "The match ended in a draw after extra time.", "candidate_labels": ["sports", "politics"],
     "hypothesis_template": "The topic of this text is {}!"},
    {"sequences": "Parliament passed the budget late on Tuesday.",
     "candidate_labels": "politics, economy ,  , weather,sports"},
    {"sequences": ["a charming and often affecting journey", "the movie was dull and far too long",
                   "Der Film war großartig."], "candidate_labels": ["positive", "negative", "neutral"]},
    {"sequences": ["a charming and often affecting journey", "the movie was dull and far too long"],
     "candidate_labels": ["positive", "negative"], "multi_label": True},
    {"sequences": LONG, "candidate_labels": ["film", "words", "numbers and more numbers"]},
    {"sequences": LONG, "candidate_labels": ["film", "words"], "multi_label": True},
    {"sequences": "Un café très crème à Zürich — naïve résumé 😀",
     "candidate_labels": ["food and drink", "café", "Zürich", "日本語", "emoji 😀", "travel plans"]},
    {"sequences": "  spaces\tand\nnewlines  ", "candidate_labels": ["whitespace", "text"],
     "hypothesis_template": "{} is what this is about."},
]
refs = []
for model_name, path in (("tiny-nli-bert", bert), ("tiny-nli-roberta", roberta), ("tiny-bert", os.path.join(D, "tiny-bert"))):
    pipe = pipeline("zero-shot-classification", model=path, dtype=torch.float32, device="cpu")
    for c in CASES:
        kw = {k: v for k, v in c.items() if k != "sequences"}
        out = pipe(c["sequences"], **kw)
        refs.append({"model": model_name, **c, "output": out})
with open(os.path.join(D, "tiny-nli.ref.json"), "w", encoding="utf-8") as f:
    json.dump(refs, f, ensure_ascii=False, indent=1)
    f.write("\n")
print(f"wrote {bert}, {roberta} and {len(refs)} references")
