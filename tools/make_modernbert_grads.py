#!/usr/bin/env python3
"""PyTorch gradients of ModernBERT sequence classification for the bertc trainer (tests/test_train.c).

Writes tests/data/train/grad-modernbert-<problem>.safetensors (tests/data/tiny-modernbert: every bias, [CLS] pooling,
layers global / local / global with a local window of 4 tokens on each side, shorter than the batch's sequences) and
grad-modernbert-mean-single.safetensors (tests/data/tiny-modernbert-mean: no biases, mean pooling, window 8), in
make_train_refs.py's layout: input_ids / lengths / token_type_ids of the unpadded batch, labels, loss, logits,
init.<classifier tensors>, grad_rows and grad.<every parameter> (the word embeddings' rows that the batch uses).
Dropout off (model.eval()), fp32, attn_implementation "eager". Also adamw-modernbert.safetensors: five AdamW steps of
Trainer's arithmetic on tiny-modernbert-mean (adamw_case), in make_train_refs.py's adamw-distilbert layout.

Made with torch 2.15.0 + transformers 5.25.0 (PyPI, /work/venv-torch):
  /work/venv-torch/bin/python tools/make_modernbert_grads.py
"""
import os
import sys

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from grad_refs import DATA, OUT, c, grad_case  # noqa: E402

WORD = "model.embeddings.tok_embeddings.weight"


def adamw_case():
    """make_train_refs.py's adamw-distilbert.safetensors on tiny-modernbert-mean (its 3-label head, SST-2 labels 0 / 1):
    AdamW lr 5e-4, betas (0.9, 0.999), eps 1e-8, weight decay 0.01 on Trainer's decay group, linear schedule with 2
    warm-up steps of 5, clip_grad_norm_ 0.05, batches [0:3], [3:6], [6:8], [0:3], [3:6] of sst2-dev.tsv's first 8
    rows."""
    import csv
    from transformers import get_linear_schedule_with_warmup
    fixture = os.path.join(DATA, "tiny-modernbert-mean")
    model = AutoModelForSequenceClassification.from_pretrained(fixture, dtype=torch.float32, attn_implementation="eager")
    model.config.problem_type = None
    tok = AutoTokenizer.from_pretrained(fixture)
    model.eval()
    with open(os.path.join(DATA, "sst2-dev.tsv"), newline="") as f:
        rd = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        rows = [next(rd) for _ in range(8)]
    sents = [r["sentence"] for r in rows]
    labs = [int(r["label"]) for r in rows]
    decay = transformers.Trainer.get_decay_parameter_names(None, model)
    assert all(("norm" in n or "bias" in n) == (n not in decay) for n, _ in model.named_parameters())
    groups = [{"params": [p for n, p in model.named_parameters() if n in decay], "weight_decay": 0.01},
              {"params": [p for n, p in model.named_parameters() if n not in decay], "weight_decay": 0.0}]
    opt = torch.optim.AdamW(groups, lr=5e-4, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=2, num_training_steps=5)
    enc = tok(sents, truncation=True, max_length=128, padding=True, return_tensors="pt")
    lengths = enc["attention_mask"].sum(1)
    all_ids = torch.cat([enc["input_ids"][i, : lengths[i]] for i in range(len(sents))]).to(torch.int32)
    word = dict(model.named_parameters())[WORD]
    used = torch.unique(all_ids.long())
    unused = torch.ones(word.shape[0], dtype=torch.bool)
    unused[used] = False
    unused[model.config.pad_token_id] = False
    cand = torch.nonzero(unused).flatten()
    untouched = int(cand[len(cand) // 2])
    initial_untouched = c(word[untouched])
    step_loss, step_gn, step_lr = [], [], []
    for a, b in [(0, 3), (3, 6), (6, 8), (0, 3), (3, 6)]:
        e = tok(sents[a:b], truncation=True, max_length=128, padding=True, return_tensors="pt")
        opt.zero_grad(set_to_none=True)
        out = model(input_ids=e["input_ids"], attention_mask=e["attention_mask"],
                    labels=torch.tensor(labs[a:b], dtype=torch.long))
        out.loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        step_lr.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
        step_loss.append(float(out.loss.detach()))
        step_gn.append(float(gn))
    t = {"input_ids": all_ids, "lengths": lengths.to(torch.int32), "token_type_ids": torch.zeros_like(all_ids),
         "labels": torch.tensor(labs, dtype=torch.int32), "step_loss": torch.tensor(step_loss, dtype=torch.float32),
         "step_grad_norm": torch.tensor(step_gn, dtype=torch.float32),
         "step_lr": torch.tensor(step_lr, dtype=torch.float32), "final_rows": used.to(torch.int32),
         "final_untouched_row": torch.tensor([untouched], dtype=torch.int32), "final.untouched": c(word[untouched]),
         "initial.untouched": initial_untouched}
    for n, p in model.named_parameters():
        t["final." + n] = c(p[used]) if n == WORD else c(p)
    path = os.path.join(OUT, "adamw-modernbert.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    print(path, step_loss, step_gn, step_lr)


if __name__ == "__main__":
    print("torch", torch.__version__, "transformers", transformers.__version__)
    for i, p in enumerate(["single", "multi", "regression"]):
        grad_case("tiny-modernbert", "modernbert", p, WORD, 3000 + i, attn_implementation="eager")
    grad_case("tiny-modernbert-mean", "modernbert-mean", "single", WORD, 3003, attn_implementation="eager")
    adamw_case()
