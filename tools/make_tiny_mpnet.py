#!/usr/bin/env python3
"""tests/data/tiny-mpnet*: tiny MPNet checkpoints (random weights) and their references, for bertc's MPNet.

Tokenizer: all-mpnet-base-v2's tokenizer.json (BertNormalizer lowercase, BertPreTokenizer, WordPiece with [UNK],
RobertaProcessing <s> ... </s>, its truncation / padding blocks kept) with its vocabulary cut down to the tokens
that tokenizer gives on the texts below and on all of SST-2 dev (tests/data/sst2-dev.tsv), the special tokens and
the ASCII characters (with their ## forms), renumbered in the original order. WordPiece's greedy longest match
gives the same pieces over a sub-vocabulary that holds every piece the full one chose, so the tiny tokenizer's
ids are the full one's mapped: the script checks it on every text (and writes tiny-mpnet.tokref.jsonl: SST-2 dev's
sentences with the ids the full fast tokenizer gives, renumbered; gzip).

Checkpoints (torch.manual_seed(0); hidden 16, 2 layers, 4 heads, intermediate 32, max_position_embeddings 514,
layer_norm_eps 1e-5, initializer_range 0.2; every bias and LayerNorm perturbed by N(0, 0.1) added, and
encoder.relative_attention_bias drawn N(0, 1) so a wrong bucket shows):
  tests/data/tiny-mpnet       MPNetForSequenceClassification, 3 labels (negative, neutral, positive), single-label;
      tiny-mpnet.ref.jsonl (text, input_ids, logits, softmax scores, label) over tiny-roberta's texts (edge cases,
      SST-2 dev, a 700-word text truncated to 512 tokens: offsets up to 511 reach every bucket) and odd Unicode;
      tiny-mpnet.ref.hidden.safetensors: last_hidden_state.i / embeddings.i for every 5th text.
  tests/data/tiny-ner-mpnet   MPNetForTokenClassification (9 BIO labels), tiny-qa-mpnet MPNetForQuestionAnswering,
  tests/data/tiny-mlm-mpnet   MPNetForMaskedLM (tied decoder: lm_head.decoder.weight not saved), each with
      <name>.ref.json (versions; cases: input, input_ids, and for the masked LM the masked rows) and
      <name>.ref.safetensors (logits.i: case i's raw logits: token classification [T, 9], QA [T, 2] start | end,
      masked LM [masked rows, vocab]).
  tests/data/train/grad-mpnet-{single,multi,regression}.safetensors: tools/make_train_refs.py's gradient references
      (its format, texts and labels) for tiny-mpnet, relative_attention_bias's gradient included.
The tokenizer files of the head checkpoints are symlinks to tiny-mpnet's.

Made with PyPI torch 2.15.0 and transformers 5.25.0 (/work/venv-torch):
    /work/venv-torch/bin/python tools/make_tiny_mpnet.py"""
import csv
import gzip
import json
import os
import string

import torch
import transformers
from safetensors.torch import save_file
from tokenizers import Tokenizer
from transformers import (AutoTokenizer, MPNetConfig, MPNetForMaskedLM, MPNetForQuestionAnswering,
                          MPNetForSequenceClassification, MPNetForTokenClassification)

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
FULL = "/work/models/all-mpnet-base-v2"
OUT = os.path.join(D, "tiny-mpnet")

texts = [json.loads(line)["text"] for line in open(os.path.join(D, "tiny-roberta.ref.jsonl"), encoding="utf-8")]
texts += ["Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "이 영화 정말 좋아요", "Der Film war großartig.",
          "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "סרט מצוין", "यह फिल्म बहुत अच्छी है।", "ภาพยนตร์เรื่องนี้ดีมาก",
          "Ταινία εξαιρετική!", "Film çok güzeldi, İstanbul'da izledim.", "Phim này rất hay", "ＦＵＬＬＷＩＤＴＨ ﬁne ½",
          "emoji 👍🏽🇫🇷 ok", "tab\tand\nnewline", "  leading and  double  spaces  ", "naïve café résumé", "x<mask> y",
          "Ǆemal ǅemal ǆemal", "unknown [UNK] <unk> </s> <s> tokens", "ÀÉÎÕÜ ß ǅ İ", "\u200bzero\u200dwidth\ufeff"]
with open(os.path.join(D, "sst2-dev.tsv"), encoding="utf-8") as f:
    sst2 = [r["sentence"] for r in csv.DictReader(f, delimiter="\t", quoting=csv.QUOTE_NONE)]
NER_TEXTS = ["Angela Merkel met Emmanuel Macron in Paris, France, on Tuesday.", "unbelievably", "x",
             "Zoë and François drank café au lait in São Paulo."]
QA = [("Where do I live?", "My name is Wolfgang and I live in Berlin."),
      ("Who founded the company?", "The company was founded in 1998 by Larry Page and Sergey Brin.")]
MLM_TEXTS = ["Paris is the <mask> of France.", "the movie was <mask> and <mask> .", "<mask>"]

# ---- the tiny tokenizer ----
full_tok = AutoTokenizer.from_pretrained(FULL)
tj = json.load(open(os.path.join(FULL, "tokenizer.json"), encoding="utf-8"))
vocab = tj["model"]["vocab"]
inv = {i: t for t, i in vocab.items()}
used = set(range(4)) | {a["id"] for a in tj["added_tokens"]}
all_texts = texts + sst2 + NER_TEXTS + [q for p in QA for q in p] + MLM_TEXTS
for t in all_texts:
    used.update(full_tok(t)["input_ids"])
for ch in string.printable.strip():
    for w in (ch.lower(), "##" + ch.lower()):
        if w in vocab:
            used.add(vocab[w])
keep = sorted(used)
new_id = {old: i for i, old in enumerate(keep)}
tj["model"]["vocab"] = {inv[old]: i for i, old in enumerate(keep)}
for a in tj["added_tokens"]:
    a["id"] = new_id[a["id"]]
pp = tj["post_processor"]
pp["sep"][1] = new_id[pp["sep"][1]]
pp["cls"][1] = new_id[pp["cls"][1]]
tj["padding"]["pad_id"] = new_id[tj["padding"]["pad_id"]]
os.makedirs(OUT, exist_ok=True)
with open(os.path.join(OUT, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(tj, f, ensure_ascii=False, indent=2)
tc = json.load(open(os.path.join(FULL, "tokenizer_config.json"), encoding="utf-8"))
tc.pop("name_or_path", None)
with open(os.path.join(OUT, "tokenizer_config.json"), "w", encoding="utf-8") as f:
    json.dump(tc, f, indent=2)
tok = AutoTokenizer.from_pretrained(OUT)
V = len(tj["model"]["vocab"])
for t in all_texts:  # the tiny tokenizer's ids are the full one's, renumbered
    a, b = full_tok(t, truncation=True, max_length=512)["input_ids"], tok(t, truncation=True, max_length=512)["input_ids"]
    assert [new_id[i] for i in a] == b, t
with gzip.GzipFile(os.path.join(D, "tiny-mpnet.tokref.jsonl.gz"), "wb", mtime=0) as f:
    for t in sst2:
        f.write((json.dumps({"text": t, "ids": [new_id[i] for i in full_tok(t)["input_ids"]]}, ensure_ascii=False)
                 + "\n").encode("utf-8"))


def config(**kw):
    return MPNetConfig(vocab_size=V, hidden_size=16, num_hidden_layers=2, num_attention_heads=4, intermediate_size=32,
                       max_position_embeddings=514, layer_norm_eps=1e-5, initializer_range=0.2, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, **kw)


def perturb(model):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("relative_attention_bias.weight"):
                p.copy_(torch.randn(p.shape, generator=g))
            elif n.endswith(".bias") or "LayerNorm" in n or "layer_norm" in n:
                p.add_(0.1 * torch.randn(p.shape, generator=g))
    return model


def save(model, out):
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):
        p = os.path.join(out, f)
        if out != OUT:
            if os.path.lexists(p):
                os.remove(p)
            os.symlink(os.path.join("..", "tiny-mpnet", f), p)


# ---- sequence classification ----
torch.manual_seed(0)
cfg = config(id2label={0: "negative", 1: "neutral", 2: "positive"}, label2id={"negative": 0, "neutral": 1, "positive": 2})
model = perturb(MPNetForSequenceClassification(cfg)).eval()
save(model, OUT)
rows, hidden = [], {}
with torch.no_grad():
    for i, t in enumerate(texts):
        enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
        o = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"], output_hidden_states=True)
        logits = o.logits[0]
        scores = torch.softmax(logits, -1)
        k = int(scores.argmax())
        rows.append({"i": i, "text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist(),
                     "scores": scores.tolist(), "label": cfg.id2label[k], "score": float(scores[k])})
        if i % 5 == 0:
            hidden[f"last_hidden_state.{i}"] = o.hidden_states[-1][0].contiguous()
            hidden[f"embeddings.{i}"] = o.hidden_states[0][0].contiguous()
    # a padded batch equals the single runs (transformers' own consistency: the references are single runs)
    enc = tok(texts[:8], truncation=True, max_length=512, padding=True, return_tensors="pt")
    lb = model(**{k: enc[k] for k in ("input_ids", "attention_mask")}).logits
    assert torch.allclose(lb, torch.tensor([r["logits"] for r in rows[:8]]), atol=1e-5)
with open(os.path.join(D, "tiny-mpnet.ref.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
save_file(hidden, os.path.join(D, "tiny-mpnet.ref.hidden.safetensors"))
print(f"wrote {OUT} (vocab {V}, {sum(p.numel() for p in model.parameters())} parameters) and {len(rows)} references")

# ---- heads ----
LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def head_ref(name, model, inputs, encode, pick=None):
    out = os.path.join(D, name)
    save(model, out)
    ref = {"versions": {"torch": torch.__version__, "transformers": transformers.__version__}, "cases": []}
    logits = {}
    with torch.no_grad():
        for inp in inputs:
            enc = encode(inp)
            o = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"])
            case = {"input": inp, "input_ids": enc["input_ids"][0].tolist()}
            if pick is None:
                lg = o.logits if hasattr(o, "logits") and o.logits is not None else None
                if lg is None:  # question answering: start, end per token
                    lg = torch.stack([o.start_logits[0], o.end_logits[0]], -1)
                else:
                    lg = lg[0]
            else:
                rows_ = pick(enc["input_ids"][0])
                case["rows"] = rows_
                lg = o.logits[0][rows_]
            logits[f"logits.{len(ref['cases'])}"] = lg.contiguous()
            ref["cases"].append(case)
    save_file(logits, os.path.join(D, name + ".ref.safetensors"))
    with open(os.path.join(D, name + ".ref.json"), "w", encoding="utf-8") as f:
        json.dump(ref, f, ensure_ascii=False)
    print(f"wrote {out}: {sorted(k for k, _ in model.state_dict().items() if not k.startswith('mpnet.encoder.layer'))}")


torch.manual_seed(0)
ner = perturb(MPNetForTokenClassification(config(id2label=dict(enumerate(LABELS)),
                                                 label2id={l: i for i, l in enumerate(LABELS)}))).eval()
head_ref("tiny-ner-mpnet", ner, NER_TEXTS, lambda t: tok(t, return_tensors="pt"))
torch.manual_seed(0)
qa = perturb(MPNetForQuestionAnswering(config())).eval()
head_ref("tiny-qa-mpnet", qa, [list(p) for p in QA], lambda p: tok(p[0], p[1], return_tensors="pt"))
torch.manual_seed(0)
mlm = perturb(MPNetForMaskedLM(config())).eval()
mask_id = tok.mask_token_id
head_ref("tiny-mlm-mpnet", mlm, MLM_TEXTS, lambda t: tok(t, return_tensors="pt"),
         pick=lambda ids: [i for i, x in enumerate(ids.tolist()) if x == mask_id])

# ---- gradients (tests/data/train/grad-mpnet-{single,multi,regression}.safetensors) ----
# tools/make_train_refs.py's format and inputs: its four texts as one right-padded batch, dropout off (eval), the
# head's out_proj drawn N(0, 0.5) / N(0, 0.1) (seed 1000 + case), the loss's backward; every parameter's gradient
# (the word embeddings' on the used rows only), relative_attention_bias's included.
TRAIN_TEXTS = [
    "a charming and often affecting journey .",
    "unflinchingly bleak and desperate",
    "it 's a charming and often affecting journey , and a wonderful film about the struggles of everyday people "
    "whose lives are made richer .",
    "the acting , costumes , music , cinematography and sound are all astounding given the production 's austere "
    "locales .",
]
TRAIN = os.path.join(D, "train")
WORD = "mpnet.embeddings.word_embeddings.weight"
for case, problem in enumerate(("single", "multi", "regression")):
    L, P = {"single": (3, "single_label_classification"), "multi": (3, "multi_label_classification"),
            "regression": (1, "regression")}[problem]
    gm = MPNetForSequenceClassification.from_pretrained(OUT, num_labels=L, problem_type=P, ignore_mismatched_sizes=True,
                                                        dtype=torch.float32).float()
    torch.manual_seed(1000 + case)
    with torch.no_grad():
        gm.classifier.out_proj.weight.normal_(0.0, 0.5)
        gm.classifier.out_proj.bias.normal_(0.0, 0.1)
    gm.eval()
    enc = tok(TRAIN_TEXTS, truncation=True, max_length=128, padding=True, return_tensors="pt")
    am = enc["attention_mask"]
    lengths = am.sum(1)
    ids = torch.cat([enc["input_ids"][i, : lengths[i]] for i in range(len(TRAIN_TEXTS))]).to(torch.int32)
    if problem == "single":
        labels = torch.tensor([2, 0, 1, 2], dtype=torch.long)
        store = labels.to(torch.int32)
    elif problem == "multi":
        labels = store = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32)
    else:
        labels = store = torch.tensor([0.7, -0.3, 1.5, 0.2], dtype=torch.float32)
    gm.zero_grad(set_to_none=True)
    o = gm(input_ids=enc["input_ids"], attention_mask=am, labels=labels)
    o.loss.backward()
    t = {"input_ids": ids, "lengths": lengths.to(torch.int32), "token_type_ids": torch.zeros_like(ids),
         "labels": store.detach().clone(), "loss": o.loss.detach().reshape(1).clone(), "logits": o.logits.detach().clone()}
    for n, v in gm.state_dict().items():
        if n.startswith("classifier.out_proj."):
            t["init." + n] = v.detach().contiguous().clone()
    rows = torch.unique(ids.long())
    t["grad_rows"] = rows.to(torch.int32)
    for n, p in gm.named_parameters():
        g = p.grad if p.grad is not None else torch.zeros_like(p)
        t["grad." + n] = (g[rows] if n == WORD else g).detach().contiguous().clone()
    assert "grad.mpnet.encoder.relative_attention_bias.weight" in t
    path = os.path.join(TRAIN, f"grad-mpnet-{problem}.safetensors")
    save_file(t, path, metadata={"format": "pt"})
    os.chmod(path, 0o644)
    print(f"wrote {path}: loss {float(o.loss):.6f}")
