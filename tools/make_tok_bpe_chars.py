#!/usr/bin/env python3
"""tests/data/tok-bpe-chars: a BPE over characters (not byte-level) trained with the tokenizers library on SST-2
train — continuing_subword_prefix "##", end_of_word_suffix "</w>", unk_token "[UNK]", the 256 byte tokens <0x00>..
<0xFF> in the vocab so that byte_fallback can be switched on — behind NFKC + Lowercase and Whitespace, with
[CLS] A [SEP] and the BPEDecoder. Made with tokenizers 0.23.3:
    python3 tools/make_tok_bpe_chars.py ../shared/data/sst2/train.tsv tests/data/tok-bpe-chars"""
import os
import sys

from tokenizers import Tokenizer, decoders, models, normalizers, pre_tokenizers, processors, trainers

train, out = sys.argv[1], sys.argv[2]
lines = [line.split("\t")[0] for line in open(train, encoding="utf-8").read().split("\n")[1:] if line]
tok = Tokenizer(models.BPE(unk_token="[UNK]", continuing_subword_prefix="##", end_of_word_suffix="</w>"))
tok.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Lowercase()])
tok.pre_tokenizer = pre_tokenizers.Whitespace()
specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + [f"<0x{b:02X}>" for b in range(256)]
trainer = trainers.BpeTrainer(vocab_size=3000, min_frequency=2, special_tokens=specials,
                              continuing_subword_prefix="##", end_of_word_suffix="</w>")
tok.train_from_iterator(lines, trainer)
tok.post_processor = processors.TemplateProcessing(single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
                                                   special_tokens=[("[CLS]", tok.token_to_id("[CLS]")),
                                                                   ("[SEP]", tok.token_to_id("[SEP]"))])
tok.decoder = decoders.BPEDecoder(suffix="</w>")
os.makedirs(out, exist_ok=True)
tok.save(os.path.join(out, "tokenizer.json"))
print(f"wrote {out}: {tok.get_vocab_size()} tokens")
