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

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(DATA, "train")
WORD = "model.embeddings.tok_embeddings.weight"
TEXTS = [
    "a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "it 's a charming and often affecting journey , and a wonderful film about the struggles of everyday people "
    "whose lives are made richer .",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's austere "
    "locales .",
]


def c(t):
    return t.detach().contiguous().clone()


def case(index, fixture, name, problem):
    L, P = {"single": (3, "single_label_classification"), "multi": (3, "multi_label_classification"),
            "regression": (1, "regression")}[problem]
    model = AutoModelForSequenceClassification.from_pretrained(
        os.path.join(DATA, fixture), num_labels=L, problem_type=P, ignore_mismatched_sizes=True, dtype=torch.float32,
        attn_implementation="eager")
    tok = AutoTokenizer.from_pretrained(os.path.join(DATA, fixture))
    torch.manual_seed(3000 + index)
    with torch.no_grad():
        model.classifier.weight.normal_(0.0, 0.5)
        model.classifier.bias.normal_(0.0, 0.1)
    model.eval()
    enc = tok(TEXTS, truncation=True, max_length=128, padding=True, return_tensors="pt")
    am = enc["attention_mask"]
    lengths = am.sum(1)
    for i in range(len(TEXTS)):
        assert am[i, : lengths[i]].all() and not am[i, lengths[i]:].any()
    ids = torch.cat([enc["input_ids"][i, : lengths[i]] for i in range(len(TEXTS))]).to(torch.int32)
    tts = torch.zeros_like(ids)
    if problem == "single":
        labels = torch.tensor([2, 0, 1, 2], dtype=torch.long)
        store = labels.to(torch.int32)
    elif problem == "multi":
        labels = store = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32)
    else:
        labels = store = torch.tensor([0.7, -0.3, 1.5, 0.2], dtype=torch.float32)
    model.zero_grad(set_to_none=True)
    out = model(input_ids=enc["input_ids"], attention_mask=am, labels=labels)
    assert model.config.problem_type == P
    out.loss.backward()
    t = {"input_ids": ids, "lengths": lengths.to(torch.int32), "token_type_ids": tts, "labels": c(store),
         "loss": c(out.loss.reshape(1)), "logits": c(out.logits)}
    for n, v in model.state_dict().items():
        if n.startswith("classifier."):
            t["init." + n] = c(v)
    rows = torch.unique(ids.long())
    t["grad_rows"] = rows.to(torch.int32)
    for n, p in model.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        if n == WORD:
            mask = torch.ones(g.shape[0], dtype=torch.bool)
            mask[rows] = False
            assert (g[mask] == 0).all()
            g = g[rows]
        t["grad." + n] = c(g)
    path = os.path.join(OUT, f"grad-{name}-{problem}.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    print(path, float(out.loss), lengths.tolist(), len(t))


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
        case(i, "tiny-modernbert", "modernbert", p)
    case(3, "tiny-modernbert-mean", "modernbert-mean", "single")
    adamw_case()
