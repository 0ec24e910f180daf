#!/usr/bin/env python3
"""make_taskeval_refs.py — the references of tests/test_taskeval.c (tests/data/taskeval/refs.json): `bertc eval` of
the tiny token-classification and question-answering checkpoints (tests/data/tiny-ner-*, tiny-qa-*) on the small
datasets of tests/data/taskeval/.

NER (this interpreter: /work/venv-torch, transformers 5.24, torch, seqeval 1.2.2): every sentence's words joined
with single spaces, tokenized by the fast tokenizer (truncation=True, max_length as the case says, else the
tokenizer's), AutoModelForTokenClassification's logits; a word takes the argmax label of its first sub-token (the
first non-special token whose offset_mapping span overlaps the word's characters, Hugging Face run_ner's
label_all_tokens=False); a word without a token is "O". For BERT / DistilBERT the script checks that this is the
mapping of run_ner itself (tokenizer(words, is_split_into_words=True).word_ids(), first token of each word id).
Metrics: Hugging Face evaluate's "seqeval" compute(), transcribed (classification_report(output_dict=True) without
its averages, then overall_* from "micro avg" and accuracy_score), plus classification_report's averages.

QA (QA_PYTHON, default /tmp/venv-qa/bin/python: transformers 5.2.0, the last release with the question-answering
pipeline, made as tools/make_pipeline_fixtures.py's docstring says; the committed refs were made with it): pipeline("question-answering")(question=..., context=..., top_k=1,
handle_impossible_answer=...) per question, run by this script in that interpreter (--qa-worker). Scores: the
official SQuAD evaluate-v1.1.py / evaluate-v2.0.py as tools/make_task_metric_refs.py transcribes them.

    /work/venv-torch/bin/pip install seqeval
    /work/venv-torch/bin/python tools/make_taskeval_refs.py
Deterministic: two runs give byte-identical files."""
import json
import os
import subprocess
import sys
import warnings

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
TD = os.path.join(ROOT, "tests", "data")
OUT = os.path.join(TD, "taskeval", "refs.json")
QA_PYTHON = os.environ.get("QA_PYTHON", "/tmp/venv-qa/bin/python")

NER_MODELS = ["tiny-ner-bert", "tiny-ner-distilbert", "tiny-ner-roberta"]
QA_MODELS = ["tiny-qa-bert", "tiny-qa-distilbert", "tiny-qa-roberta"]
# (data file, max_length or None)
NER_CASES = [("ner.jsonl", None), ("ner-long.jsonl", 16)]
# (data file, squad_version or None for auto, handle_impossible or None for auto)
QA_CASES = [("qa-v1.jsonl", None, None), ("qa-v2.jsonl", None, None), ("qa-v2.jsonl", None, False),
            ("qa-v1.jsonl", 2, None)]


def read_jsonl(name):
    with open(os.path.join(TD, "taskeval", name), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def qa_worker():
    import torch
    import transformers
    from transformers import pipeline
    from transformers.utils import logging
    logging.set_verbosity_error()
    warnings.simplefilter("ignore")
    spec = json.load(sys.stdin)
    pipes = {}
    outs = []
    for name, items, impossible in spec["cases"]:
        if name not in pipes:
            pipes[name] = pipeline("question-answering", model=spec["models"][name], device=-1)
            if pipes[name].model.config.model_type == "distilbert":
                # tok-bert's tokenizer (BertTokenizerFast) also returns token_type_ids, which DistilBERT's forward
                # refuses in 4.x; DistilBERT has no token types, so dropping them changes nothing
                pipes[name].tokenizer.model_input_names = ["input_ids", "attention_mask"]
        res = []
        for q in items:
            a = pipes[name](question=q["question"], context=q["context"], top_k=1, handle_impossible_answer=impossible)
            res.append({"answer": a["answer"], "score": float(a["score"]), "start": int(a["start"]),
                        "end": int(a["end"])})
        outs.append(res)
    json.dump({"outputs": outs, "versions": {"python": sys.version.split()[0], "torch": torch.__version__,
                                              "transformers": transformers.__version__}}, sys.stdout)


def ner_refs():
    import seqeval
    import torch
    import transformers
    from seqeval.metrics import accuracy_score, classification_report
    from transformers import AutoModelForTokenClassification, AutoTokenizer
    torch.set_num_threads(1)
    cases = []
    for name in NER_MODELS:
        path = os.path.join(TD, name)
        tok = AutoTokenizer.from_pretrained(path)
        model = AutoModelForTokenClassification.from_pretrained(path, dtype=torch.float32).eval()
        id2label = model.config.id2label
        for data, max_length in NER_CASES:
            rows = read_jsonl(data)
            gold, pred, no_token, margin = [], [], 0, float("inf")
            for row in rows:
                words, tags = row["tokens"], row["ner_tags"]
                text = " ".join(words)
                enc = tok(text, truncation=True, max_length=max_length, return_offsets_mapping=True,
                          return_special_tokens_mask=True, return_tensors="pt")
                offsets = enc.pop("offset_mapping")[0].tolist()
                special = enc.pop("special_tokens_mask")[0].tolist()
                with torch.no_grad():
                    logits = model(**enc).logits[0]
                spans, pos = [], 0
                for w in words:
                    spans.append((pos, pos + len(w)))
                    pos += len(w) + 1
                out, firsts = [], []
                for s, e in spans:
                    t = next((k for k, (a, b) in enumerate(offsets) if not special[k] and b > s and a < e), None)
                    firsts.append(t)
                    if t is None or e == s:
                        out.append("O")
                        no_token += 1
                        continue
                    row_logits = logits[t]
                    lab = int(torch.argmax(row_logits))
                    top2 = torch.topk(row_logits, 2).values
                    margin = min(margin, float(top2[0] - top2[1]))
                    out.append(id2label[lab])
                if "roberta" not in name:  # run_ner's own mapping gives the same first tokens
                    sp = tok(words, is_split_into_words=True, truncation=True, max_length=max_length)
                    first = {}
                    for k, wid in enumerate(sp.word_ids()):
                        if wid is not None and wid not in first:
                            first[wid] = k
                    assert sp["input_ids"] == enc["input_ids"][0].tolist(), (name, text)
                    assert [first.get(j) for j in range(len(words))] == firsts, (name, text)
                gold.append(tags)
                pred.append(out)
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                rep = classification_report(gold, pred, output_dict=True)
                acc = accuracy_score(gold, pred)
            avgs = {k: rep.pop(k) for k in ("micro avg", "macro avg", "weighted avg")}
            metrics = {t: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                           "f1": float(v["f1-score"]), "number": int(v["support"])} for t, v in rep.items()}
            metrics["overall_precision"] = float(avgs["micro avg"]["precision"])
            metrics["overall_recall"] = float(avgs["micro avg"]["recall"])
            metrics["overall_f1"] = float(avgs["micro avg"]["f1-score"])
            metrics["overall_accuracy"] = float(acc)
            cr = {k: {"precision": float(v["precision"]), "recall": float(v["recall"]),
                      "f1-score": float(v["f1-score"]), "support": int(v["support"])} for k, v in avgs.items()}
            cases.append({"model": name, "data": data, "max_length": max_length, "pred": pred,
                          "truncated_words": no_token, "words": sum(len(g) for g in gold), "metrics": metrics,
                          "classification_report": cr, "min_logit_margin": margin})
    versions = {"python": sys.version.split()[0], "torch": torch.__version__, "transformers": transformers.__version__,
                "seqeval": getattr(seqeval, "__version__", None) or __import__("importlib.metadata").metadata.version("seqeval")}
    return cases, versions


def qa_refs():
    sys.path.insert(0, HERE)
    import make_task_metric_refs as tm
    spec = {"models": {n: os.path.join(TD, n) for n in QA_MODELS}, "cases": []}
    plan = []
    for name in QA_MODELS:
        for data, version, impossible in QA_CASES:
            rows = read_jsonl(data)
            unanswerable = any(not r["answers"]["text"] for r in rows)
            v = version or (2 if unanswerable else 1)
            imp = (v == 2) if impossible is None else impossible
            spec["cases"].append([name, [{"question": r["question"], "context": r["context"]} for r in rows], imp])
            plan.append((name, data, version, impossible, v, imp, rows))
    res = subprocess.run([QA_PYTHON, os.path.abspath(__file__), "--qa-worker"], input=json.dumps(spec),
                         capture_output=True, text=True)
    if res.returncode:
        sys.exit("QA worker (%s) failed:\n%s" % (QA_PYTHON, res.stderr[-3000:]))
    worker = json.loads(res.stdout)
    cases = []
    for (name, data, version, impossible, v, imp, rows), outs in zip(plan, worker["outputs"]):
        qas = [{"id": r["id"], "answers": [{"text": t, "answer_start": s} for t, s in
                                           zip(r["answers"]["text"], r["answers"]["answer_start"])]} for r in rows]
        dataset = [{"paragraphs": [{"qas": qas}]}]
        preds = {r["id"]: o["answer"] for r, o in zip(rows, outs)}
        if v == 1:
            metrics, per = tm.v1_evaluate(dataset, preds)
        else:
            metrics, per = tm.v2_evaluate(dataset, preds)
            metrics = {k: (int(x) if k.endswith("total") else float(x)) for k, x in metrics.items()}
        cases.append({"model": name, "data": data, "squad_version_arg": version, "handle_impossible_arg": impossible,
                      "squad_version": v, "handle_impossible": imp, "pred": outs, "metrics": metrics,
                      "per_question": [[float(a), float(b)] for a, b in per]})
    return cases, worker["versions"]


def main():
    ner, ner_versions = ner_refs()
    qa, qa_versions = qa_refs()
    doc = {"versions": ner_versions, "qa_versions": qa_versions,
           "notes": "see tools/make_taskeval_refs.py; NER metrics as evaluate's seqeval, QA as evaluate's squad / "
                    "squad_v2 (the official scripts); per_question: [exact, f1] in [0, 1]",
           "ner": ner, "qa": qa}
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=1)
        f.write("\n")
    print("%s: %d NER cases, %d QA cases" % (OUT, len(ner), len(qa)))


if __name__ == "__main__":
    if sys.argv[1:] == ["--qa-worker"]:
        qa_worker()
    else:
        main()
