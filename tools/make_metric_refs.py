#!/usr/bin/python3
"""Reference metrics from scikit-learn for tests/sklearn/metrics-cases.json (run with Debian's python3-sklearn:
/usr/bin/python3 tools/make_metric_refs.py). The test suite reads the committed numbers, never Python."""
import json, warnings
import numpy as np
from sklearn import metrics as M

rng = np.random.default_rng(12345)
cases = []

def add(name, gold, pred, scores=None, pos=1, labels=None):
    gold = np.asarray(gold); pred = np.asarray(pred)
    L = int(max(gold.max(), pred.max()) + 1) if labels is None else labels
    present = np.unique(np.concatenate([gold, pred]))
    e = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        e["accuracy"] = M.accuracy_score(gold, pred)
        if L == 2:
            e["precision"] = M.precision_score(gold, pred, pos_label=pos, zero_division=0)
            e["recall"] = M.recall_score(gold, pred, pos_label=pos, zero_division=0)
            e["f1"] = M.f1_score(gold, pred, pos_label=pos, zero_division=0)
        for avg in ["macro", "micro", "weighted"]:
            p, r, f, _ = M.precision_recall_fscore_support(gold, pred, average=avg, zero_division=0)
            e[avg + "_precision"], e[avg + "_recall"], e[avg + "_f1"] = p, r, f
        e["mcc"] = M.matthews_corrcoef(gold, pred)
        e["balanced_accuracy"] = M.balanced_accuracy_score(gold, pred)
        e["cohen_kappa"] = M.cohen_kappa_score(gold, pred)
        p, r, f, s = M.precision_recall_fscore_support(gold, pred, labels=list(range(L)), zero_division=0)
        e["per_class_precision"], e["per_class_recall"], e["per_class_f1"] = list(p), list(r), list(f)
        e["per_class_support"] = [int(x) for x in s]
        e["confusion_matrix"] = M.confusion_matrix(gold, pred, labels=list(range(L))).tolist()
        e["majority_baseline_accuracy"] = np.bincount(gold, minlength=L).max() / len(gold)
        if scores is not None:
            S = np.asarray(scores, dtype=np.float64)
            if L == 2:
                yb = (gold == pos).astype(int)
                e["roc_auc"] = M.roc_auc_score(yb, S[:, pos])
                e["average_precision"] = M.average_precision_score(yb, S[:, pos])
                e["log_loss"] = M.log_loss(yb, S[:, pos])
                e["brier"] = M.brier_score_loss(yb, S[:, pos])
            else:
                e["roc_auc"] = M.roc_auc_score(gold, S, multi_class="ovr", average="macro", labels=list(range(L)))
                Y = np.eye(L)[gold]
                e["average_precision"] = M.average_precision_score(Y, S, average="macro")
                e["log_loss"] = M.log_loss(gold, S, labels=list(range(L)))
                e["brier"] = float(np.mean(np.sum((S - Y) ** 2, axis=1)))  # multiclass Brier (sklearn >= 1.7's)
    cases.append({"name": name, "n_labels": L, "positive": pos, "gold": gold.tolist(), "pred": pred.tolist(),
                  "scores": None if scores is None else np.asarray(scores).tolist(),
                  "expected": {k: (float(v) if np.isscalar(v) else v) for k, v in e.items()}})

# the seeds' example: TP 85, FN 15, FP 10, TN 90
add("seed", [1] * 85 + [1] * 15 + [0] * 10 + [0] * 90, [1] * 85 + [0] * 15 + [1] * 10 + [0] * 90)

# unbalanced "fraud": 1000 examples, 40 positives; the model catches 8 of them
n, npos = 1000, 40
gold = np.array([1] * npos + [0] * (n - npos))
s1 = np.clip(np.where(gold == 1, rng.normal(0.35, 0.2, n), rng.normal(0.1, 0.1, n)), 0.001, 0.999).round(6)
pred = (s1 >= 0.5).astype(int)
add("fraud", gold, pred, np.stack([1 - s1, s1], 1))

# always "negative" on the same data: accuracy paradox, zero_division for precision
add("always-negative", gold, np.zeros(n, dtype=int), np.stack([np.full(n, 0.97), np.full(n, 0.03)], 1))

# binary with many tied scores (AUC and AP with ties)
g = rng.integers(0, 2, 300)
s2 = np.clip(np.round(np.where(g == 1, rng.normal(0.6, 0.25, 300), rng.normal(0.4, 0.25, 300)), 1), 0, 1)
add("ties", g, (s2 >= 0.5).astype(int), np.stack([1 - s2, s2], 1))

# three classes with probabilities; class 2 is never predicted
g3 = rng.integers(0, 3, 400)
logits = rng.normal(0, 1, (400, 3)); logits[np.arange(400), g3] += 1.2; logits[:, 2] -= 3
P = np.exp(logits); P /= P.sum(1, keepdims=True); P = P.round(8); P /= P.sum(1, keepdims=True)
add("three-class", g3, P.argmax(1), P)

# a label present only in predictions (recall ill-defined), no scores
add("unseen-gold", [0, 0, 1, 1, 0, 1], [0, 2, 1, 1, 0, 0], labels=3)

json.dump(cases, open("tests/sklearn/metrics-cases.json", "w"), indent=None, separators=(",", ":"))
print("wrote", len(cases), "cases")
