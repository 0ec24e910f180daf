#!/usr/bin/env python3
"""ModernBERT fixtures: a small ModernBERT-style tokenizer, tiny checkpoints with random weights, and their references.

tests/data/tok-modernbert/: a byte-level BPE tokenizer (PreTrainedTokenizerFast) with the structure of
answerdotai/ModernBERT-base's tokenizer.json — normalizer NFC, pre-tokenizer ByteLevel (add_prefix_space false,
trim_offsets, use_regex), BPE model without unk_token, post-processor TemplateProcessing "[CLS] $A [SEP]" /
"[CLS] $A [SEP] $B:1 [SEP]:1", decoder ByteLevel; special tokens <|padding|>, <|endoftext|>, [UNK], [CLS], [SEP],
[PAD], [MASK] (lstrip) after the vocabulary —, its vocabulary (500 tokens) trained by the tokenizers package on the
SST-2 train sentences (/work/shared/data/sst2/train.tsv). tok-modernbert.ref.jsonl: the fast tokenizer's ids of the
fixture texts and of SST-2 dev (tests/data/sst2-dev.tsv).

Checkpoints (torch.manual_seed per model; initializer_range 0.2; every LayerNorm weight 1 + 0.2 N(0,1) and every
bias 0.2 N(0,1) so that a missing one shows; hidden 32, 2 heads, intermediate 48, 3 layers, max_position_embeddings
8192; saved by save_pretrained, which writes layer_types and rope_parameters):
  tiny-modernbert         ModernBertForSequenceClassification, 3 labels; norm_bias, attention_bias, mlp_bias,
                          classifier_bias true; classifier_pooling cls; global every 2 layers (0 and 2 global, 1 local);
                          local_attention 8 (a token sees 4 each side); hidden_activation gelu.
  tiny-modernbert-mean    the same class, 3 labels; every bias false (as ModernBERT-base); classifier_pooling mean;
                          global every 3 layers (0 global, 1 and 2 local); local_attention 16; hidden_activation
                          gelu_pytorch_tanh, classifier_activation relu; rope thetas 50000 (global) and 5000 (local).
  tiny-ner-modernbert     ModernBertForTokenClassification, 5 labels (tiny-modernbert's settings).
  tiny-qa-modernbert      ModernBertForQuestionAnswering (num_labels 2).
  tiny-mlm-modernbert     ModernBertForMaskedLM, decoder tied to the embeddings, decoder.bias (decoder_bias true).
References (eager attention on the CPU; the script checks that sdpa gives the same to 1e-5):
  tiny-modernbert{,-mean}.ref.jsonl / .ref.hidden.safetensors: check_fixture's format (text, input_ids, logits,
      scores, label; last_hidden_state.i and embeddings.i for every 5th text).
  tiny-modernbert.heads.ref.json: per-token logits of the token-classification and QA models (QA on question /
      context pairs) and the masked LM's logits at the [MASK] rows, with input_ids.
  tiny-modernbert.long.ref.json: one long text (SST-2 dev sentences joined, about 6,000 tokens), its input_ids,
      logits and rows 0-3, 2998-3001 and the last 4 of the last hidden state, for tiny-modernbert (window 4) and
      tiny-modernbert-mean (window 8).
With --st (run after the above): tests/data/tiny-modernbert-st, a sentence-transformers folder over
tiny-modernbert-mean's files (relative symlinks; modules.json: Transformer, Pooling mean, Normalize;
max_seq_length 8192), and tiny-modernbert-st.ref.json: SentenceTransformer(folder, device="cpu").encode() of a few
texts (sentence-transformers 6.3.0, same venv; the version is in the file).
Made with PyPI torch 2.15.0+cu132 (CPU), transformers 5.25.0, tokenizers 0.23.3 (/work/venv-torch):
    nice -n 10 /work/venv-torch/bin/python tools/make_tiny_modernbert.py"""
import json
import os

import torch
from safetensors.torch import save_file
from tokenizers import AddedToken, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers
from transformers import (AutoTokenizer, ModernBertConfig, ModernBertForMaskedLM, ModernBertForQuestionAnswering,
                          ModernBertForSequenceClassification, ModernBertForTokenClassification)

D = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "data")
SST2 = "/work/shared/data/sst2/train.tsv"
SPECIALS = ["<|padding|>", "<|endoftext|>", "[UNK]", "[CLS]", "[SEP]", "[PAD]", "[MASK]"]


def sst2(path):
    with open(path, encoding="utf-8") as f:
        next(f)
        return [line.rstrip("\n").split("\t")[0] for line in f]


def make_tokenizer():
    out = os.path.join(D, "tok-modernbert")
    os.makedirs(out, exist_ok=True)
    tk = Tokenizer(models.BPE(unk_token=None, fuse_unk=False, byte_fallback=False))
    tk.normalizer = normalizers.NFC()
    tk.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)
    tk.decoder = decoders.ByteLevel(add_prefix_space=True, trim_offsets=True, use_regex=True)
    trainer = trainers.BpeTrainer(vocab_size=500, initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  special_tokens=[], show_progress=False)
    tk.train_from_iterator(sst2(SST2), trainer)
    tk.add_special_tokens([AddedToken(s, special=True, normalized=False, lstrip=(s == "[MASK]")) for s in SPECIALS])
    cls, sep = tk.token_to_id("[CLS]"), tk.token_to_id("[SEP]")
    tk.post_processor = processors.TemplateProcessing(single="[CLS]:0 $A:0 [SEP]:0",
                                                      pair="[CLS]:0 $A:0 [SEP]:0 $B:1 [SEP]:1",
                                                      special_tokens=[("[CLS]", cls), ("[SEP]", sep)])
    tk.save(os.path.join(out, "tokenizer.json"))
    tc = {"clean_up_tokenization_spaces": True, "cls_token": "[CLS]", "mask_token": "[MASK]",
          "model_input_names": ["input_ids", "attention_mask"], "model_max_length": 8192, "pad_token": "[PAD]",
          "sep_token": "[SEP]", "tokenizer_class": "PreTrainedTokenizerFast", "unk_token": "[UNK]"}
    with open(os.path.join(out, "tokenizer_config.json"), "w") as f:
        json.dump(tc, f, indent=2)
    return out


def texts_for_fixture():
    texts = [json.loads(line)["text"] for line in open(os.path.join(D, "tiny-roberta.ref.jsonl"), encoding="utf-8")]
    texts += ["Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "Der Film war großartig.",
              "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "ＦＵＬＬＷＩＤＴＨ ﬁne ½", "emoji 👍🏽🇫🇷 ok",
              "tab\tand\nnewline", "  leading and  double  spaces  ", "naïve café résumé", "x [MASK] y [CLS]",
              "e\u0301t\u00e9 NFC-or-not: A\u030a vs \u00c5", "Ǆemal ǅemal ǆemal", "[PAD][SEP]<|endoftext|>"]
    return texts


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.copy_(0.2 * torch.randn(p.shape, generator=g))
            elif "norm" in name:
                p.copy_(1 + 0.2 * torch.randn(p.shape, generator=g))


def config(tok, **kw):
    base = dict(vocab_size=len(tok), hidden_size=32, intermediate_size=48, num_hidden_layers=3, num_attention_heads=2,
                max_position_embeddings=8192, initializer_range=0.2, pad_token_id=tok.convert_tokens_to_ids("[PAD]"),
                bos_token_id=tok.convert_tokens_to_ids("[CLS]"), eos_token_id=tok.convert_tokens_to_ids("[SEP]"),
                cls_token_id=tok.convert_tokens_to_ids("[CLS]"), sep_token_id=tok.convert_tokens_to_ids("[SEP]"))
    base.update(kw)
    return ModernBertConfig(**base)


A = dict(norm_bias=True, attention_bias=True, mlp_bias=True, classifier_bias=True, classifier_pooling="cls",
         global_attn_every_n_layers=2, local_attention=8, hidden_activation="gelu")
B = dict(norm_bias=False, attention_bias=False, mlp_bias=False, classifier_bias=False, classifier_pooling="mean",
         global_attn_every_n_layers=3, local_attention=16, hidden_activation="gelu_pytorch_tanh",
         classifier_activation="relu", global_rope_theta=50000.0, local_rope_theta=5000.0)
LABELS3 = {0: "negative", 1: "neutral", 2: "positive"}


def build(cls, name, tokdir, seed, **kw):
    out = os.path.join(D, name)
    os.makedirs(out, exist_ok=True)
    tok = AutoTokenizer.from_pretrained(tokdir)
    torch.manual_seed(seed)
    model = cls(config(tok, **kw)).eval()
    perturb(model, seed + 1)
    model.save_pretrained(out, safe_serialization=True)
    tok.save_pretrained(out)
    for f in os.listdir(out):  # tokenizer.json and tokenizer_config.json only, as the other fixtures
        if f not in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
            os.remove(os.path.join(out, f))
    model.set_attn_implementation("eager")
    return model, AutoTokenizer.from_pretrained(out)


def check_sdpa(model, enc, ref):
    model.set_attn_implementation("sdpa")
    with torch.no_grad():
        o = model(**enc).logits if hasattr(model, "classifier") else model(**enc).logits
    model.set_attn_implementation("eager")
    d = (o - ref).abs().max().item()
    assert d < 1e-5, f"sdpa differs from eager by {d}"


def seq_refs(name, model, tok, texts):
    rows, hidden = [], {}
    with torch.no_grad():
        for i, t in enumerate(texts):
            enc = tok(t, truncation=True, return_tensors="pt")
            logits = model(**enc).logits[0]
            if i % 20 == 0:
                check_sdpa(model, enc, logits[None])
            scores = torch.softmax(logits, -1)
            k = int(scores.argmax())
            rows.append({"i": i, "text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist(),
                         "scores": scores.tolist(), "label": LABELS3[k], "score": float(scores[k])})
            if i % 5 == 0:
                hidden[f"last_hidden_state.{i}"] = model.model(enc["input_ids"]).last_hidden_state[0].contiguous()
                hidden[f"embeddings.{i}"] = model.model.embeddings(enc["input_ids"])[0].contiguous()
    with open(os.path.join(D, name + ".ref.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    save_file(hidden, os.path.join(D, name + ".ref.hidden.safetensors"))


def long_ref(model, tok, text):
    enc = tok(text, return_tensors="pt")
    with torch.no_grad():
        logits = model(**enc).logits[0]
        h = model.model(enc["input_ids"]).last_hidden_state[0]
    T = h.shape[0]
    idx = [0, 1, 2, 3, 2998, 2999, 3000, 3001, T - 4, T - 3, T - 2, T - 1]
    return {"n_tokens": T, "logits": logits.tolist(), "rows": idx, "hidden": [h[i].tolist() for i in idx]}


def main():
    tokdir = make_tokenizer()
    tok = AutoTokenizer.from_pretrained(tokdir)
    texts = texts_for_fixture()
    dev = sst2(os.path.join(D, "sst2-dev.tsv"))
    with open(os.path.join(D, "tok-modernbert.ref.jsonl"), "w", encoding="utf-8") as f:
        for t in texts + dev:
            f.write(json.dumps({"text": t, "input_ids": tok(t)["input_ids"]}, ensure_ascii=False) + "\n")
    ma, ta = build(ModernBertForSequenceClassification, "tiny-modernbert", tokdir, 0, id2label=LABELS3, **A)
    seq_refs("tiny-modernbert", ma, ta, texts)
    mb, tb = build(ModernBertForSequenceClassification, "tiny-modernbert-mean", tokdir, 10, id2label=LABELS3, **B)
    seq_refs("tiny-modernbert-mean", mb, tb, texts)
    # a long input: SST-2 dev sentences joined until about 6,000 tokens
    long_text, n = "", 0
    for s in dev:
        long_text += s
        n = len(tok(long_text)["input_ids"])
        if n >= 6000:
            break
    lr = {"text": long_text, "input_ids": tok(long_text)["input_ids"], "tiny-modernbert": long_ref(ma, ta, long_text),
          "tiny-modernbert-mean": long_ref(mb, tb, long_text)}
    with open(os.path.join(D, "tiny-modernbert.long.ref.json"), "w", encoding="utf-8") as f:
        json.dump(lr, f, ensure_ascii=False)
    # heads
    ner_labels = {0: "O", 1: "B-PER", 2: "I-PER", 3: "B-LOC", 4: "I-LOC"}
    mn, tn = build(ModernBertForTokenClassification, "tiny-ner-modernbert", tokdir, 20, id2label=ner_labels, **A)
    mq, tq = build(ModernBertForQuestionAnswering, "tiny-qa-modernbert", tokdir, 30, **B)
    mm, tm = build(ModernBertForMaskedLM, "tiny-mlm-modernbert", tokdir, 40, **A)
    heads = {"ner": [], "qa": [], "mlm": []}
    with torch.no_grad():
        for t in texts[:40:3] + ["John lives in Paris .", "the movie was great"]:
            enc = tn(t, return_tensors="pt")
            heads["ner"].append({"text": t, "input_ids": enc["input_ids"][0].tolist(),
                                 "logits": mn(**enc).logits[0].tolist()})
        for q, c in [("who is poised ?", dev[2]), ("what is bleak ?", dev[1]), ("where ?", dev[3] + " " + dev[4])]:
            enc = tq(q, c, return_tensors="pt")
            o = mq(**enc)
            heads["qa"].append({"question": q, "context": c, "input_ids": enc["input_ids"][0].tolist(),
                                "start_logits": o.start_logits[0].tolist(), "end_logits": o.end_logits[0].tolist()})
        mask = tm.convert_tokens_to_ids("[MASK]")
        for t in ["the movie was [MASK] .", "a [MASK] and [MASK] journey", "[MASK]", dev[0] + " it was [MASK]"]:
            enc = tm(t, return_tensors="pt")
            ids = enc["input_ids"][0].tolist()
            lg = mm(**enc).logits[0]
            rows = [i for i, x in enumerate(ids) if x == mask]
            heads["mlm"].append({"text": t, "input_ids": ids, "rows": rows, "logits": [lg[i].tolist() for i in rows]})
    with open(os.path.join(D, "tiny-modernbert.heads.ref.json"), "w", encoding="utf-8") as f:
        json.dump(heads, f, ensure_ascii=False)
    print(f"tokenizer: {tok.vocab_size} + {len(SPECIALS)} specials; long text {lr['tiny-modernbert']['n_tokens']} tokens")


def make_st():
    from sentence_transformers import SentenceTransformer, __version__ as st_version
    out = os.path.join(D, "tiny-modernbert-st")
    os.makedirs(os.path.join(out, "1_Pooling"), exist_ok=True)
    for f in ("config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json"):
        if not os.path.lexists(os.path.join(out, f)):
            os.symlink(os.path.join("..", "tiny-modernbert-mean", f), os.path.join(out, f))
    modules = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
               {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
               {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"}]
    json.dump(modules, open(os.path.join(out, "modules.json"), "w"), indent=2)
    json.dump({"word_embedding_dimension": 32, "pooling_mode_cls_token": False, "pooling_mode_mean_tokens": True,
               "pooling_mode_max_tokens": False, "pooling_mode_mean_sqrt_len_tokens": False},
              open(os.path.join(out, "1_Pooling", "config.json"), "w"), indent=2)
    json.dump({"max_seq_length": 8192, "do_lower_case": False},
              open(os.path.join(out, "sentence_bert_config.json"), "w"), indent=2)
    texts = ["Hello world!", "a charming and often affecting journey", "", "naïve café 日本語 😀",
             " ".join(sst2(os.path.join(D, "sst2-dev.tsv"))[:30])]
    m = SentenceTransformer(out, device="cpu")
    emb = m.encode(texts, convert_to_numpy=True)
    ref = {"versions": {"sentence_transformers": st_version}, "texts": texts, "embeddings": emb.tolist()}
    json.dump(ref, open(os.path.join(D, "tiny-modernbert-st.ref.json"), "w"), ensure_ascii=False)
    print("st:", emb.shape)


if __name__ == "__main__":
    import sys
    make_st() if "--st" in sys.argv else main()
