#!/usr/bin/python3
"""PyTorch reference values for the bertc trainer (backward pass + AdamW).

Writes tests/data/train/:
  grad-<arch>-<problem>.safetensors  (arch: distilbert|bert|roberta, problem: single|multi|regression)
  adamw-distilbert.safetensors
  README.md

Run with Debian's python3-torch (1.13) and transformers 4.45.2 from PyPI (4.40 ships tokenizers 0.19,
which cannot read tiny-roberta's tokenizer.json):
  /usr/bin/python3 tools/make_train_refs.py
The test suite reads the committed files, never Python.
"""
import csv
import os
import sys

import torch
import transformers
from safetensors.torch import save_file, load_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer, get_linear_schedule_with_warmup
from transformers.pytorch_utils import ALL_LAYERNORM_LAYERS
from transformers.trainer_pt_utils import get_parameter_names

transformers.logging.set_verbosity_error()

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(DATA, "train")

ARCHS = ["distilbert", "bert", "roberta"]
PROBLEMS = ["single", "multi", "regression"]
FIXTURE = {a: os.path.join(DATA, "tiny-" + a) for a in ARCHS}
HEAD = {"distilbert": "classifier", "bert": "classifier", "roberta": "classifier.out_proj"}
WORD = {
    "distilbert": "distilbert.embeddings.word_embeddings.weight",
    "bert": "bert.embeddings.word_embeddings.weight",
    "roberta": "roberta.embeddings.word_embeddings.weight",
}
# which inputs each model's forward() accepts (DistilBERT has no token_type_ids)
USES_TT = {"distilbert": False, "bert": True, "roberta": True}

TEXTS = [
    "a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "it 's a charming and often affecting journey , and a wonderful film about the struggles of everyday people "
    "whose lives are made richer .",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's austere "
    "locales .",
]
BERT_PAIR = (1, "a gorgeous , witty , seductive movie .")  # bert arch: input index 1 becomes a pair

torch.set_default_dtype(torch.float32)


def tokenize(tok, texts):
    """One padded batch + the unpadded concatenation (input_ids, lengths, token_type_ids) as int32."""
    enc = tok(texts, truncation=True, max_length=128, padding=True, return_tensors="pt")
    am = enc["attention_mask"]
    tt = enc.get("token_type_ids")
    if tt is None:
        tt = torch.zeros_like(enc["input_ids"])
    lengths = am.sum(1)
    ids = torch.cat([enc["input_ids"][i, : lengths[i]] for i in range(len(texts))])
    tts = torch.cat([tt[i, : lengths[i]] for i in range(len(texts))])
    # right padding assumed: every real token precedes every pad
    for i in range(len(texts)):
        assert am[i, : lengths[i]].all() and not am[i, lengths[i]:].any()
    return enc, ids.to(torch.int32), lengths.to(torch.int32), tts.to(torch.int32)


def model_inputs(arch, enc):
    d = {"input_ids": enc["input_ids"], "attention_mask": enc["attention_mask"]}
    if USES_TT[arch] and "token_type_ids" in enc:
        d["token_type_ids"] = enc["token_type_ids"]
    return d


def c(t):
    return t.detach().contiguous().clone()


def grad_case(case_index, arch, problem):
    if problem == "single":
        L, P = (3 if arch == "roberta" else 2), "single_label_classification"
    elif problem == "multi":
        L, P = 3, "multi_label_classification"
    else:
        L, P = 1, "regression"
    model = AutoModelForSequenceClassification.from_pretrained(
        FIXTURE[arch], num_labels=L, problem_type=P, ignore_mismatched_sizes=True, torch_dtype=torch.float32
    )
    model = model.float()
    tok = AutoTokenizer.from_pretrained(FIXTURE[arch])
    assert tok.is_fast

    head = model.get_submodule(HEAD[arch])
    torch.manual_seed(1000 + case_index)
    with torch.no_grad():
        head.weight.normal_(0.0, 0.5)
        head.bias.normal_(0.0, 0.1)
    model.eval()

    texts = list(TEXTS)
    if arch == "bert":
        i, p = BERT_PAIR
        # tokenizer needs a pair for every element or none: encode pairs one by one, then pad together
        encs = []
        for j, t in enumerate(texts):
            if j == i:
                encs.append(tok(t, p, truncation=True, max_length=128))
            else:
                encs.append(tok(t, truncation=True, max_length=128))
        enc = tok.pad(encs, padding=True, return_tensors="pt")
        am = enc["attention_mask"]
        lengths = am.sum(1)
        ids = torch.cat([enc["input_ids"][k, : lengths[k]] for k in range(4)]).to(torch.int32)
        tts = torch.cat([enc["token_type_ids"][k, : lengths[k]] for k in range(4)]).to(torch.int32)
        lengths = lengths.to(torch.int32)
        assert (tts == 1).any()
    else:
        enc, ids, lengths, tts = tokenize(tok, texts)

    if problem == "single":
        labels = torch.tensor([2, 0, 1, 2] if arch == "roberta" else [1, 0, 1, 1], dtype=torch.long)
        labels_store = labels.to(torch.int32)
    elif problem == "multi":
        labels = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32)
        labels_store = labels
    else:
        labels = torch.tensor([0.7, -0.3, 1.5, 0.2], dtype=torch.float32)
        labels_store = labels

    model.zero_grad(set_to_none=True)
    out = model(**model_inputs(arch, enc), labels=labels)
    assert model.config.problem_type == P
    out.loss.backward()

    sd_names = set(model.state_dict().keys())
    t = {
        "input_ids": ids,
        "lengths": lengths,
        "token_type_ids": tts,
        "labels": c(labels_store),
        "loss": c(out.loss.reshape(1)),
        "logits": c(out.logits),
    }
    for n, v in model.state_dict().items():
        if n.startswith(HEAD[arch] + "."):
            t["init." + n] = c(v)
    rows = torch.unique(ids.long())  # sorted
    t["grad_rows"] = rows.to(torch.int32)
    gnorm2 = 0.0
    for n, p in model.named_parameters():
        assert n in sd_names, n
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        gnorm2 += float(g.double().pow(2).sum())
        if n == WORD[arch]:
            mask = torch.ones(g.shape[0], dtype=torch.bool)
            mask[rows] = False
            assert (g[mask] == 0).all(), "word-embedding gradient outside the used rows"
            t["grad." + n] = c(g[rows])
        else:
            t["grad." + n] = c(g)
    assert WORD[arch] in dict(model.named_parameters())
    path = os.path.join(OUT, f"grad-{arch}-{problem}.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    os.chmod(path, 0o644)
    return path, float(out.loss), gnorm2 ** 0.5


def adamw_case():
    arch = "distilbert"
    model = AutoModelForSequenceClassification.from_pretrained(FIXTURE[arch], torch_dtype=torch.float32).float()
    assert model.config.num_labels == 2
    model.config.problem_type = None  # let transformers pick single_label_classification from long labels
    tok = AutoTokenizer.from_pretrained(FIXTURE[arch])
    model.eval()

    with open(os.path.join(DATA, "sst2-dev.tsv"), newline="") as f:
        rd = csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)
        rows = [next(rd) for _ in range(8)]
    sents = [r["sentence"] for r in rows]
    labs = [int(r["label"]) for r in rows]

    # Trainer.create_optimizer's grouping (transformers 4.40: Trainer.get_decay_parameter_names)
    decay = get_parameter_names(model, ALL_LAYERNORM_LAYERS)
    decay = [n for n in decay if "bias" not in n]
    if hasattr(transformers.Trainer, "get_decay_parameter_names"):
        assert transformers.Trainer.get_decay_parameter_names(None, model) == decay
    groups = [
        {"params": [p for n, p in model.named_parameters() if n in decay and p.requires_grad], "weight_decay": 0.01},
        {"params": [p for n, p in model.named_parameters() if n not in decay and p.requires_grad],
         "weight_decay": 0.0},
    ]
    opt = torch.optim.AdamW(groups, lr=5e-4, betas=(0.9, 0.999), eps=1e-8)
    sched = get_linear_schedule_with_warmup(opt, num_warmup_steps=2, num_training_steps=5)

    _, all_ids, all_len, all_tt = tokenize(tok, sents)
    batches = [(0, 3), (3, 6), (6, 8), (0, 3), (3, 6)]
    word = dict(model.named_parameters())[WORD[arch]]
    used = torch.unique(all_ids.long())
    unused = torch.ones(word.shape[0], dtype=torch.bool)
    unused[used] = False
    unused[model.config.pad_token_id] = False
    cand = torch.nonzero(unused).flatten()
    untouched = int(cand[len(cand) // 2])  # some id in the middle of the vocabulary that never appears
    initial_untouched = c(word[untouched])

    step_loss, step_gn, step_lr = [], [], []
    for a, b in batches:
        enc, _, _, _ = tokenize(tok, sents[a:b])
        labels = torch.tensor(labs[a:b], dtype=torch.long)
        opt.zero_grad(set_to_none=True)
        out = model(**model_inputs(arch, enc), labels=labels)
        out.loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(model.parameters(), 0.05)
        step_lr.append(sched.get_last_lr()[0])
        assert step_lr[-1] == opt.param_groups[0]["lr"]
        opt.step()
        sched.step()
        step_loss.append(float(out.loss))
        step_gn.append(float(gn))

    t = {
        "input_ids": all_ids,
        "lengths": all_len,
        "token_type_ids": all_tt,
        "labels": torch.tensor(labs, dtype=torch.int32),
        "step_loss": torch.tensor(step_loss, dtype=torch.float32),
        "step_grad_norm": torch.tensor(step_gn, dtype=torch.float32),
        "step_lr": torch.tensor(step_lr, dtype=torch.float32),
        "final_rows": used.to(torch.int32),
        "final_untouched_row": torch.tensor([untouched], dtype=torch.int32),
        "final.untouched": c(word[untouched]),
        "initial.untouched": initial_untouched,
    }
    for n, p in model.named_parameters():
        t["final." + n] = c(p[used]) if n == WORD[arch] else c(p)
    path = os.path.join(OUT, "adamw-distilbert.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    os.chmod(path, 0o644)
    return path, step_loss, step_gn, step_lr, untouched


README = """# Trainer reference values

Made by `/usr/bin/python3 tools/make_train_refs.py` with torch {torch} (Debian bookworm `python3-torch`
1.13.1+dfsg-4) and transformers {tf} (tokenizers {tk}, safetensors {st}) from PyPI, on CPU, float32, model.eval()
(dropout off). `grad-<arch>-<problem>.safetensors` (arch distilbert|bert|roberta from tests/data/tiny-<arch>,
problem single|multi|regression; case index = 3*arch_index + problem_index in that order) hold one forward+backward
of a 4-input padded batch with transformers' own loss for that problem_type: `input_ids`/`token_type_ids` (I32, the
real tokens of the 4 inputs concatenated without padding; bert's input 1 is a text pair), `lengths` (I32 [4]),
`labels` (I32 [4] single, F32 [4,3] multi, F32 [4] regression), `loss` (F32 [1]), `logits` (F32 [4,L]), `init.*`
(the final classifier layer, re-drawn with torch.manual_seed(1000+case) as normal(0,0.5) weight then normal(0,0.1)
bias), `grad.<state_dict name>` for every parameter, except that the word-embedding gradient holds only the rows
listed in `grad_rows` (I32, sorted unique ids; every other row is exactly zero). `adamw-distilbert.safetensors`
replays Trainer's optimizer arithmetic on tiny-distilbert (own 2-label head): AdamW lr 5e-4, betas (0.9,0.999),
eps 1e-8, weight decay 0.01 on Trainer's decay group (not LayerNorm, not bias) and 0 elsewhere, linear schedule with
2 warm-up steps of 5, clip_grad_norm_ 0.05, batches [0:3],[3:6],[6:8],[0:3],[3:6] of the first 8 rows of
tests/data/sst2-dev.tsv; it holds the 8 examples' `input_ids`/`lengths`/`token_type_ids`/`labels`, `step_loss`,
`step_grad_norm` (pre-clip), `step_lr` (the lr used at each step) [5], `final.<name>` for every parameter after 5
steps (word embeddings only at `final_rows`), and `final_untouched_row` with `initial.untouched`/`final.untouched`,
a never-seen word-embedding row before and after (weight decay only).
"""


def main():
    os.makedirs(OUT, exist_ok=True)
    import safetensors
    import tokenizers

    print(f"torch {torch.__version__} transformers {transformers.__version__}", file=sys.stderr)
    paths = []
    i = 0
    for arch in ARCHS:
        for problem in PROBLEMS:
            path, loss, gn = grad_case(i, arch, problem)
            print(f"case {i} {arch:10s} {problem:10s} loss {loss:.6f} grad_norm {gn:.6f}")
            paths.append(path)
            i += 1
    path, sl, sg, lr, un = adamw_case()
    paths.append(path)
    print("adamw step_loss", ["%.6f" % x for x in sl])
    print("adamw step_grad_norm", ["%.6f" % x for x in sg])
    print("adamw step_lr", lr, "untouched row", un)
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(README.format(torch=torch.__version__, tf=transformers.__version__, tk=tokenizers.__version__,
                              st=safetensors.__version__))
    total = 0
    for p in paths:
        d = load_file(p)
        total += os.path.getsize(p)
        print(f"{os.path.relpath(p, ROOT)} {os.path.getsize(p)} bytes, {len(d)} tensors")
    print("total", total, "bytes")


if __name__ == "__main__":
    main()
