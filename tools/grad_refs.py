"""What the family gradient-reference scripts share (make_deberta_grads.py, make_modernbert_grads.py): the batch, and
one sequence-classification case written in make_train_refs.py's layout: input_ids / lengths / token_type_ids of the
unpadded batch, labels, loss, logits, init.<classifier tensors>, grad_rows and grad.<every parameter> (the word
embeddings' rows that the batch uses). Dropout off (model.eval()), fp32."""
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import AutoModelForSequenceClassification, AutoTokenizer

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(DATA, "train")
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


def grad_case(fixture, name, problem, word, seed, **load):
    """grad-<name>-<problem>.safetensors: the batch of TEXTS through fixture's AutoModelForSequenceClassification
    (num_labels / problem_type set, the classifier re-drawn with torch.manual_seed(seed), load: more from_pretrained
    arguments), its loss and logits and every parameter's gradient (word: the word embeddings, of which only the rows
    the batch uses are kept)."""
    L, P = {"single": (3, "single_label_classification"), "multi": (3, "multi_label_classification"),
            "regression": (1, "regression")}[problem]
    model = AutoModelForSequenceClassification.from_pretrained(
        os.path.join(DATA, fixture), num_labels=L, problem_type=P, ignore_mismatched_sizes=True, dtype=torch.float32,
        **load)
    tok = AutoTokenizer.from_pretrained(os.path.join(DATA, fixture))
    torch.manual_seed(seed)
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
        if n == word:
            mask = torch.ones(g.shape[0], dtype=torch.bool)
            mask[rows] = False
            assert (g[mask] == 0).all()
            g = g[rows]
        t["grad." + n] = c(g)
    path = os.path.join(OUT, f"grad-{name}-{problem}.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    print(path, float(out.loss), lengths.tolist(), len(t))
