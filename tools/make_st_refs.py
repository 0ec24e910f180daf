#!/work/venv-torch/bin/python
"""Tiny sentence-transformers folders under tests/data/st/ built on tests/data/tiny-bert, plus reference outputs
from sentence-transformers itself in tests/data/st/refs.jsonl. Run with the torch venv (CPU):

    /work/venv-torch/bin/python tools/make_st_refs.py

Each tests/data/st/<variant>/ holds RELATIVE symlinks for the weights, config.json and tokenizer files (nothing
duplicated) and the sentence-transformers files. Legacy variants are written in the layout that
sentence-transformers 2.x-5.x save() writes and that Hub models carry (modules.json with
sentence_transformers.models.* types, 1_Pooling/config.json with every pooling_mode_* key and include_prompt,
sentence_bert_config.json with max_seq_length/do_lower_case, no 2_Normalize folder on disk since git keeps no empty
folder and the loader does not need it); the "v6_" variant is copied verbatim from what the installed
sentence-transformers' SentenceTransformer.save() writes. The test suite reads the committed files, never Python.
"""
import json, os, shutil, sys, tempfile

import numpy as np
import torch

torch.set_num_threads(1)  # stay modest on a shared machine; results do not depend on it beyond ~1e-7

import sentence_transformers, transformers
from sentence_transformers import SentenceTransformer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(DATA, "st")
TINY = os.path.join(DATA, "tiny-bert")
DIM = 32

LONG = ("The film opens with a long, quiet shot of a harbour at dawn, and for the next two hours it never quite "
        "decides whether it wants to be a thriller, a family drama or a meditation on memory; the actors are "
        "committed, the photography is often beautiful, but the script keeps circling back to the same three "
        "ideas until even the most patient viewer starts counting the boats.")
TEXTS = [
    "Hello world!",
    "",
    "HÉLLO Wörld, ÇA VA?",
    "a",
    "The movie was surprisingly good.",
    "  leading and trailing spaces  ",
    "don't stop—believin' (1980s) #rock",
    "Ünïcödé naïve café résumé",
    "日本語のテキストです。",
    "中文 mixed with English 123",
    "I love pizza 🍕🔥! 👍🏽",
    LONG,
]
TOKEN_TEXTS = ["Hello world!", "HÉLLO Wörld, ÇA VA?"]

# Order of the legacy keys as sentence-transformers 2.2-5.x Pooling.config_keys lists them.
LEGACY_KEYS = ["pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_max_tokens",
               "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens", "pooling_mode_lasttoken"]
MODE_KEY = {"cls": "pooling_mode_cls_token", "mean": "pooling_mode_mean_tokens", "max": "pooling_mode_max_tokens",
            "mean_sqrt_len_tokens": "pooling_mode_mean_sqrt_len_tokens",
            "weightedmean": "pooling_mode_weightedmean_tokens", "lasttoken": "pooling_mode_lasttoken"}

# name: modes, normalize, sentence_bert_config, prompts, default_prompt_name, include_prompt, tokenizer, prompt runs
V = lambda modes, norm=True, sbert=None, prompts=None, default=None, include=True, tok="fast", runs=(None,), fmt="legacy", doc="": dict(
    modes=modes, norm=norm, sbert=sbert or {"max_seq_length": 512, "do_lower_case": False}, prompts=prompts or {},
    default=default, include=include, tok=tok, runs=runs, fmt=fmt, doc=doc)
PROMPTS = {"query": "query: ", "passage": "passage: "}
VARIANTS = {
    "mean_norm": V(["mean"], doc="mean + Normalize (the all-MiniLM-L6-v2 layout)"),
    "mean": V(["mean"], norm=False, doc="mean, no Normalize module"),
    "cls": V(["cls"], doc="cls + Normalize"),
    "max": V(["max"], doc="max + Normalize"),
    "mean_sqrt_len": V(["mean_sqrt_len_tokens"], norm=False,
                       doc="mean_sqrt_len_tokens, no Normalize (with it, it would equal mean + Normalize)"),
    "weightedmean": V(["weightedmean"], doc="weightedmean + Normalize"),
    "lasttoken": V(["lasttoken"], doc="lasttoken + Normalize"),
    "cls_mean": V(["cls", "mean"], doc="cls and mean both true (64-dim, cls first) + Normalize"),
    "len16_lower": V(["mean"], sbert={"max_seq_length": 16, "do_lower_case": True},
                     doc="mean + Normalize, max_seq_length 16, do_lower_case true (uncased tokenizer: lowercasing "
                         "is a no-op on ids, truncation is not)"),
    "cased_len16_lower": V(["mean"], sbert={"max_seq_length": 16, "do_lower_case": True}, tok="cased",
                           doc="as len16_lower but with a CASED tokenizer (vocab.txt only + tokenizer_config "
                               "do_lower_case false, so no accent stripping): do_lower_case lowercases but keeps "
                               "accents"),
    "prompts": V(["mean"], prompts=PROMPTS, include=False, runs=(None, "query"),
                 doc="mean + Normalize, prompts query/passage, default_prompt_name null, include_prompt false"),
    "prompts_cls": V(["cls"], prompts=PROMPTS, include=False, runs=(None, "query"),
                     doc="as prompts but cls pooling: the first token after the prompt is pooled"),
    "prompts_default": V(["mean"], prompts=PROMPTS, default="passage", include=True, runs=(None, "query"),
                         doc="mean + Normalize, default_prompt_name passage (applied when no prompt_name), "
                             "include_prompt true"),
    "v6_mean_cls": V(["mean", "cls"], fmt="v6",
                     doc="written by sentence-transformers %s save(): pooling_mode [\"mean\",\"cls\"] (list order = "
                         "concatenation order), 2_Normalize/config.json, new module type names"
                         % sentence_transformers.__version__),
}


def relink(dst_dir, name, target_rel):
    p = os.path.join(dst_dir, name)
    os.symlink(target_rel, p)
    assert os.path.exists(p), p  # resolves


def write_json(path, obj, indent=2):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        json.dump(obj, f, indent=indent, ensure_ascii=False)
        f.write("\n")


def link_base(d, tok):
    relink(d, "config.json", "../../tiny-bert/config.json")
    relink(d, "model.safetensors", "../../tiny-bert/model.safetensors")
    if tok == "fast":
        relink(d, "tokenizer.json", "../../tiny-bert/tokenizer.json")
        relink(d, "tokenizer_config.json", "../../tiny-bert/tokenizer_config.json")
    else:  # cased: legacy vocab.txt, own small tokenizer_config with do_lower_case false
        relink(d, "vocab.txt", "../../tok-bert/vocab.txt")
        with open(os.path.join(DATA, "tok-bert", "tokenizer_config.json")) as f:
            tc = json.load(f)
        tc["do_lower_case"] = False
        write_json(os.path.join(d, "tokenizer_config.json"), tc)


def versions():
    return {"sentence_transformers": sentence_transformers.__version__, "transformers": transformers.__version__,
            "pytorch": torch.__version__}


def make_legacy(d, v):
    link_base(d, v["tok"])
    mods = [{"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
            {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"}]
    if v["norm"]:
        mods.append({"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"})
    write_json(os.path.join(d, "modules.json"), mods)
    pool = {"word_embedding_dimension": DIM}
    for k in LEGACY_KEYS:
        pool[k] = any(MODE_KEY[m] == k for m in v["modes"])
    pool["include_prompt"] = v["include"]
    write_json(os.path.join(d, "1_Pooling", "config.json"), pool, indent=4)
    write_json(os.path.join(d, "sentence_bert_config.json"), v["sbert"], indent=4)
    write_json(os.path.join(d, "config_sentence_transformers.json"),
               {"__version__": versions(), "prompts": v["prompts"], "default_prompt_name": v["default"],
                "similarity_fn_name": "cosine"})


def make_v6(d, v):
    from sentence_transformers import models
    from sentence_transformers.base.modules.normalize import Normalize
    t = models.Transformer(TINY)
    mods = [t, models.Pooling(DIM, pooling_mode=tuple(v["modes"]), include_prompt=v["include"])]
    if v["norm"]:
        mods.append(Normalize())
    m = SentenceTransformer(modules=mods, device="cpu", prompts=v["prompts"] or None,
                            default_prompt_name=v["default"])
    with tempfile.TemporaryDirectory() as tmp:
        m.save(tmp)
        link_base(d, v["tok"])
        for r, _, files in os.walk(tmp):
            for f in files:
                rel = os.path.relpath(os.path.join(r, f), tmp)
                if rel in ("modules.json", "sentence_bert_config.json", "config_sentence_transformers.json") \
                        or rel.startswith(("1_Pooling" + os.sep, "2_Normalize" + os.sep)):
                    os.makedirs(os.path.dirname(os.path.join(d, rel)), exist_ok=True)
                    shutil.copyfile(os.path.join(r, f), os.path.join(d, rel))
        # the saved tokenizer_config.json/config.json only differ by bookkeeping keys (is_local,
        # local_files_only, architectures BertModel) from the symlinked ones; the saved tokenizer.json is identical
        with open(os.path.join(tmp, "tokenizer.json"), "rb") as a, open(os.path.join(TINY, "tokenizer.json"), "rb") as b:
            assert a.read() == b.read()


def fnum(x):
    s = "%.9g" % x  # 9 significant digits round-trip float32 exactly
    assert s not in ("inf", "-inf", "nan"), s
    return s


def jline(obj, floats_key):
    """One JSON line; the float array(s) under floats_key written with %.9g (exact for float32)."""
    arr = obj.pop(floats_key)
    head = json.dumps(obj, ensure_ascii=False)[:-1]
    if arr.ndim == 1:
        body = "[" + ",".join(fnum(x) for x in arr) + "]"
    else:
        body = "[" + ",".join("[" + ",".join(fnum(x) for x in row) + "]" for row in arr) + "]"
    return head + ', "%s": %s}' % (floats_key, body)


def pool_numpy(tok, modes, norm, skip):
    """The documented semantics, independently of sentence-transformers: tok [T, D] is one text's unpadded
    last_hidden_state (prompt included), skip the number of leading positions excluded by include_prompt false
    ([CLS] + the prompt's tokens). Used to assert that the written references mean what the README says."""
    T = tok.shape[0]
    keep = np.arange(T) >= skip
    if not keep.any():
        raise ValueError("all positions masked")
    kept = tok[keep].astype(np.float64)
    out = []
    for mode in modes:
        if mode == "cls":
            out.append(tok[np.argmax(keep)])                        # first kept position
        elif mode == "max":
            out.append(kept.max(0))
        elif mode == "mean":
            out.append(kept.sum(0) / keep.sum())
        elif mode == "mean_sqrt_len_tokens":
            out.append(kept.sum(0) / np.sqrt(keep.sum()))
        elif mode == "weightedmean":
            w = (np.arange(T) + 1.0)[keep]                          # original 1-based positions
            out.append((kept * w[:, None]).sum(0) / w.sum())
        elif mode == "lasttoken":
            out.append(tok[T - 1])                                  # last real token ([SEP])
    e = np.concatenate(out).astype(np.float64)
    if norm:
        e = e / max(np.linalg.norm(e), 1e-12)
    return e


def main():
    if os.path.isdir(OUT):
        for name in os.listdir(OUT):
            p = os.path.join(OUT, name)
            if os.path.isdir(p) and not os.path.islink(p):
                shutil.rmtree(p)
    os.makedirs(OUT, exist_ok=True)
    lines = []
    for name, v in VARIANTS.items():
        d = os.path.join(OUT, name)
        os.makedirs(d)
        (make_v6 if v["fmt"] == "v6" else make_legacy)(d, v)
        m = SentenceTransformer(d, device="cpu")
        assert m.get_embedding_dimension() == DIM * len(v["modes"]), name
        for pn in v["runs"]:
            prompt = m._resolve_prompt(None, pn)
            emb = m.encode(TEXTS, prompt_name=pn, convert_to_numpy=True, batch_size=32)
            assert emb.dtype == np.float32 and emb.shape == (len(TEXTS), DIM * len(v["modes"]))
            for text, e in zip(TEXTS, emb):
                ids = m.preprocess([text], prompt=prompt)["input_ids"][0].tolist()
                lines.append(jline({"kind": "sentence", "variant": name, "prompt_name": pn, "prompt": prompt,
                                    "text": text, "input_ids": ids, "embedding": e}, "embedding"))
            all_tok = m.encode(TEXTS, prompt_name=pn, output_value="token_embeddings")
            skip = 0
            if prompt and not v["include"]:
                skip = len(m.preprocess([prompt])["input_ids"][0]) - 1  # prompt ids without the trailing [SEP]
            for text, t, e in zip(TEXTS, all_tok, emb):
                ref = pool_numpy(t.cpu().numpy(), v["modes"], v["norm"], skip)
                assert np.abs(ref - e).max() < 2e-6, (name, pn, text, np.abs(ref - e).max())
            tok = m.encode(TOKEN_TEXTS, prompt_name=pn, output_value="token_embeddings")
            for text, t in zip(TOKEN_TEXTS, tok):
                ids = m.preprocess([text], prompt=prompt)["input_ids"][0].tolist()
                t = t.cpu().numpy().astype(np.float32)
                assert t.shape == (len(ids), DIM), (name, t.shape, len(ids))
                lines.append(jline({"kind": "tokens", "variant": name, "prompt_name": pn, "prompt": prompt,
                                    "text": text, "input_ids": ids, "token_embeddings": t}, "token_embeddings"))
        print(name, "ok", file=sys.stderr)
    with open(os.path.join(OUT, "refs.jsonl"), "w", encoding="utf-8") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "variants.json"), "w", encoding="utf-8") as f:
        json.dump({k: {"modes": v["modes"], "normalize": v["norm"], "format": v["fmt"], "doc": v["doc"]}
                   for k, v in VARIANTS.items()}, f, indent=1, ensure_ascii=False)
        f.write("\n")
    print("versions:", versions(), "lines:", len(lines), file=sys.stderr)


if __name__ == "__main__":
    main()
