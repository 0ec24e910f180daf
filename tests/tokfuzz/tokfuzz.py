#!/usr/bin/env python3
"""Differential tokenizer fuzzer: bertc against Hugging Face tokenizers (the Rust crate behind transformers).

Seeded random texts from every plane and category (unassigned code points, noncharacters, marks in random
order, CJK and its compatibility ideographs, every kind of space, contractions, special-token strings), singles
and pairs, long inputs truncated from either side. Both tokenizers read the same tokenizer.json; ids, type ids
offsets and word ids must be identical. Prints one line per configuration and exits 1 on any mismatch, after showing the
first few (with the text as a Python literal, so a case can be pasted into a test).

    python3 tests/tokfuzz/tokfuzz.py --bin build/tokdiff -n 20000            # every configuration
    python3 tests/tokfuzz/tokfuzz.py --bin build/tokdiff -n 1000000 --config roberta-prefix
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import random
import struct
import subprocess
import sys
import tempfile
import threading
import time

from tokenizers import Tokenizer

HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "data")


# ---- configurations: a base tokenizer.json and the edits that make each variant ----
# Declarative, so that the C suite (tests/test_tokenizer.c) rebuilds the same files from its committed references:
# "set" is a list of [path, value] (a path of object keys), "add" extra added tokens (ids as save_pretrained
# writes them: the vocab's own id for a token it has, else the next free one).

EXTRA_ADDED = [
    {"content": "<ent>", "single_word": True, "lstrip": False, "rstrip": False, "special": False},
    {"content": "</ent>", "single_word": False, "lstrip": True, "rstrip": True, "special": True},
    {"content": "@@", "single_word": False, "lstrip": False, "rstrip": True, "special": False},
    {"content": "hello world", "single_word": True, "lstrip": True, "rstrip": False, "special": False},
]

# added tokens matched after normalization (normalized=true, as add_tokens makes them): their content is normalized
# too, so "ÉTÉ" matches "ete" behind BERT's lowercase and accent stripping, "ＡＢ" matches "AB" behind NFKC
NORMALIZED_ADDED = [
    {"content": "Foo Bar", "single_word": False, "lstrip": False, "rstrip": False, "special": False, "normalized": True},
    {"content": "ÉTÉ", "single_word": True, "lstrip": False, "rstrip": True, "special": False, "normalized": True},
    {"content": "ＡＢ", "single_word": False, "lstrip": True, "rstrip": False, "special": False, "normalized": True},
    {"content": "the", "single_word": True, "lstrip": False, "rstrip": False, "special": False, "normalized": True},
]

CONFIGS = {
    "bert-uncased": {"base": "tok-bert", "set": []},
    "bert-cased": {"base": "tok-bert", "set": [[["normalizer", "lowercase"], False]]},
    "bert-lower-accents": {"base": "tok-bert", "set": [[["normalizer", "strip_accents"], False]]},
    "bert-strip-cased": {"base": "tok-bert", "set": [[["normalizer", "lowercase"], False],
                                                     [["normalizer", "strip_accents"], True]]},
    "bert-no-chinese": {"base": "tok-bert", "set": [[["normalizer", "handle_chinese_chars"], False]]},
    "bert-no-clean": {"base": "tok-bert", "set": [[["normalizer", "clean_text"], False]]},
    "bert-added": {"base": "tok-bert", "set": [], "add": EXTRA_ADDED},
    "roberta": {"base": "tok-roberta", "set": []},
    "roberta-prefix": {"base": "tok-roberta", "set": [[["pre_tokenizer", "add_prefix_space"], True],
                                                      [["post_processor", "add_prefix_space"], True]]},
    "roberta-notrim": {"base": "tok-roberta", "set": [[["pre_tokenizer", "trim_offsets"], False],
                                                      [["post_processor", "trim_offsets"], False]]},
    "roberta-added": {"base": "tok-roberta", "set": [], "add": EXTRA_ADDED},
    "bert-normalized-added": {"base": "tok-bert", "set": [], "add": NORMALIZED_ADDED},
    "xlmr-normalized-added": {"base": "tok-xlmr", "set": [], "add": NORMALIZED_ADDED},
    # the generic pipeline: other normalizers and pre-tokenizers around the same models
    "bert-pipeline": {"base": "tok-bert", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [
            {"type": "NFD"}, {"type": "Lowercase"}, {"type": "StripAccents"}, {"type": "Strip", "strip_left": True,
                                                                               "strip_right": True},
            {"type": "Replace", "pattern": {"Regex": "\\s+"}, "content": " "}]}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Punctuation", "behavior": "Isolated"},
            {"type": "Digits", "individual_digits": True}]}]]},
    "bert-nfkc-whitespace": {"base": "tok-bert", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Lowercase"}]}],
        [["pre_tokenizer"], {"type": "Whitespace"}]]},
    "bert-split": {"base": "tok-bert", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [{"type": "NFC"}, {"type": "Nmt"},
                                                            {"type": "Replace", "pattern": {"String": "''"}, "content": "\""}]}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "\\p{P}|\\d+|(?:ab)+?c"}, "behavior": "MergedWithPrevious", "invert": False},
            {"type": "Split", "pattern": {"String": " "}, "behavior": "Removed", "invert": False},
            {"type": "Split", "pattern": {"Regex": "[^\\s\\w]+"}, "behavior": "Contiguous", "invert": True},
            {"type": "CharDelimiterSplit", "delimiter": "-"}, {"type": "Digits", "individual_digits": False}]}]]},
    # the pattern matcher (regex.c) on its own: lookahead, lazy and counted loops, nested loops, empty branches,
    # anchors, classes and their negations, in Split and in Replace
    "bert-regex": {"base": "tok-bert", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [
            {"type": "Replace", "pattern": {"Regex": "(?:\\s)\\s+(?=\\S)|\\p{N}{3,}?"}, "content": " # "},
            {"type": "Replace", "pattern": {"Regex": "^\\W*|[^\\x00-\\x7f\\p{L}]{2}$"}, "content": "~"}]}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "Split", "pattern": {"Regex": "^\\s*\\w{1,3}|\\d{2,}?|(?:[aeiou][^aeiou\\s]){2}"},
             "behavior": "Isolated", "invert": False},
            {"type": "Split", "pattern": {"Regex": "\\p{L}+(?!\\p{N})|(?:x|xy|)+z|.$"}, "behavior": "MergedWithNext",
             "invert": False},
            {"type": "Split", "pattern": {"Regex": "(?:(?:e|n)*?[^\\S\\n]|\\P{L}{2})+?|(?=[#~])"},
             "behavior": "Contiguous", "invert": True},
            {"type": "Split", "pattern": {"Regex": "(?:\\w(?!\\w)|[\\p{P}\\d]+?(?=\\w)){1,2}|\\s"},
             "behavior": "Removed", "invert": False}]}]]},
    "bert-prepend-metaspace": {"base": "tok-bert", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [{"type": "NFKD"}, {"type": "Prepend", "prepend": "x"},
                                                            {"type": "BertNormalizer", "clean_text": True,
                                                             "handle_chinese_chars": True, "strip_accents": None,
                                                             "lowercase": True}]}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "Metaspace", "replacement": "#", "prepend_scheme": "first", "split": True},
            {"type": "Split", "pattern": {"Regex": "#+"}, "behavior": "MergedWithNext", "invert": False}]}]]},
    "roberta-pipeline": {"base": "tok-roberta", "set": [
        [["normalizer"], {"type": "NFKC"}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "Digits", "individual_digits": True},
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True}]}],
        [["post_processor"], {"type": "Sequence", "processors": [
            {"type": "ByteLevel", "add_prefix_space": True, "trim_offsets": True, "use_regex": True},
            {"type": "TemplateProcessing",
             "single": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                        {"SpecialToken": {"id": "</s>", "type_id": 0}}],
             "pair": [{"SpecialToken": {"id": "<s>", "type_id": 0}}, {"Sequence": {"id": "A", "type_id": 0}},
                      {"SpecialToken": {"id": "</s>", "type_id": 0}}, {"Sequence": {"id": "B", "type_id": 1}},
                      {"SpecialToken": {"id": "</s>", "type_id": 1}}, {"SpecialToken": {"id": "<s>", "type_id": 1}}],
             "special_tokens": {"<s>": {"id": "<s>", "ids": [0], "tokens": ["<s>"]},
                                "</s>": {"id": "</s>", "ids": [2], "tokens": ["</s>"]}}}]}]]},
    # BPE over characters (tools/make_tok_bpe_chars.py): prefix ##, suffix </w>, unknowns, byte fallback
    "bpe-chars": {"base": "tok-bpe-chars", "set": []},
    "bpe-chars-fuse-fallback": {"base": "tok-bpe-chars", "set": [[["model", "fuse_unk"], True],
                                                                 [["model", "byte_fallback"], True]]},
    "bpe-chars-fuse-ignore": {"base": "tok-bpe-chars", "set": [[["model", "fuse_unk"], True],
                                                               [["model", "ignore_merges"], True],
                                                               [["normalizer"], None]]},
    # decoder chains: SentencePiece-BPE style over the character BPE, and over XLM-R's Unigram
    "bpe-chars-decoders": {"base": "tok-bpe-chars", "set": [
        [["model", "byte_fallback"], True],
        [["decoder"], {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "</w>"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Replace", "pattern": {"Regex": "##+"}, "content": ""}, {"type": "Fuse"},
            {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}]]},
    "xlmr-decoders": {"base": "tok-xlmr", "set": [
        [["decoder"], {"type": "Sequence", "decoders": [
            {"type": "Replace", "pattern": {"String": "▁"}, "content": " "}, {"type": "ByteFallback"},
            {"type": "Fuse"}, {"type": "Strip", "content": " ", "start": 1, "stop": 0}]}]]},
    # Unigram: XLM-RoBERTa's shape (tools/make_tok_xlmr.py) and variants
    "xlmr": {"base": "tok-xlmr", "set": []},
    "xlmr-first-nosplit": {"base": "tok-xlmr", "set": [
        [["pre_tokenizer"], {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "first", "split": False}]]},
    "xlmr-nfkc-never": {"base": "tok-xlmr", "set": [
        [["normalizer"], {"type": "Sequence", "normalizers": [{"type": "NFKC"}, {"type": "Strip", "strip_left": False,
                                                                                "strip_right": True}]}],
        [["pre_tokenizer"], {"type": "Sequence", "pretokenizers": [
            {"type": "WhitespaceSplit"}, {"type": "Metaspace", "replacement": "▁", "prepend_scheme": "never",
                                          "split": True}]}]]},
}


def apply_config(j: dict, cfg: dict) -> dict:
    for path, value in cfg["set"]:
        o = j
        for k in path[:-1]:
            o = o[k]
        o[path[-1]] = value
    v = j["model"]["vocab"]
    vocab = v if isinstance(v, dict) else {p[0]: i for i, p in enumerate(v)}  # Unigram: [piece, score] list
    n = max(vocab.values()) + 1
    for tok in cfg.get("add", []):
        tid = vocab.get(tok["content"])
        if tid is None:
            tid, n = n, n + 1
        j["added_tokens"].append({"id": tid, "normalized": False, **tok})
    return j


# ---- text generation ----

SPACES = [" ", "  ", "\t", "\n", "\r", "\r\n", "\u00a0", "\u2028", "\u2029", "\u3000", "\u1680", "\u0085",
          "\u200b", "\u2007", "\u202f", "\u205f", "\u180e", "\ufeff", "\x0b", "\x0c", "\x1c", "\x1f"]
WORDS = ["the", "The", "THE", "movie", "isn't", "don't", "I'm", "we're", "they've", "you'll", "he'd", "it's",
         "IT'S", "O'Neil", "rock'n'roll", "naïve", "café", "Straße", "İstanbul", "ǅemal", "ΣΊΣΥΦΟΣ", "12", "3.14",
         "1,000", "२०२४", "٣", "ⅷ", "½", "x²", "e-mail", "U.S.A.", "...", "!!", "?!", "''", "\"", "'", "'s", "'S",
         "'re", "'ve", "'ll", "'d", "'m", "'t", "##", "##ing", "unaffable", "😀", "👍🏽", "🇫🇷", "中文", "日本語",
         "한국어", "ไทย", "العربية", "עברית", "हिन्दी", "Ελληνικά", "русский", "ﬁ", "Ⅻ", "ℌ", "㍿", "ｱ", "Ａ"]
BLOCKS = [(0x20, 0x7F), (0x80, 0xFF), (0x100, 0x24F), (0x250, 0x2FF), (0x300, 0x36F), (0x370, 0x3FF),
          (0x400, 0x52F), (0x530, 0x5FF), (0x600, 0x6FF), (0x700, 0x8FF), (0x890, 0x8FF), (0x900, 0xDFF),
          (0xE00, 0xFFF), (0x1000, 0x10FF), (0x1100, 0x11FF), (0x1200, 0x1FFF), (0x1AB0, 0x1AFF), (0x1DC0, 0x1DFF),
          (0x1E00, 0x1FFF), (0x2000, 0x206F), (0x2070, 0x2BFF), (0x2C00, 0x2E7F), (0x2E80, 0x2FFF), (0x3000, 0x303F),
          (0x3040, 0x33FF), (0x3400, 0x4DBF), (0x4DC0, 0x4DFF), (0x4E00, 0x9FFF), (0xA000, 0xABFF), (0xAC00, 0xD7FF),
          (0xE000, 0xF8FF), (0xF900, 0xFAFF), (0xFB00, 0xFDFF), (0xFE00, 0xFE6F), (0xFE70, 0xFFFF),
          (0x10000, 0x1FFFF), (0x1D400, 0x1D7FF), (0x1F000, 0x1FAFF), (0x20000, 0x2FFFF), (0x2F800, 0x2FA1F),
          (0x30000, 0x3FFFF), (0xE0000, 0xE01EF), (0xF0000, 0x10FFFF)]
MARKS = [(0x300, 0x36F), (0x483, 0x489), (0x591, 0x5C7), (0x610, 0x61A), (0x64B, 0x65F), (0x8D3, 0x8FF),
         (0x93C, 0x94D), (0x1AB0, 0x1ACE), (0x1DC0, 0x1DFF), (0x20D0, 0x20F0), (0xFE20, 0xFE2F), (0x1D165, 0x1D189),
         (0x302A, 0x302F), (0x3099, 0x309A), (0x0F71, 0x0F84), (0x1BC9D, 0x1BC9E)]


def rand_cp(r: random.Random, lo: int, hi: int) -> str:
    while True:
        c = r.randint(lo, hi)
        if not 0xD800 <= c <= 0xDFFF:
            return chr(c)


def piece(r: random.Random, specials: list[str]) -> str:
    k = r.random()
    if k < 0.22:
        return r.choice(WORDS)
    if k < 0.34:
        return r.choice(SPACES)
    if k < 0.46:
        return rand_cp(r, 0, 0x10FFFF)
    if k < 0.70:
        lo, hi = r.choice(BLOCKS)
        return "".join(rand_cp(r, lo, hi) for _ in range(r.randint(1, 4)))
    if k < 0.80:
        base = r.choice(["a", "e", "i", "o", "u", "A", "n", "c", "s", "ı", "α", "ω", "и", "ア", "가", "ा"]) \
            if r.random() < 0.8 else rand_cp(r, 0x20, 0x2FFF)
        return base + "".join(rand_cp(r, *r.choice(MARKS)) for _ in range(r.randint(1, 4)))
    if k < 0.86:
        s = r.choice(specials)
        return r.choice(["", " ", "  ", "x"]) + (s.lower() if r.random() < 0.15 else s) + r.choice(["", " ", "  ", "x"])
    if k < 0.93:
        return "".join(r.choice("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789'.,!?-_ ")
                       for _ in range(r.randint(1, 12)))
    if k < 0.96:
        return rand_cp(r, 0, 0xFFFF) * r.randint(1, 3)
    # words around WordPiece's max_input_chars_per_word (100), in letters that lowercase to two code points too
    return "".join(r.choice("abcİé日") for _ in range(r.randint(90, 110)))


BLANK = ["", " ", "  ", "\t", "\n", " \u00a0 ", "\u3000"]


def member(r: random.Random, specials: list[str]) -> str:
    """A pair member: now and then empty or whitespace only (an empty pair is still a pair: [CLS] A [SEP] [SEP])."""
    return r.choice(BLANK) if r.random() < 0.06 else text(r, specials)


def text(r: random.Random, specials: list[str]) -> str:
    n = r.randint(1, 12) if r.random() < 0.9 else r.randint(40, 250)
    sep = r.choice(["", " ", " ", "\u00a0"])
    return sep.join(piece(r, specials) for _ in range(n))


# ---- the two sides ----

DECODE = False  # --decode: also compare decode(ids, skip_special_tokens=True)


def pack(a: str, b: str | None, maxlen: int, left: bool) -> bytes:
    ab, bb = a.encode(), (b or "").encode()
    flags = (1 if b is not None else 0) | (2 if left else 0) | (4 if DECODE else 0)
    return struct.pack("<III", flags, maxlen, len(ab)) + ab + struct.pack("<I", len(bb)) + bb


def hf_line(e, hf=None) -> str:
    line = (" ".join(map(str, e.ids)) + ";" + " ".join(map(str, e.type_ids)) + ";" +
            " ".join(f"{s} {t}" for s, t in e.offsets) + ";" +
            " ".join(str(-1 if w is None else w) for w in e.word_ids))
    if DECODE and hf is not None:
        try:
            line += ";" + hf.decode(e.ids, skip_special_tokens=True).encode().hex()
        except BaseException:  # a panic inside tokenizers (its Strip decoder on an empty token): not compared
            return "HF-PANIC"
    return line


def one(proc, hf, a: str, b: str | None, maxlen: int, left: bool) -> str:
    """One text through bertc (proc) or Hugging Face (proc None)."""
    if proc is None:
        return hf_line(hf.encode(a) if b is None else hf.encode(a, b), hf)
    proc.stdin.write(pack(a, b, maxlen, left))
    proc.stdin.flush()
    return proc.stdout.readline().decode().rstrip("\n")


def minimize(proc, hf, a: str, b: str | None, maxlen: int, left: bool) -> tuple[str, str | None]:
    """Deletes characters while the two sides still disagree (run between batches, truncation as set)."""
    def bad(x: str, y: str | None) -> bool:
        try:
            return one(proc, hf, x, y, maxlen, left) != one(None, hf, x, y, maxlen, left)
        except Exception:
            return False
    for which in (0, 1):
        if which == 1 and b is None:
            break
        cur = a if which == 0 else b
        step = max(1, len(cur) // 2)
        while step >= 1:
            i = 0
            while i < len(cur):
                cand = cur[:i] + cur[i + step:]
                if (bad(cand, b) if which == 0 else bad(a, cand)) and (which == 0 or cand):
                    cur = cand
                    if which == 0:
                        a = cur
                    else:
                        b = cur
                else:
                    i += step
            step //= 2
    return a, b


def make_config(name: str, workdir: str) -> tuple[str, list[str]]:
    cfg = CONFIGS[name]
    src = os.path.join(DATA, cfg["base"])
    j = apply_config(json.load(open(os.path.join(src, "tokenizer.json"), encoding="utf-8")), cfg)
    specials = [t["content"] for t in j["added_tokens"]]
    d = os.path.join(workdir, name)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "tokenizer.json"), "w", encoding="utf-8") as f:
        json.dump(j, f, ensure_ascii=False)
    return d, specials


def write_refs(name: str, n: int, seed: int, workdir: str, outdir: str) -> None:
    """n fuzzed cases with Hugging Face's answers, for the C suite (texts over 300 characters left out)."""
    import gzip
    import tokenizers
    d, specials = make_config(name, workdir)
    hf = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    r = random.Random(f"refs:{seed}:{name}")
    path = os.path.join(outdir, f"{name}.jsonl.gz")
    with gzip.open(path, "wt", encoding="utf-8", compresslevel=9) as f:
        f.write(json.dumps({"config": name, **CONFIGS[name], "tokenizers": tokenizers.__version__,
                            "seed": seed}, ensure_ascii=False) + "\n")
        k = 0
        while k < n:
            a = text(r, specials)
            b = text(r, specials) if r.random() < 0.3 else None
            if len(a) + len(b or "") > 300:
                continue
            maxlen, left = (0, False) if r.random() < 0.6 else (r.randint(6, 48), r.random() < 0.5)
            if maxlen:
                hf.enable_truncation(maxlen, direction="left" if left else "right")
            else:
                hf.no_truncation()
            e = hf.encode(a) if b is None else hf.encode(a, b)
            rec = {"a": a, "max_length": maxlen, "left": left, "ids": e.ids, "type_ids": e.type_ids,
                   "offsets": [x for o in e.offsets for x in o], "decoded": hf.decode(e.ids, skip_special_tokens=True)}
            if b is not None:
                rec["b"] = b
            f.write(json.dumps(rec, ensure_ascii=False) + "\n")
            k += 1
    print(f"tokfuzz: wrote {path} ({n} cases)")


def run_config(name: str, binary: str, n: int, seed: int, workdir: str, show: int) -> tuple[int, int]:
    d, specials = make_config(name, workdir)
    hf = Tokenizer.from_file(os.path.join(d, "tokenizer.json"))
    proc = subprocess.Popen([binary, d], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    r = random.Random(f"{seed}:{name}")
    bad = done = 0
    batch = 2000
    while done < n:
        m = min(batch, n - done)
        # one truncation setting per batch: none, or a random length and side
        if r.random() < 0.6:
            maxlen, left = 0, False
            hf.no_truncation()
        else:
            maxlen, left = r.randint(6, 48), r.random() < 0.5
            hf.enable_truncation(maxlen, direction="left" if left else "right")
        recs = []
        while len(recs) < m:
            b = member(r, specials) if r.random() < 0.3 else None
            a = text(r, specials) if b is None else member(r, specials)
            # tokenizers keeps every overflowing window of a truncated pair, the product of both sides': a long
            # truncated pair costs it gigabytes, so truncated pairs stay short (long ones run untruncated)
            if maxlen and b is not None and len(a) + len(b) > 400:
                continue
            recs.append((a, b))
        blob = b"".join(pack(a, b, maxlen, left) for a, b in recs)
        # write from a thread so that a full pipe in either direction never deadlocks
        w = threading.Thread(target=lambda: (proc.stdin.write(blob), proc.stdin.flush()))
        w.start()
        singles = [i for i, (_, b) in enumerate(recs) if b is None]
        pairs = [i for i, (_, b) in enumerate(recs) if b is not None]
        want: list[str] = [""] * m
        for i, e in zip(singles, hf.encode_batch([recs[i][0] for i in singles])):
            want[i] = hf_line(e, hf)
        for i, e in zip(pairs, hf.encode_batch([(recs[i][0], recs[i][1]) for i in pairs])):
            want[i] = hf_line(e, hf)
        got = [proc.stdout.readline().decode().rstrip("\n") for _ in range(m)]
        w.join()
        for (a, b), g, h in zip(recs, got, want):
            if h == "HF-PANIC":
                continue
            if g != h:
                bad += 1
                if bad <= show:
                    a2, b2 = minimize(proc, hf, a, b, maxlen, left)
                    print(f"  [{name}] mismatch (max_length {maxlen}, {'left' if left else 'right'})\n"
                          f"    text {a!r}\n    pair {b!r}\n    minimal text {a2!r} pair {b2!r}\n"
                          f"    hf    {one(None, hf, a2, b2, maxlen, left)}\n    bertc {one(proc, hf, a2, b2, maxlen, left)}")
        done += m
        if os.environ.get("TOKFUZZ_DEBUG"):
            import resource
            child = open(f"/proc/{proc.pid}/status").read().split("VmRSS:")[1].split("\n")[0].strip()
            print(f"  [{name}] {done} done, fuzzer {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024} MB, "
                  f"tokdiff {child}", flush=True)
    proc.stdin.close()
    proc.wait()
    return done, bad


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", default="build/tokdiff")
    ap.add_argument("-n", type=int, default=20000, help="texts per configuration")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--config", action="append", choices=sorted(CONFIGS), help="default: all")
    ap.add_argument("--show", type=int, default=5, help="mismatches printed per configuration")
    ap.add_argument("--decode", action="store_true", help="also compare decode(ids, skip_special_tokens=True)")
    ap.add_argument("--write-refs", metavar="DIR", help="write N cases per configuration with Hugging Face's "
                    "answers to DIR/<config>.jsonl.gz (the C suite's references) instead of fuzzing")
    args = ap.parse_args()
    global DECODE
    DECODE = args.decode
    if args.write_refs:
        os.makedirs(args.write_refs, exist_ok=True)
        with tempfile.TemporaryDirectory() as wd:
            for name in args.config or list(CONFIGS):
                write_refs(name, args.n, args.seed, wd, args.write_refs)
        return 0
    import tokenizers
    print(f"tokfuzz: tokenizers {tokenizers.__version__}, seed {args.seed}, {args.n} texts per configuration")
    total_bad = 0
    with tempfile.TemporaryDirectory() as wd:
        for name in args.config or list(CONFIGS):
            t0 = time.time()
            done, bad = run_config(name, args.bin, args.n, args.seed, wd, args.show)
            total_bad += bad
            print(f"tokfuzz {name}: {done - bad}/{done} identical ({100.0 * (done - bad) / done:.3f}%), "
                  f"{time.time() - t0:.1f} s")
    return 1 if total_bad else 0


if __name__ == "__main__":
    sys.exit(main())
