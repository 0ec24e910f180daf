#!/usr/bin/env python3
"""PyTorch gradients of DeBERTa-v2 sequence classification for the bertc trainer (tests/test_train.c).

Writes tests/data/train/grad-deberta-<problem>.safetensors (tests/data/tiny-deberta: share_att_key, c2p + p2c, log
buckets, norm_rel_ebd layer_norm) and grad-deberta-nob-single.safetensors (tests/data/tiny-deberta-nob: its own
pos_query_proj, p2c only, no buckets), in make_train_refs.py's layout: input_ids / lengths / token_type_ids of the
unpadded batch, labels, loss, logits, init.<head tensors>, grad_rows and grad.<every parameter> (the word embeddings'
rows that the batch uses). Dropout off (model.eval()), fp32.

Made with torch 2.15.0 + transformers 5.25.0 (PyPI, /work/venv-torch):
  /work/venv-torch/bin/python tools/make_deberta_grads.py
"""
import os
import sys

import torch
import transformers

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_refs import grad_case  # noqa: E402

WORD = "deberta.embeddings.word_embeddings.weight"

if __name__ == "__main__":
    print("torch", torch.__version__, "transformers", transformers.__version__)
    for i, p in enumerate(["single", "multi", "regression"]):
        grad_case("tiny-deberta", "deberta", p, WORD, 2000 + i)
    grad_case("tiny-deberta-nob", "deberta-nob", "single", WORD, 2003)
