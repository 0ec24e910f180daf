#!/usr/bin/env python3
"""ELECTRA fixtures: tiny checkpoints saved by transformers (random weights, seed 0, every bias and LayerNorm
perturbed so that a missing bias or gain shows) and their outputs, the references for src/model/electra.c.

  tests/data/tiny-electra            ElectraForSequenceClassification: embedding_size 8 != hidden_size 32 (so the
      embeddings_project Linear(8 -> 32) is there), 2 layers, 2 heads, intermediate 64, 3 labels, single-label,
      initializer_range 0.2, vocab 30522 (tokenizer: ../tok-bert, BERT's WordPiece, which is ELECTRA's).
      tiny-electra.ref.jsonl: text, input_ids, logits, softmax scores, label (tiny-roberta's texts plus odd Unicode);
      tiny-electra.ref.hidden.safetensors: for every 5th text last_hidden_state.i and embeddings.i, where
      embeddings.i is hidden_states[0]: the input of layer 0, i.e. embeddings_project(ElectraEmbeddings(...)) (the
      embedding LayerNorm's output over 8 projected to 32) -- bertc's `emb` output of model_forward.
  tests/data/tiny-{ner,qa,mlm,pretrain}-electra   ElectraForTokenClassification (the 9 NER labels of
      make_pipeline_fixtures.py), ElectraForQuestionAnswering, ElectraForMaskedLM (the generator: its
      generator_lm_head tied to the word embeddings, so generator_lm_head.weight is not saved, its bias is),
      ElectraForPreTraining (the discriminator; hidden_act gelu_new, so the discriminator head's activation, which
      follows hidden_act, differs from the classification head's exact gelu). embedding_size 4, hidden 16,
      2 layers, 2 heads, intermediate 32, initializer_range 0.5.
  tests/data/tiny-electra-heads.ref.safetensors: per head model m and text i: m.i.input_ids, m.i.token_type_ids
      (I32) and m.i.logits (F32): token classification [T, 9]; QA [T, 2] (start, end); pre-training [T] (one logit
      per token, transformers' ElectraForPreTraining logits); masked LM [n_masks, V] at the [MASK] positions.
  tests/data/tiny-electra-pipelines.ref.json: transformers' pipeline outputs: fill-mask (top_k 5) on
      tiny-mlm-electra and token-classification (aggregation simple and none) on tiny-ner-electra.
  tests/data/train/grad-electra-{single,multi,regression}.safetensors: one forward + backward of tiny-electra in
      tools/make_train_refs.py's format (input 1 is a text pair; head classifier.out_proj re-drawn with
      torch.manual_seed(1000 + case) as there), torch's loss for each problem_type.

The vocabulary is tok-bert's (30522 ids, BERT's real WordPiece), so the word embeddings make most of each file:
embedding_size 8 / 4 keeps tiny-electra at ~1 MB and the head fixtures at ~0.5 MB.

Made with PyPI torch 2.15.0 and transformers 5.25.0 (/work/venv-torch), CPU, float32, eval():
    /work/venv-torch/bin/python tools/make_tiny_electra.py"""
import json
import os

import torch
import transformers
from safetensors.torch import save_file
from transformers import (AutoTokenizer, BertTokenizerFast, ElectraConfig, ElectraForMaskedLM, ElectraForPreTraining,
                          ElectraForQuestionAnswering, ElectraForSequenceClassification, ElectraForTokenClassification,
                          ElectraTokenizerFast, pipeline)

transformers.logging.set_verbosity_error()
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
D = os.path.join(ROOT, "tests", "data")
TOK = os.path.join(D, "tok-bert")
NER_LABELS = ["O", "B-PER", "I-PER", "B-ORG", "I-ORG", "B-LOC", "I-LOC", "B-MISC", "I-MISC"]


def link_tokenizer(out):
    for f in ("tokenizer.json", "tokenizer_config.json"):
        p = os.path.join(out, f)
        if os.path.lexists(p):
            os.remove(p)
        os.symlink(os.path.join("..", "tok-bert", f), p)


def perturb(model, seed):
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for n, p in model.named_parameters():
            if n.endswith(".bias"):
                p.add_(torch.randn(p.shape, generator=g) * 0.2)
            elif "LayerNorm.weight" in n:
                p.mul_(1 + torch.randn(p.shape, generator=g) * 0.2)


def save(model, name):
    out = os.path.join(D, name)
    os.makedirs(out, exist_ok=True)
    model.save_pretrained(out, safe_serialization=True)
    os.chmod(os.path.join(out, "model.safetensors"), 0o644)
    link_tokenizer(out)
    return out


def texts_for_fixture():
    texts = [json.loads(line)["text"] for line in open(os.path.join(D, "tiny-roberta.ref.jsonl"), encoding="utf-8")]
    texts += ["Это очень хороший фильм.", "这部电影很好看！", "映画はとても良かった。", "이 영화 정말 좋아요",
              "Der Film war großartig.", "C'est un film magnifique… vraiment.", "فيلم رائع جدا", "סרט מצוין",
              "यह फिल्म बहुत अच्छी है।", "ภาพยนตร์เรื่องนี้ดีมาก", "Ταινία εξαιρετική!", "Film çok güzeldi, İstanbul'da izledim.",
              "ＦＵＬＬＷＩＤＴＨ ﬁne ½", "emoji 👍🏽🇫🇷 ok", "tab\tand\nnewline", "  leading and  double  spaces  ",
              "naïve café résumé", "x[MASK] y", "Ǆemal ǅemal ǆemal", "a [SEP] inside [CLS] text [PAD]"]
    return texts


def main_fixture(tok):
    torch.manual_seed(0)
    cfg = ElectraConfig(vocab_size=len(tok), embedding_size=8, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=2, intermediate_size=64, max_position_embeddings=512, initializer_range=0.2,
                        id2label={0: "negative", 1: "neutral", 2: "positive"},
                        label2id={"negative": 0, "neutral": 1, "positive": 2})
    model = ElectraForSequenceClassification(cfg).eval()
    perturb(model, 1)
    out = save(model, "tiny-electra")
    texts = texts_for_fixture()
    etok = ElectraTokenizerFast(tokenizer_file=os.path.join(TOK, "tokenizer.json"))
    rows, hidden = [], {}
    with torch.no_grad():
        for i, t in enumerate(texts):
            enc = tok(t, truncation=True, max_length=512, return_tensors="pt")
            assert enc["input_ids"][0].tolist() == etok(t, truncation=True, max_length=512)["input_ids"]
            o = model(**enc, output_hidden_states=True)
            e = model.electra.embeddings_project(model.electra.embeddings(enc["input_ids"], enc["token_type_ids"]))
            assert torch.equal(e, o.hidden_states[0])
            logits = o.logits[0]
            scores = torch.softmax(logits, -1)
            k = int(scores.argmax())
            rows.append({"i": i, "text": t, "input_ids": enc["input_ids"][0].tolist(), "logits": logits.tolist(),
                         "scores": scores.tolist(), "label": cfg.id2label[k], "score": float(scores[k])})
            if i % 5 == 0:
                hidden[f"last_hidden_state.{i}"] = o.hidden_states[-1][0].contiguous()
                hidden[f"embeddings.{i}"] = o.hidden_states[0][0].contiguous()
    with open(os.path.join(D, "tiny-electra.ref.jsonl"), "w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    save_file(hidden, os.path.join(D, "tiny-electra.ref.hidden.safetensors"))
    print(f"wrote {out} ({sum(p.numel() for p in model.parameters())} parameters), {len(rows)} references; labels",
          sorted({r['label'] for r in rows}))


HEAD_TEXTS = ["John Smith works at Acme Corp in Paris.", "the quick brown fox jumps over the lazy dog",
              "naïve café — unaffable ☃ x", "a"]
QA_PAIRS = [("who works at acme?", "John Smith works at Acme Corp in Paris."),
            ("where is the fox?", "the quick brown fox jumps over the lazy dog")]
MLM_TEXTS = ["the quick brown [MASK] jumps over the lazy dog .", "paris is the [MASK] of [MASK] ."]


def heads(tok):
    base = dict(vocab_size=len(tok), embedding_size=4, hidden_size=16, num_hidden_layers=2, num_attention_heads=2,
                intermediate_size=32, max_position_embeddings=512, initializer_range=0.5)
    ref = {}
    models = {}
    torch.manual_seed(0)
    m = ElectraForTokenClassification(ElectraConfig(**base, id2label=dict(enumerate(NER_LABELS)),
                                                    label2id={l: i for i, l in enumerate(NER_LABELS)})).eval()
    perturb(m, 2)
    models["ner"] = save(m, "tiny-ner-electra")
    torch.manual_seed(0)
    m = ElectraForQuestionAnswering(ElectraConfig(**base)).eval()
    perturb(m, 3)
    models["qa"] = save(m, "tiny-qa-electra")
    torch.manual_seed(0)
    m = ElectraForMaskedLM(ElectraConfig(**base)).eval()
    perturb(m, 4)
    models["mlm"] = save(m, "tiny-mlm-electra")
    torch.manual_seed(0)
    m = ElectraForPreTraining(ElectraConfig(**base, hidden_act="gelu_new")).eval()
    perturb(m, 5)
    models["pretrain"] = save(m, "tiny-pretrain-electra")
    loaders = {"ner": ElectraForTokenClassification, "qa": ElectraForQuestionAnswering, "mlm": ElectraForMaskedLM,
               "pretrain": ElectraForPreTraining}
    with torch.no_grad():
        for k, path in models.items():
            model = loaders[k].from_pretrained(path).eval()
            from safetensors import safe_open
            with safe_open(os.path.join(path, "model.safetensors"), "pt") as f:
                print(k, sorted(n for n in f.keys() if not n.startswith("electra.encoder")))
            inputs = [(t, None) for t in HEAD_TEXTS] if k in ("ner", "pretrain") else (
                QA_PAIRS if k == "qa" else [(t, None) for t in MLM_TEXTS])
            for i, (a, b) in enumerate(inputs):
                enc = tok(a, b, return_tensors="pt") if b else tok(a, return_tensors="pt")
                o = model(**enc)
                p = f"{k}.{i}."
                ref[p + "input_ids"] = enc["input_ids"][0].to(torch.int32).contiguous()
                ref[p + "token_type_ids"] = enc["token_type_ids"][0].to(torch.int32).contiguous()
                if k == "qa":
                    lg = torch.stack([o.start_logits[0], o.end_logits[0]], -1)
                elif k == "mlm":
                    lg = o.logits[0][enc["input_ids"][0] == tok.mask_token_id]
                else:
                    lg = o.logits[0]
                ref[p + "logits"] = lg.contiguous()
    save_file(ref, os.path.join(D, "tiny-electra-heads.ref.safetensors"))
    cases = []
    fm = pipeline("fill-mask", model=models["mlm"], dtype=torch.float32, device="cpu")
    for t in MLM_TEXTS[:1]:
        cases.append({"task": "fill-mask", "model": "tiny-mlm-electra", "inputs": t, "kwargs": {"top_k": 5},
                      "output": fm(t, top_k=5)})
    tc = pipeline("token-classification", model=models["ner"], dtype=torch.float32, device="cpu")
    for t in HEAD_TEXTS[:2]:
        for agg in ("none", "simple"):
            o = tc(t, aggregation_strategy=agg)
            cases.append({"task": "token-classification", "model": "tiny-ner-electra", "inputs": t,
                          "kwargs": {"aggregation_strategy": agg}, "output": o})

    def py(x):
        if isinstance(x, dict):
            return {k: py(v) for k, v in x.items()}
        if isinstance(x, list):
            return [py(v) for v in x]
        if hasattr(x, "item"):
            return x.item()
        return x
    with open(os.path.join(D, "tiny-electra-pipelines.ref.json"), "w", encoding="utf-8") as f:
        json.dump({"versions": {"torch": torch.__version__, "transformers": transformers.__version__},
                   "cases": py(cases)}, f, ensure_ascii=False, indent=1)
        f.write("\n")


def grads(tok):
    out = os.path.join(D, "train")
    texts = ["a charming and often affecting journey .", "unflinchingly bleak and desperate",
             "it 's a charming and often affecting journey , and a wonderful film about the struggles of everyday "
             "people whose lives are made richer .",
             "the acting , costumes , music , cinematography and sound are all astounding given the production 's "
             "austere locales ."]
    pair = (1, "a gorgeous , witty , seductive movie .")
    for ci, problem in enumerate(["single", "multi", "regression"]):
        L, P = {"single": (3, "single_label_classification"), "multi": (3, "multi_label_classification"),
                "regression": (1, "regression")}[problem]
        model = ElectraForSequenceClassification.from_pretrained(os.path.join(D, "tiny-electra"), num_labels=L,
                                                                 problem_type=P, ignore_mismatched_sizes=True,
                                                                 dtype=torch.float32)
        head = model.classifier.out_proj
        torch.manual_seed(1000 + 9 + ci)
        with torch.no_grad():
            head.weight.normal_(0.0, 0.5)
            head.bias.normal_(0.0, 0.1)
        model.eval()
        encs = [tok(t, pair[1], truncation=True, max_length=128) if j == pair[0] else
                tok(t, truncation=True, max_length=128) for j, t in enumerate(texts)]
        enc = tok.pad(encs, padding=True, return_tensors="pt")
        lengths = enc["attention_mask"].sum(1)
        ids = torch.cat([enc["input_ids"][k, :lengths[k]] for k in range(4)]).to(torch.int32)
        tts = torch.cat([enc["token_type_ids"][k, :lengths[k]] for k in range(4)]).to(torch.int32)
        if problem == "single":
            labels = torch.tensor([2, 0, 1, 2]); store = labels.to(torch.int32)
        elif problem == "multi":
            labels = torch.tensor([[1, 0, 1], [0, 1, 0], [1, 1, 0], [0, 0, 1]], dtype=torch.float32); store = labels
        else:
            labels = torch.tensor([0.7, -0.3, 1.5, 0.2]); store = labels
        model.zero_grad(set_to_none=True)
        o = model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"],
                  token_type_ids=enc["token_type_ids"], labels=labels)
        o.loss.backward()
        t = {"input_ids": ids, "lengths": lengths.to(torch.int32), "token_type_ids": tts, "labels": store.clone(),
             "loss": o.loss.detach().reshape(1).clone(), "logits": o.logits.detach().clone()}
        for n, v in model.state_dict().items():
            if n.startswith("classifier.out_proj."):
                t["init." + n] = v.detach().clone().contiguous()
        rows = torch.unique(ids.long())
        t["grad_rows"] = rows.to(torch.int32)
        word = "electra.embeddings.word_embeddings.weight"
        for n, p in model.named_parameters():
            g = p.grad if p.grad is not None else torch.zeros_like(p)
            t["grad." + n] = (g[rows] if n == word else g).detach().clone().contiguous()
        path = os.path.join(out, f"grad-electra-{problem}.safetensors")
        save_file(t, path, metadata={"format": "pt"})
        os.chmod(path, 0o644)
        print(path, "loss", float(o.loss), "params", [n for n, _ in model.named_parameters()][:8])


def main():
    tok = AutoTokenizer.from_pretrained(TOK)
    assert isinstance(tok, BertTokenizerFast)
    main_fixture(tok)
    heads(tok)
    grads(tok)


if __name__ == "__main__":
    main()
