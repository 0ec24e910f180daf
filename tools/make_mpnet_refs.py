#!/work/venv-torch/bin/python
"""tests/data/mpnet-real: references of the real sentence-transformers/all-mpnet-base-v2 (MPNet 12x768, a
sentence-transformers folder: Transformer (max_seq_length 384) -> mean Pooling -> Normalize), for the test
model/mpnet_real (tests/test_mpnet_real.c), which runs when the folder exists (BERTC_MPNET_DIR, default
/work/models/all-mpnet-base-v2) and says it is skipped otherwise. The 438 MB folder itself is never committed.

Texts (refs.jsonl.gz, one JSON object per text, in this order):
  - set "dev":     the 872 SST-2 dev sentences (tests/data/sst2-dev.tsv, as they are, trailing space included);
  - set "edge":    tiny-roberta's edge cases (empty string, whitespace, control characters, a 300-char word, a
                   700-word text), tools/make_tiny_xlmr.py's other scripts, and more odd Unicode (combining marks,
                   ZWJ / ZWNJ, RTL with bidi marks, C0/C1 controls, BOM, soft hyphen, variation selectors, private
                   use, CJK extension B, math letters, ligatures, Turkish dotted I, literal special tokens, words of
                   100 and 101 characters around WordPiece's max_input_chars_per_word);
  - set "long":    SST-2 train rows (from row 0, consecutive, joined with spaces) grown past 384, 512 and up to
                   ~1,100 tokens untruncated, so SentenceTransformer truncates them at max_seq_length 384 and the
                   model's own limit (tokenizer_config model_max_length 512, 514 positions) truncates at 512.
Fields: i, set, text, input_ids (SentenceTransformer's own tokenize(): the fast tokenizer, truncation at 384),
n_tokens_untruncated, input_ids_512 (only where it differs: AutoTokenizer(folder)(text, truncation=True,
max_length=512), what `bertc tokenize` / model_forward see without the folder's max_seq_length), emb (row of
"embeddings" in refs.safetensors, or -1), hidden (name of a hidden-state tensor, or absent).

refs.safetensors (F32):
  - embeddings [N, 768]: SentenceTransformer(folder, device="cpu").encode(texts, batch_size=32) (normalized, as the
    folder's modules say) for every edge and long text and every 8th dev sentence (i % 8 == 0): 1 MB budget;
  - hidden.<i> [T, 768]: AutoModel(folder).last_hidden_state (fp32, eager, one text at a time, no padding) for a few
    texts on their input_ids; for the long ones on input_ids_512 (T = 512), only rows hidden_rows.<i> (I32) of it.
Ids of all texts are in refs.jsonl.gz (gzip, mtime 0, so reruns give the same bytes).

Made with /work/venv-torch: torch 2.15.0 (PyPI, CPU), transformers 5.25.0, sentence-transformers 6.3.0,
tokenizers as installed there (the versions land in tests/data/mpnet-real/README.md too):
    nice -n 10 /work/venv-torch/bin/python tools/make_mpnet_refs.py [--model DIR]
"""
import argparse
import gzip
import io
import json
import os
import sys

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TD = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(TD, "mpnet-real")
SST2_TRAIN = "/work/shared/data/sst2/train.tsv"


def read_tsv(path):
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = header.index("sentence")
        return [line.rstrip("\n").split("\t")[col] for line in f if line.strip()]


EXTRA_EDGE = [
    # other scripts (tools/make_tiny_xlmr.py's list)
    "Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "이 영화 정말 좋아요", "Der Film war großartig.",
    "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "סרט מצוין", "यह फिल्म बहुत अच्छी है।", "ภาพยนตร์เรื่องนี้ดีมาก",
    "Ταινία εξαιρετική!", "Film çok güzeldi, İstanbul'da izledim.", "Phim này rất hay", "ＦＵＬＬＷＩＤＴＨ ﬁne ½",
    "emoji 👍🏽🇫🇷 ok", "tab\tand\nnewline", "  leading and  double  spaces  ", "naïve café résumé", "x<mask> y",
    "Ǆemal ǅemal ǆemal",
    # combining marks (decomposed accents, stacked marks, a mark with no base)
    "cafe\u0301 re\u0301sume\u0301 nai\u0308ve", "Z\u0351\u0334a\u0336\u0317l\u0338g\u0315o\u0489 text", "\u0301 leading mark",
    "\u1100\u1161\u11a8 decomposed hangul \ud55c\uad6d\uc5b4",
    # zero-width joiner / non-joiner, family and profession emoji, skin tones, flags, keycaps
    "family 👨\u200d👩\u200d👧\u200d👦 and 👩🏾\u200d💻 coder", "zero\u200bwidth\u200cnon\u200djoiner", "keycap 1\ufe0f\u20e3 #\ufe0f\u20e3",
    "flags 🇺🇸🇯🇵🏳\ufe0f\u200d🌈 end", "heart \u2764\ufe0f vs \u2764\ufe0e",
    # right-to-left, mixed direction, bidi marks and overrides
    "hello שלום world مرحبا 123", "\u200fرسالة\u200e with marks \u202eesrever\u202c", "العربية: ١٢٣ ٤٥٦",
    # control characters: C0, DEL, C1 (NEL), BOM, soft hyphen, form feed, vertical tab, private use
    "c0\x01\x02\x1f controls \x7f del", "nel\x85line\u2028sep\u2029para", "\ufeffbom at start", "soft\u00adhy\u00adphen",
    "form\x0cfeed\x0bvtab", "private \ue000\uf8ff use", "nul\x00 in \x00 middle",
    # CJK: ideographs, extension B, mixed kana, fullwidth punctuation, Korean, Chinese with Latin
    "我爱自然语言处理，也爱机器学习。", "𠀀𠀁𪜀 extension B", "東京タワーは高い！ＯＫ？", "한국어 문장과 English mixed 文字",
    # math letters, ligatures, superscripts, Turkish dotted I, Greek final sigma, German sharp s
    "𝐀𝐁𝐂 𝓍𝓎𝓏 ℝ² x³ ﬃ ﬂ", "İSTANBUL ıi İi", "ΟΔΥΣΣΕΥΣ σοφός", "STRASSE Straße ẞ",
    # literal special tokens and look-alikes
    "<s> </s> <pad> <unk> [UNK] [CLS] [SEP] [MASK] <mask>", "a<mask>b [MASK]c",
    # WordPiece's max_input_chars_per_word (100): words of 100 and 101 characters
    "x" * 100 + " ok", "y" * 101 + " ok",
    # punctuation runs, numbers, code, URLs, e-mail
    "!!!???...---", "3.14159e-10 1,000,000 -42 0x1F", "def f(x): return x**2  # code", "mail me: a.b+c@example.org",
    "   ", "\t\n\r",
]


def make_long(train_rows, tok, targets):
    """Consecutive SST-2 train rows joined with spaces until each passes its target token count (untruncated)."""
    out, cur, i = [], [], 0
    for target in targets:
        while i < len(train_rows):
            cur.append(train_rows[i].strip())
            i += 1
            text = " ".join(cur)
            if len(tok(text, truncation=False)["input_ids"]) > target:
                out.append(text)
                cur = []
                break
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default=os.environ.get("BERTC_MPNET_DIR", "/work/models/all-mpnet-base-v2"))
    ap.add_argument("--threads", type=int, default=2)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    import sentence_transformers
    import tokenizers
    import transformers
    from safetensors.numpy import save_file
    from sentence_transformers import SentenceTransformer
    from transformers import AutoModel, AutoTokenizer
    transformers.logging.set_verbosity_error()

    st = SentenceTransformer(a.model, device="cpu")
    assert st.max_seq_length == 384, st.max_seq_length
    tok = AutoTokenizer.from_pretrained(a.model)
    hf = AutoModel.from_pretrained(a.model, attn_implementation="eager").eval()

    dev = read_tsv(os.path.join(TD, "sst2-dev.tsv"))
    assert len(dev) == 872, len(dev)
    edge = [json.loads(line)["text"] for line in open(os.path.join(TD, "tiny-roberta.ref.jsonl"), encoding="utf-8")][:21]
    edge += EXTRA_EDGE
    long_ = make_long(read_tsv(SST2_TRAIN), tok, [390, 400, 450, 500, 513, 520, 600, 700, 800, 1100])
    rows = [{"set": "dev", "text": t} for t in dev] + [{"set": "edge", "text": t} for t in edge] + \
           [{"set": "long", "text": t} for t in long_]
    texts = [r["text"] for r in rows]
    print(f"{len(dev)} dev, {len(edge)} edge, {len(long_)} long texts", file=sys.stderr)

    # ids: SentenceTransformer's own preprocessing (truncation at max_seq_length), padding stripped
    for i0 in range(0, len(texts), 64):
        f = st.tokenize(texts[i0:i0 + 64])
        for k in range(f["input_ids"].shape[0]):
            n = int(f["attention_mask"][k].sum())
            rows[i0 + k]["input_ids"] = f["input_ids"][k][:n].tolist()
    for i, r in enumerate(rows):
        r["i"] = i
        full = tok(r["text"], truncation=False)["input_ids"]
        r["n_tokens_untruncated"] = len(full)
        ids512 = tok(r["text"], truncation=True, max_length=512)["input_ids"]
        assert ids512[:len(r["input_ids"]) - 1] == r["input_ids"][:-1] or len(r["input_ids"]) == 384
        if ids512 != r["input_ids"]:
            r["input_ids_512"] = ids512

    # sentence embeddings: every edge and long text, every 6th dev sentence
    pick = [i for i, r in enumerate(rows) if r["set"] != "dev" or i % 8 == 0]
    emb = st.encode([texts[i] for i in pick], batch_size=32, convert_to_numpy=True).astype(np.float32)
    norms = np.linalg.norm(emb, axis=1)
    assert np.all(np.abs(norms - 1) < 1e-5), "expected normalized embeddings"
    for r in rows:
        r["emb"] = -1
    for k, i in enumerate(pick):
        rows[i]["emb"] = k
    tensors = {"embeddings": emb}

    # AutoModel's last_hidden_state for a few texts (full), and rows of two 512-token texts
    edge0 = len(dev)
    long0 = len(dev) + len(edge)
    full_hidden = [0, 1, edge0 + 2, edge0 + 5, edge0 + 6, edge0 + 7, edge0 + 41]
    long_hidden = [long0 + 1, long0 + len(long_) - 1]   # a 400-token one at 384, the longest at 512
    with torch.no_grad():
        for i in full_hidden + long_hidden:
            r = rows[i]
            ids = r["input_ids_512"] if i in long_hidden and "input_ids_512" in r else r["input_ids"]
            x = torch.tensor([ids])
            h = hf(input_ids=x, attention_mask=torch.ones_like(x)).last_hidden_state[0].numpy().astype(np.float32)
            if i in long_hidden:
                sel = np.array(list(range(0, 4)) + list(range(380, 388)) + list(range(len(ids) - 4, len(ids))), dtype=np.int32)
                sel = np.unique(sel[sel < len(ids)])
                tensors[f"hidden_rows.{i}"] = sel
                h = h[sel]
                r["hidden_on"] = "input_ids_512" if "input_ids_512" in r else "input_ids"
            else:
                r["hidden_on"] = "input_ids"
            tensors[f"hidden.{i}"] = np.ascontiguousarray(h)
            r["hidden"] = f"hidden.{i}"

    os.makedirs(OUT, exist_ok=True)
    save_file(tensors, os.path.join(OUT, "refs.safetensors"),
              metadata={"made_by": "tools/make_mpnet_refs.py", "torch": torch.__version__,
                        "transformers": transformers.__version__,
                        "sentence_transformers": sentence_transformers.__version__})
    buf = io.BytesIO()
    with gzip.GzipFile(fileobj=buf, mode="wb", mtime=0, compresslevel=9) as g:
        for r in rows:
            g.write((json.dumps(r, ensure_ascii=False) + "\n").encode("utf-8"))
    with open(os.path.join(OUT, "refs.jsonl.gz"), "wb") as f:
        f.write(buf.getvalue())
    vers = {"torch": torch.__version__, "transformers": transformers.__version__,
            "sentence_transformers": sentence_transformers.__version__, "tokenizers": tokenizers.__version__,
            "numpy": np.__version__}
    with open(os.path.join(OUT, "versions.json"), "w") as f:
        json.dump(vers, f, indent=1)
        f.write("\n")
    print(json.dumps(vers), file=sys.stderr)
    print(f"wrote {len(rows)} rows, {len(pick)} embeddings, {len(full_hidden) + len(long_hidden)} hidden states to {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
