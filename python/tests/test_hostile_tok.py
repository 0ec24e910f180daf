"""Hostile tokenizers from Python (issue 28): a Split-regex tokenizer on long words and 10^5-deep patterns killed
the interpreter (a stack overflow in libbertc's pattern matcher and parser). Now the words tokenize as tokenizers
does (the same ids count and hash as tests/test_hostile_tok.c) and the deep patterns are a Python exception."""
from __future__ import annotations

import json
import os
import threading

import pytest

import bertc
import cases

M = (1 << 64) - 1


def word(n: int, seed: int = 1) -> str:
    """tests/test_hostile_tok.c's gen_word: n lowercase letters from a 64-bit LCG."""
    x, out = seed, []
    for _ in range(n):
        x = (x * 6364136223846793005 + 1442695040888963407) & M
        out.append(chr(97 + ((x >> 33) % 26)))
    return "".join(out)


def fnv(ids: list[int]) -> int:
    h = 0xCBF29CE484222325
    for i in ids:
        for b in (i & 0xFFFFFFFF).to_bytes(4, "little"):
            h = ((h ^ b) * 0x100000001B3) & M
    return h


def tokenizer_dir(tmp_path, name: str, base: str, **sections) -> str:
    with open(os.path.join(cases.DATA, base, "tokenizer.json"), encoding="utf-8") as f:
        j = json.load(f)
    j.update(sections)
    d = tmp_path / name
    d.mkdir()
    (d / "tokenizer.json").write_text(json.dumps(j), encoding="utf-8")
    return str(d)


SPLIT_BPE = {"type": "Sequence", "pretokenizers": [
    {"type": "Split", "pattern": {"Regex": "\\w+"}, "behavior": "Isolated", "invert": False},
    {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": False}]}
# tokenizers 0.23.3's ids on word(n) behind SPLIT_BPE over tok-roberta: (count, FNV-1a of the int32 ids)
REFS = {10000: (5982, 0x83F1FE8FFA3ED3E4), 100000: (59634, 0x75C8B38AD422C95D)}


def test_split_regex_long_words_on_a_1mb_stack(tmp_path):
    tok = bertc.AutoTokenizer.from_pretrained(tokenizer_dir(tmp_path, "split", "tok-roberta", pre_tokenizer=SPLIT_BPE))
    got: dict[int, tuple[int, int]] = {}

    def run() -> None:
        for n in REFS:
            ids = tok.encode(word(n), truncation=False)
            got[n] = (len(ids), fnv(ids))

    old = threading.stack_size(1 << 20)  # a server connection thread's stack
    try:
        th = threading.Thread(target=run)
        th.start()
        th.join()
    finally:
        threading.stack_size(old)
    assert got == REFS


@pytest.mark.parametrize("where", ["split", "replace", "decoder"])
def test_deep_patterns_are_an_exception(tmp_path, where):
    deep = "(" * 100000 + "a" + ")" * 100000
    sections = {"split": {"pre_tokenizer": {"type": "Split", "pattern": {"Regex": deep}, "behavior": "Isolated",
                                            "invert": False}},
                "replace": {"normalizer": {"type": "Replace", "pattern": {"Regex": deep}, "content": " "}},
                "decoder": {"decoder": {"type": "Replace", "pattern": {"Regex": deep}, "content": " "}}}[where]
    d = tokenizer_dir(tmp_path, where, "tok-bert", **sections)
    with pytest.raises(bertc.BertcError, match="nested deeper than 256 levels"):
        bertc.AutoTokenizer.from_pretrained(d)
    # and the interpreter goes on: the same folder with a sane pattern loads and tokenizes
    sane = {k: json.loads(json.dumps(v).replace(json.dumps(deep)[1:-1], "(a)")) for k, v in sections.items()}
    tok = bertc.AutoTokenizer.from_pretrained(tokenizer_dir(tmp_path, where + "-sane", "tok-bert", **sane))
    assert tok.encode("b")[0] == 101
