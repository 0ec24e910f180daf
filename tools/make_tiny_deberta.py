#!/usr/bin/env python3
"""DeBERTa-v2 / v3 fixtures: a DeBERTa-v3-style tokenizer, tiny checkpoints saved by transformers (random weights,
biases and LayerNorms perturbed so that a missing one shows) and their references.

tests/data/tok-deberta: a SentencePiece Unigram model (nmt_nfkc normalization, so the real Precompiled charsmap;
    3,000 pieces; [PAD] 0, [CLS] 1, [SEP] 2, [UNK] 3 as DeBERTa-v3's spm.model has them) trained here on SST-2 train
    (plus a capitalised copy and the tokenizer fuzzer's words: SST-2 is lower-cased), loaded by
    DebertaV2Tokenizer.from_pretrained from a folder holding spm.model (as microsoft/deberta-v3-* ship it; [MASK] is
    added after the pieces, id 3000) and saved: tokenizer.json as transformers' converter writes it (Precompiled,
    Strip, Replace(" {2,}"), Metaspace, Unigram, [CLS] $A [SEP] / [CLS] $A [SEP] $B [SEP]) and tokenizer_config.json.
tests/data/tok-deberta.ref.jsonl: the fast tokenizer's input_ids and token_type_ids (truncation to 512) on the
    fixture texts, pairs, and all 872 SST-2 dev sentences (tests/data/sst2-dev.tsv).
tests/data/tiny-deberta: DebertaV2ForSequenceClassification as deberta-v3 is configured (relative_attention,
    position_buckets 256, max_relative_positions -1 (512), pos_att_type p2c|c2p, share_att_key, norm_rel_ebd
    layer_norm, position_biased_input false, type_vocab_size 0), hidden 32, 2 layers, 2 heads, 3 labels; the long text
    (512 tokens) reaches the log buckets (|i - j| > 128).
tests/data/tiny-deberta-var: the other variant: share_att_key false (pos_key_proj), c2p only, embedding_size 16 !=
    hidden 32 (embed_proj), position_biased_input true, type_vocab_size 2, position_buckets 16 with
    max_relative_positions 64 (log buckets from |i - j| > 8), norm_rel_ebd none, 4 heads, hidden_act gelu_new,
    pooler_hidden_act tanh, 2 labels.
tests/data/tiny-deberta-nob: p2c only, share_att_key false (pos_query_proj), no buckets (position_buckets -1,
    max_relative_positions 128: relative positions clamped beyond +-128), layer_norm_eps 1e-5.
  Each with NAME.ref.jsonl (text, input_ids, logits, scores, label) and NAME.ref.hidden.safetensors
  (last_hidden_state.i and embeddings.i, the embedding LayerNorm's output, for every 5th text).
tests/data/tiny-{ner,qa,mlm,mlm-legacy,nli}-deberta: DebertaV2ForTokenClassification (9 NER labels),
    ForQuestionAnswering, ForMaskedLM with legacy false (lm_predictions.lm_head.*, what current configs save) and
    legacy true (cls.predictions.*), ForSequenceClassification with NLI labels (contradiction, neutral, entailment)
    — all tiny-deberta's architecture at hidden 8 / 12 / 16; their tokenizer files (and the tiny-deberta* ones) are
    relative symlinks to ../tok-deberta.
tests/data/tiny-deberta-heads.ref.json: their raw outputs (token-classification and QA logits of every token,
    masked-LM logits of the 64 best ids at each [MASK], fill-mask's top 5) and transformers' zero-shot-classification pipeline on tiny-nli-deberta.

Made with PyPI torch 2.15.0, transformers 5.25.0, tokenizers 0.23.3, sentencepiece 0.2.3 (/work/venv-torch):
    /work/venv-torch/bin/python tools/make_tiny_deberta.py
"""
import json
import os
import random
import shutil
import sys
import tempfile

import sentencepiece as spm
import torch
from safetensors.torch import save_file
from transformers import (DebertaV2Config, DebertaV2ForMaskedLM, DebertaV2ForQuestionAnswering,
                          DebertaV2ForSequenceClassification, DebertaV2ForTokenClassification, DebertaV2Tokenizer,
                          pipeline)
from transformers.utils import logging

logging.set_verbosity_error()
ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
D = os.path.join(ROOT, "tests", "data")
sys.path.insert(0, os.path.join(ROOT, "tests", "tokfuzz"))
import tokfuzz  # noqa: E402

TRAIN = os.path.join(ROOT, "..", "shared", "data", "sst2", "train.tsv")
if not os.path.exists(TRAIN):
    TRAIN = "/work/shared/data/sst2/train.tsv"
TOK = os.path.join(D, "tok-deberta")

# ---- the tokenizer ----
lines = [line.split("\t")[0] for line in open(TRAIN, encoding="utf-8").read().split("\n")[1:] if line]
r = random.Random(7)
caps = [" ".join(w.capitalize() if r.random() < 0.3 else w for w in s.split()) for s in lines[:20000]]
with tempfile.TemporaryDirectory() as wd:
    with open(os.path.join(wd, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:30000] + caps + tokfuzz.WORDS * 20))
    spm.SentencePieceTrainer.train(input=os.path.join(wd, "train.txt"), model_prefix=os.path.join(wd, "spm"),
                                   vocab_size=3000, model_type="unigram", character_coverage=0.9995,
                                   normalization_rule_name="nmt_nfkc", pad_id=0, pad_piece="[PAD]", bos_id=1,
                                   bos_piece="[CLS]", eos_id=2, eos_piece="[SEP]", unk_id=3, unk_piece="[UNK]",
                                   num_threads=1, minloglevel=2)
    hub = os.path.join(wd, "hub")
    os.makedirs(hub)
    shutil.copy(os.path.join(wd, "spm.model"), os.path.join(hub, "spm.model"))
    with open(os.path.join(hub, "tokenizer_config.json"), "w") as f:
        json.dump({"do_lower_case": False, "vocab_type": "spm"}, f)
    tok = DebertaV2Tokenizer.from_pretrained(hub)
    os.makedirs(TOK, exist_ok=True)
    tok.save_pretrained(wd + "/saved")
    for f in ("tokenizer.json", "tokenizer_config.json"):
        shutil.copy(os.path.join(wd, "saved", f), os.path.join(TOK, f))
tok = DebertaV2Tokenizer.from_pretrained(TOK)
assert tok.convert_tokens_to_ids("[MASK]") == 3000 and tok.cls_token_id == 1 and tok.sep_token_id == 2

texts = [json.loads(line)["text"] for line in open(os.path.join(D, "tiny-roberta.ref.jsonl"), encoding="utf-8")]
texts += ["Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "이 영화 정말 좋아요", "Der Film war großartig.",
          "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "סרט מצוין", "यह फिल्म बहुत अच्छी है।", "ภาพยนตร์เรื่องนี้ดีมาก",
          "Ταινία εξαιρετική!", "Film çok güzeldi, İstanbul'da izledim.", "Phim này rất hay", "ＦＵＬＬＷＩＤＴＨ ﬁne ½",
          "emoji 👍🏽🇫🇷 ok", "tab\tand\nnewline", "  leading and  double  spaces  ", "naïve café résumé", "x[MASK] y",
          "Ǆemal ǅemal ǆemal", "A [MASK]ed word [CLS] and [SEP] inside", "\u00a0nbsp\u2003em space\u200bzero width",
          "Ｈｅｌｌｏ　ｗｏｒｌｄ", "ﬀ ﬃ ™ ℌ ①②③", "e\u0301 vs é"]
sst2 = [line.split("\t")[0] for line in open(os.path.join(D, "sst2-dev.tsv"), encoding="utf-8").read().split("\n")[1:]
        if line]
pairs = [("A man is playing a guitar.", "Someone plays music."), ("", "empty first"), ("naïve café", "ＦＵＬＬ width"),
         (texts[0], texts[1]), ("x " * 300, "the pair is truncated longest first")]
with open(os.path.join(D, "tok-deberta.ref.jsonl"), "w", encoding="utf-8") as f:
    for t in texts + sst2:
        e = tok(t, truncation=True, max_length=512)
        f.write(json.dumps({"text": t, "input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"]},
                           ensure_ascii=False) + "\n")
    for a, b in pairs:
        e = tok(a, b, truncation=True, max_length=512)
        f.write(json.dumps({"text": a, "pair": b, "input_ids": e["input_ids"], "token_type_ids": e["token_type_ids"]},
                           ensure_ascii=False) + "\n")


# ---- the checkpoints ----
def perturb(model, scale=0.2):
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith("bias") or "LayerNorm" in n:
                p.add_(torch.randn(p.shape, generator=g) * scale)


def build(name, cls, hidden, heads=2, **kw):
    out = os.path.join(D, name)
    os.makedirs(out, exist_ok=True)
    for f in ("tokenizer.json", "tokenizer_config.json"):  # relative symlinks, as tiny-nli-* have them
        p = os.path.join(out, f)
        if os.path.lexists(p):
            os.remove(p)
        os.symlink(os.path.join("..", "tok-deberta", f), p)
    base = dict(vocab_size=len(tok), hidden_size=hidden, num_hidden_layers=2, num_attention_heads=heads,
                intermediate_size=2 * hidden, max_position_embeddings=512, initializer_range=0.3,
                relative_attention=True, position_buckets=256, max_relative_positions=-1, pos_att_type="p2c|c2p",
                share_att_key=True, norm_rel_ebd="layer_norm", position_biased_input=False, type_vocab_size=0,
                hidden_act="gelu", layer_norm_eps=1e-7, pad_token_id=0)
    base.update(kw)
    torch.manual_seed(0)
    model = cls(DebertaV2Config(**base)).eval()
    perturb(model)
    model.save_pretrained(out, safe_serialization=True)
    from safetensors import safe_open
    with safe_open(os.path.join(out, "model.safetensors"), "pt") as st:
        print(name, sorted(k for k in st.keys() if "layer.1." not in k))
    return out, model


def refs(name, model, labels):
    rows, hidden = [], {}
    with torch.no_grad():
        for i, t in enumerate(texts):
            enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
            o = model(**enc, output_hidden_states=True)
            logits = o.logits[0]
            scores = torch.softmax(logits, -1)
            k = int(scores.argmax())
            rows.append({"i": i, "text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist(),
                         "scores": scores.tolist(), "label": labels[k], "score": float(scores[k])})
            if i % 5 == 0:
                hidden[f"last_hidden_state.{i}"] = o.hidden_states[-1][0].contiguous()
                hidden[f"embeddings.{i}"] = o.hidden_states[0][0].contiguous()
    with open(os.path.join(D, name + ".ref.jsonl"), "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    save_file(hidden, os.path.join(D, name + ".ref.hidden.safetensors"))
    print(f"{name}: {len(rows)} references, longest {max(len(r['input_ids']) for r in rows)} tokens")


L3 = {0: "negative", 1: "neutral", 2: "positive"}
_, m = build("tiny-deberta", DebertaV2ForSequenceClassification, 32, id2label=L3, label2id={v: k for k, v in L3.items()})
refs("tiny-deberta", m, L3)
L2 = {0: "NEGATIVE", 1: "POSITIVE"}
_, m = build("tiny-deberta-var", DebertaV2ForSequenceClassification, 32, heads=4, id2label=L2,
             label2id={v: k for k, v in L2.items()}, share_att_key=False, pos_att_type=["c2p"], embedding_size=16,
             position_biased_input=True, type_vocab_size=2, position_buckets=16, max_relative_positions=64,
             norm_rel_ebd="none", hidden_act="gelu_new", pooler_hidden_act="tanh")
refs("tiny-deberta-var", m, L2)
_, m = build("tiny-deberta-nob", DebertaV2ForSequenceClassification, 32, id2label=L3,
             label2id={v: k for k, v in L3.items()}, share_att_key=False, pos_att_type=["p2c"], position_buckets=-1,
             max_relative_positions=128, layer_norm_eps=1e-5)
refs("tiny-deberta-nob", m, L3)

# ---- heads ----
NER = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-ORG", 4: "I-ORG", 5: "B-LOC", 6: "I-LOC", 7: "B-MISC", 8: "I-MISC"}
NLI = {0: "contradiction", 1: "neutral", 2: "entailment"}
HEAD_TEXTS = ["My name is Wolfgang and I live in Berlin.", "Schwarzenegger visited Kraków in 2019!", texts[-5],
              "a charming and often affecting journey", " ".join(sst2[:8])]
MLM_TEXTS = ["Paris is the [MASK] of France.", "the movie was [MASK] and far too [MASK].", "[MASK]"]
heads = {"versions": {"torch": torch.__version__, "transformers": __import__("transformers").__version__},
         "token": {}, "mlm": {}, "zero_shot": []}
ner_dir, ner = build("tiny-ner-deberta", DebertaV2ForTokenClassification, 8, id2label=NER,
                     label2id={v: k for k, v in NER.items()})
qa_dir, qa = build("tiny-qa-deberta", DebertaV2ForQuestionAnswering, 8)
with torch.no_grad():
    for name, model in (("tiny-ner-deberta", ner), ("tiny-qa-deberta", qa)):
        rows = []
        for t in HEAD_TEXTS:
            enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
            o = model(**enc)
            lg = o.logits[0] if hasattr(o, "logits") else torch.stack([o.start_logits[0], o.end_logits[0]], -1)
            rows.append({"text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": lg.tolist()})
        enc = tok("Where do I live?", "My name is Wolfgang and I live in Berlin.", return_tensors="pt")
        o = model(**enc)
        lg = o.logits[0] if hasattr(o, "logits") else torch.stack([o.start_logits[0], o.end_logits[0]], -1)
        rows.append({"text": "Where do I live?", "pair": "My name is Wolfgang and I live in Berlin.",
                     "input_ids": enc["input_ids"][0].tolist(), "logits": lg.tolist()})
        heads["token"][name] = rows
for name, legacy in (("tiny-mlm-deberta", False), ("tiny-mlm-deberta-legacy", True)):
    _, model = build(name, DebertaV2ForMaskedLM, 12, legacy=legacy)
    rows = []
    with torch.no_grad():
        for t in MLM_TEXTS:
            enc = tok(t, return_tensors="pt")
            ids = enc["input_ids"][0]
            pos = [i for i, v in enumerate(ids.tolist()) if v == tok.mask_token_id]
            lg = model(**enc).logits[0]
            top = lg[pos].topk(64, dim=-1)  # the 64 best ids of each [MASK] row and their logits
            rows.append({"text": t, "input_ids": ids.tolist(), "positions": pos, "top_ids": top.indices.tolist(),
                         "top_logits": top.values.tolist()})
    fm = pipeline("fill-mask", model=os.path.join(D, name), dtype=torch.float32, device="cpu")
    heads["mlm"][name] = {"rows": rows, "fill_mask": fm(MLM_TEXTS[0], top_k=5)}
nli_dir, _ = build("tiny-nli-deberta", DebertaV2ForSequenceClassification, 16, id2label=NLI,
                   label2id={v: k for k, v in NLI.items()})
zs = pipeline("zero-shot-classification", model=nli_dir, dtype=torch.float32, device="cpu")
for c in [{"sequences": "I have a problem with my iphone that needs to be resolved asap!!",
           "candidate_labels": ["urgent", "not urgent", "phone", "tablet", "computer"]},
          {"sequences": "I have a problem with my iphone that needs to be resolved asap!!",
           "candidate_labels": ["urgent", "not urgent", "phone", "tablet", "computer"], "multi_label": True},
          {"sequences": "The match ended in a draw after extra time.", "candidate_labels": ["sports", "politics"],
           "hypothesis_template": "The topic of this text is {}!"},
          {"sequences": "Un café très crème à Zürich — naïve résumé 😀",
           "candidate_labels": ["food and drink", "café", "Zürich", "日本語", "emoji 😀", "travel plans"]}]:
    kw = {k: v for k, v in c.items() if k != "sequences"}
    heads["zero_shot"].append({**c, "output": zs(c["sequences"], **kw)})
with open(os.path.join(D, "tiny-deberta-heads.ref.json"), "w", encoding="utf-8") as f:
    json.dump(heads, f, ensure_ascii=False)
    f.write("\n")
print("wrote tok-deberta, tiny-deberta{,-var,-nob}, tiny-{ner,qa,mlm,mlm-legacy,nli}-deberta and their references")
