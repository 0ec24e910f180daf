#!/usr/bin/env python3
"""tests/data/tiny-xlmr: a tiny XLMRobertaForSequenceClassification (random weights, seed 0; hidden 32, 2 layers,
2 heads, 3 labels, single-label) over tests/data/tok-xlmr, and its references in the fixtures' format
(tiny-xlmr.ref.jsonl: text, input_ids, logits, softmax scores, label; tiny-xlmr.ref.hidden.safetensors: for every
5th text the last hidden state and the embedding LayerNorm's output). The texts are tiny-roberta's (edge cases,
SST-2 dev, a 700-word text truncated to 512) and 20 in other scripts.
Made with PyPI torch 2.15 and transformers 5.24.0 (/work/venv-torch):
    python3 tools/make_tiny_xlmr.py"""
import json
import os
import shutil

import torch
from safetensors.torch import save_file
from transformers import AutoTokenizer, XLMRobertaConfig, XLMRobertaForSequenceClassification

D = os.path.join(os.path.dirname(__file__), "..", "tests", "data")
out = os.path.join(D, "tiny-xlmr")
os.makedirs(out, exist_ok=True)
for f in ("tokenizer.json", "tokenizer_config.json"):
    shutil.copy(os.path.join(D, "tok-xlmr", f), os.path.join(out, f))
tok = AutoTokenizer.from_pretrained(out)
torch.manual_seed(0)
cfg = XLMRobertaConfig(vocab_size=len(tok), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                       intermediate_size=64, max_position_embeddings=514, initializer_range=0.2, pad_token_id=1,
                       bos_token_id=0, eos_token_id=2, id2label={0: "negative", 1: "neutral", 2: "positive"},
                       label2id={"negative": 0, "neutral": 1, "positive": 2})
model = XLMRobertaForSequenceClassification(cfg).eval()
model.save_pretrained(out, safe_serialization=True)
texts = [json.loads(line)["text"] for line in open(os.path.join(D, "tiny-roberta.ref.jsonl"), encoding="utf-8")]
texts += ["Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "이 영화 정말 좋아요", "Der Film war großartig.",
          "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "סרט מצוין", "यह फिल्म बहुत अच्छी है।", "ภาพยนตร์เรื่องนี้ดีมาก",
          "Ταινία εξαιρετική!", "Film çok güzeldi, İstanbul'da izledim.", "Phim này rất hay", "ＦＵＬＬＷＩＤＴＨ ﬁne ½",
          "emoji 👍🏽🇫🇷 ok", "tab\tand\nnewline", "  leading and  double  spaces  ", "naïve café résumé", "x<mask> y",
          "Ǆemal ǅemal ǆemal"]
rows, hidden = [], {}
with torch.no_grad():
    for i, t in enumerate(texts):
        enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
        o = model(**enc, output_hidden_states=True)
        logits = o.logits[0]
        scores = torch.softmax(logits, -1)
        k = int(scores.argmax())
        rows.append({"i": i, "text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist(),
                     "scores": scores.tolist(), "label": cfg.id2label[k], "score": float(scores[k])})
        if i % 5 == 0:
            hidden[f"last_hidden_state.{i}"] = o.hidden_states[-1][0].contiguous()
            hidden[f"embeddings.{i}"] = o.hidden_states[0][0].contiguous()
with open(os.path.join(D, "tiny-xlmr.ref.jsonl"), "w", encoding="utf-8") as f:
    for r in rows:
        f.write(json.dumps(r, ensure_ascii=False) + "\n")
save_file(hidden, os.path.join(D, "tiny-xlmr.ref.hidden.safetensors"))
print(f"wrote {out} ({sum(p.numel() for p in model.parameters())} parameters) and {len(rows)} references")
