#!/usr/bin/env python3
"""tests/data/tok-xlmr: an XLM-RoBERTa-style tokenizer.json built as transformers builds xlm-roberta-base's —
a SentencePiece Unigram model (nmt_nfkc normalization, so the real Precompiled charsmap) converted by
transformers' XLMRobertaConverter (Precompiled + Replace(" {2,}") normalizers, Metaspace, the fairseq id offset,
<s> A </s></s> B </s>), plus xlm-roberta-base's added tokens (<mask> with lstrip). Trained here on SST-2 train
and the fuzzer's word list (4,000 pieces) because no real XLM-R tokenizer.json ships in a PyPI package we have.
Made with sentencepiece 0.2.3 and transformers 5.24.0 (/work/venv-torch):
    python3 tools/make_tok_xlmr.py ../shared/data/sst2/train.tsv tests/data/tok-xlmr
"""
import json
import os
import random
import sys
import tempfile

import sentencepiece as spm
import transformers.convert_slow_tokenizer as conv

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "tokfuzz"))
import tokfuzz  # noqa: E402

train, out = sys.argv[1], sys.argv[2]
lines = [line.split("\t")[0] for line in open(train, encoding="utf-8").read().split("\n")[1:] if line]
r = random.Random(5)
extra = [tokfuzz.text(r, ["<s>"]) for _ in range(3000)]
with tempfile.TemporaryDirectory() as wd:
    with open(os.path.join(wd, "train.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines[:30000] + extra + tokfuzz.WORDS * 20))
    spm.SentencePieceTrainer.train(input=os.path.join(wd, "train.txt"), model_prefix=os.path.join(wd, "m"),
                                   vocab_size=4000, model_type="unigram", character_coverage=0.98,
                                   normalization_rule_name="nmt_nfkc", minloglevel=2)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(wd, "m.model"))

    class Slow:  # what XLMRobertaConverter reads of the slow tokenizer
        vocab_file = os.path.join(wd, "m.model")
        legacy = True
        add_prefix_space = True

        @staticmethod
        def convert_tokens_to_ids(tok):
            return {"<s>": 0, "<pad>": 1, "</s>": 2, "<unk>": 3}.get(tok, sp.piece_to_id(tok) + 1)

    tok = conv.XLMRobertaConverter(Slow()).converted()
    path = os.path.join(wd, "tokenizer.json")
    tok.save(path)
    j = json.load(open(path, encoding="utf-8"))
n = len(j["model"]["vocab"])
assert j["model"]["vocab"][-1][0] == "<mask>"  # the converter ends the vocab with it, as xlm-roberta-base's
j["added_tokens"] = [dict(id=i, content=c, single_word=False, lstrip=False, rstrip=False, normalized=False, special=True)
                     for i, c in enumerate(["<s>", "<pad>", "</s>", "<unk>"])]
j["added_tokens"].append(dict(id=n - 1, content="<mask>", single_word=False, lstrip=True, rstrip=False,
                              normalized=False, special=True))
os.makedirs(out, exist_ok=True)
with open(os.path.join(out, "tokenizer.json"), "w", encoding="utf-8") as f:
    json.dump(j, f, ensure_ascii=False)
with open(os.path.join(out, "tokenizer_config.json"), "w", encoding="utf-8") as f:
    json.dump({"tokenizer_class": "XLMRobertaTokenizer", "model_max_length": 512, "bos_token": "<s>", "eos_token": "</s>",
               "unk_token": "<unk>", "sep_token": "</s>", "cls_token": "<s>", "pad_token": "<pad>", "mask_token": "<mask>"},
              f, indent=2)
print(f"wrote {out}: {n} tokens")
