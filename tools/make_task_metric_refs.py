#!/usr/bin/env python3
"""make_task_metric_refs.py — the reference values of tests/test_task_metrics.c (tests/data/task-metrics.ref.json).

seqeval: seqeval 1.2.2 itself (get_entities, classification_report(output_dict=True) and precision_score /
recall_score / f1_score in the default mode) over random tag sequences of several schemes and the edge cases.

SQuAD: v1.1 is the official evaluate-v1.1.py (normalize_answer, f1_score, exact_match_score,
metric_max_over_ground_truths, evaluate), transcribed below; torchmetrics.functional.text.squad is run on the same
cases as a cross-check (float32, and its F1 takes v2.0's rule for empty token lists, so it is compared only where
no side normalizes to nothing). v2.0 is the official evaluate-v2.0.py (normalize_answer, get_tokens, compute_exact,
compute_f1, get_raw_scores, make_qid_to_has_ans, apply_no_ans_threshold with no na_prob file, make_eval_dict),
transcribed below.

    python3 -m venv /work/venv-metrics && /work/venv-metrics/bin/pip install seqeval torchmetrics numpy
    /work/venv-metrics/bin/python tools/make_task_metric_refs.py
"""
import collections
import importlib.metadata
import json
import math
import random
import re
import string
import sys
import warnings

from seqeval.metrics import classification_report, f1_score, precision_score, recall_score
from seqeval.metrics.sequence_labeling import get_entities

OUT = "tests/data/task-metrics.ref.json"


def num(x):
    x = float(x)
    return None if math.isnan(x) else x


# ---- seqeval ----------------------------------------------------------------------------------------------

def seqeval_case(name, gold, pred, suffix=False, zero_division="warn"):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        rep = classification_report(gold, pred, suffix=suffix, output_dict=True, zero_division=zero_division)
        micro = [precision_score(gold, pred, suffix=suffix, zero_division=zero_division),
                 recall_score(gold, pred, suffix=suffix, zero_division=zero_division),
                 f1_score(gold, pred, suffix=suffix, zero_division=zero_division)]
        eg = get_entities(gold, suffix)
        ep = get_entities(pred, suffix)
    types, avgs = [], {}
    for k, v in rep.items():
        row = {"precision": num(v["precision"]), "recall": num(v["recall"]), "f1": num(v["f1-score"]),
               "support": int(v["support"])}
        if k in ("micro avg", "macro avg", "weighted avg"):
            avgs[k.split()[0]] = row
        else:
            types.append(dict(type=k, **row))
    assert [t["type"] for t in types] == sorted(t["type"] for t in types)
    for a, b in zip(micro, (avgs["micro"]["precision"], avgs["micro"]["recall"], avgs["micro"]["f1"])):
        assert a == b, (name, micro, avgs["micro"])
    return {"name": name, "gold": gold, "pred": pred, "suffix": suffix,
            "zero_division": 1 if zero_division == 1 else 0, "types": types, **avgs,
            "gold_entities": [list(e) for e in eg], "pred_entities": [list(e) for e in ep]}


TYPES = ["PER", "LOC", "ORG", "MISC"]


def random_tags(rng, scheme, n):
    """One sentence of n tags in a scheme, sometimes bent out of it."""
    out, i = [], 0
    while i < n:
        if rng.random() < 0.45:
            out.append("O")
            i += 1
            continue
        t = rng.choice(TYPES)
        k = min(n - i, rng.choice([1, 1, 2, 3, 4]))
        if scheme == "IOB2":
            out += ["B-" + t] + ["I-" + t] * (k - 1)
        elif scheme == "IOB1":
            first = "B-" if out and out[-1].endswith("-" + t) else "I-"
            out += [first + t] + ["I-" + t] * (k - 1)
        elif scheme == "IOE":
            out += ["I-" + t] * (k - 1) + ["E-" + t]
        elif scheme == "IOBES":
            out += ["S-" + t] if k == 1 else ["B-" + t] + ["I-" + t] * (k - 2) + ["E-" + t]
        elif scheme == "BILOU":
            out += ["U-" + t] if k == 1 else ["B-" + t] + ["I-" + t] * (k - 2) + ["L-" + t]
        elif scheme == "suffix":
            out += [t + "-S"] if k == 1 else [t + "-B"] + [t + "-I"] * (k - 2) + [t + "-E"]
        else:  # anything: every prefix, none, odd types
            pool = ["B-", "I-", "E-", "S-", "", "B", "I", ".", "X-", "Bx-"]
            out += [rng.choice(pool) + rng.choice(TYPES + ["", "_", "ÉTÉ", "人名"]) for _ in range(k)]
        i += k
    out = [x if x else "O" for x in out]
    return out[:n]


def perturb(rng, tags, scheme, p):
    out = list(tags)
    for j in range(len(out)):
        if rng.random() < p:
            r = rng.random()
            if r < 0.3:
                out[j] = "O"
            elif r < 0.6 and out[j] != "O":
                sep = out[j].find("-")
                pre = out[j][:sep + 1] if sep >= 0 else ""
                if scheme == "suffix":
                    out[j] = rng.choice(TYPES) + out[j][-2:]
                else:
                    out[j] = pre + rng.choice(TYPES)
            else:
                out[j] = random_tags(rng, scheme, 1)[0] if scheme != "anything" or rng.random() < 0.5 else \
                    rng.choice(["B-PER", "I-LOC", "E-ORG", "S-MISC", "O"])
    return out


def seqeval_cases():
    rng = random.Random(20240611)
    cases = []
    for scheme in ["IOB2", "IOB1", "IOE", "IOBES", "BILOU", "suffix", "anything"]:
        for rep in range(4):
            n = rng.choice([1, 5, 30, 60])
            gold, pred = [], []
            p = rng.choice([0.0, 0.05, 0.2, 0.5])
            for _ in range(n):
                L = rng.choice([0, 1, 3, 8, 15, 25])
                g = random_tags(rng, scheme, L)
                gold.append(g)
                pred.append(perturb(rng, g, scheme, p))
            zd = 1 if rep == 3 else "warn"
            cases.append(seqeval_case("random-%s-%d" % (scheme, rep), gold, pred, suffix=scheme == "suffix",
                                      zero_division=zd))
    E = seqeval_case
    cases += [
        E("docstring", [["O", "O", "O", "B-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]],
          [["O", "O", "B-MISC", "I-MISC", "I-MISC", "I-MISC", "O"], ["B-PER", "I-PER", "O"]]),
        E("iob1-i-after-o", [["O", "I-PER", "I-PER", "O", "I-LOC"]], [["I-PER", "I-PER", "I-PER", "O", "B-LOC"]]),
        E("i-after-other-type", [["B-PER", "I-LOC", "I-LOC", "B-LOC", "I-PER"]],
          [["B-PER", "I-PER", "I-LOC", "B-LOC", "I-LOC"]]),
        E("b-b", [["B-PER", "B-PER", "I-PER", "B-LOC"]], [["B-PER", "I-PER", "B-PER", "B-LOC"]]),
        E("ioe-iobes", [["I-PER", "E-PER", "S-LOC", "E-LOC", "E-LOC", "B-ORG", "E-ORG", "S-ORG"]],
          [["B-PER", "E-PER", "S-LOC", "I-LOC", "E-LOC", "S-ORG", "E-ORG", "S-ORG"]]),
        E("e-after-o", [["O", "E-PER", "O", "E-LOC", "E-LOC"]], [["O", "E-PER", "E-PER", "O", "E-LOC"]]),
        E("s-then-i", [["S-PER", "I-PER", "E-PER", "S-PER", "E-PER"]], [["S-PER", "S-PER", "I-PER", "S-PER", "O"]]),
        E("no-prefix", [["PER", "PER", "O", "LOC", "PER"]], [["PER", "O", "O", "LOC", "LOC"]]),
        E("bare-prefixes", [["B", "I", "O", "I", "E", "S", "B", "B"]], [["B", "I", "I", "O", "E", "S", "I", "B"]]),
        E("dot-tags", [[".", "B-PER", ".", "I-PER", ".-LOC", "O"]], [["B-PER", ".", ".", ".-PER", "I-PER", "O"]]),
        E("o-with-type", [["B-PER", "O-PER", "I-PER", "OX", "B-LOC"]], [["B-PER", "I-PER", "O-LOC", "B-LOC", "O"]]),
        E("type-split", [["B-PER-X", "I-PER-X", "BX-Y", "IX-Y", "B--", "I--"]],
          [["B-PER-X", "I-PER", "BZ-Y", "I-Y", "B-", "I-"]]),
        E("stale-begin", [["B-PER"], ["X", "B-LOC"], ["Q", "Q", "O", "Q"]],
          [["B-PER"], ["X", "X", "B-LOC"][:2], ["O", "Q", "B-Q", "Q"]]),
        E("cross-sentence", [["B-PER", "I-PER"], ["I-PER", "I-PER"], ["E-PER"], ["I-LOC"]],
          [["B-PER"] * 2, ["I-PER"] * 2, ["S-PER"], ["B-LOC"]]),
        E("empty-sentences", [[], ["B-PER"], [], []], [[], ["B-PER"], [], []]),
        E("all-o", [["O", "O"], ["O"]], [["O", "O"], ["O"]]),
        E("all-o-zd1", [["O", "O"], ["O"]], [["O", "O"], ["O"]], zero_division=1),
        E("gold-none", [["O", "O", "O"]], [["B-PER", "O", "B-LOC"]]),
        E("gold-none-zd1", [["O", "O", "O"]], [["B-PER", "O", "B-LOC"]], zero_division=1),
        E("pred-none", [["B-PER", "O", "B-LOC"]], [["O", "O", "O"]]),
        E("pred-none-zd1", [["B-PER", "O", "B-LOC"]], [["O", "O", "O"]], zero_division=1),
        E("type-only-pred", [["B-PER", "O"]], [["B-PER", "B-ORG"]]),
        E("type-only-pred-zd1", [["B-PER", "O"]], [["B-PER", "B-ORG"]], zero_division=1),
        E("unicode-types", [["B-ÉTÉ", "I-ÉTÉ", "B-人名", "B-Zed", "B-été"]],
          [["B-ÉTÉ", "B-ÉTÉ", "B-人名", "S-Zed", "B-é"]]),
        E("unicode-tag-char", [["É-PER", "É-PER", "Ü", "B-PER"]], [["É-PER", "O", "Ü", "B-PER"]]),
        E("underscore-type", [["B-_", "I", "B", "I-_"]], [["B", "I-_", "B-_", "I"]]),
        E("suffix-basic", [["PER-B", "PER-I", "O", "LOC-S", "ORG-B", "ORG-E"]],
          [["PER-B", "PER-E", "O", "LOC-B", "ORG-B", "ORG-I"]], suffix=True),
        E("suffix-odd", [["B", "-B", "X-Y-B", "X-Y-I", "PER", "O", "PERI", "LOC-É"]],
          [["B", "I", "X-Y-B", "Y-I", "PER", "PER", "PERI", "LOC-É"]], suffix=True),
        E("bilou", [["B-PER", "I-PER", "L-PER", "U-LOC", "O"]], [["B-PER", "L-PER", "O", "U-LOC", "U-LOC"]]),
    ]
    return cases


# ---- SQuAD v1.1: the official evaluate-v1.1.py ------------------------------------------------------------

def v1_normalize_answer(s):
    def remove_articles(text):
        return re.sub(r'\b(a|an|the)\b', ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def v1_f1_score(prediction, ground_truth):
    prediction_tokens = v1_normalize_answer(prediction).split()
    ground_truth_tokens = v1_normalize_answer(ground_truth).split()
    common = collections.Counter(prediction_tokens) & collections.Counter(ground_truth_tokens)
    num_same = sum(common.values())
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(prediction_tokens)
    recall = 1.0 * num_same / len(ground_truth_tokens)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def v1_exact_match_score(prediction, ground_truth):
    return (v1_normalize_answer(prediction) == v1_normalize_answer(ground_truth))


def v1_metric_max_over_ground_truths(metric_fn, prediction, ground_truths):
    scores_for_ground_truths = []
    for ground_truth in ground_truths:
        score = metric_fn(prediction, ground_truth)
        scores_for_ground_truths.append(score)
    return max(scores_for_ground_truths)


def v1_evaluate(dataset, predictions):
    f1 = exact_match = total = 0
    per = []
    for article in dataset:
        for paragraph in article['paragraphs']:
            for qa in paragraph['qas']:
                total += 1
                ground_truths = list(map(lambda x: x['text'], qa['answers']))
                prediction = predictions[qa['id']]
                em = v1_metric_max_over_ground_truths(v1_exact_match_score, prediction, ground_truths)
                f = v1_metric_max_over_ground_truths(v1_f1_score, prediction, ground_truths)
                exact_match += em
                f1 += f
                per.append((float(em), float(f)))
    exact_match = 100.0 * exact_match / total
    f1 = 100.0 * f1 / total
    return {'exact_match': exact_match, 'f1': f1}, per


# ---- SQuAD v2.0: the official evaluate-v2.0.py ------------------------------------------------------------

def v2_normalize_answer(s):
    def remove_articles(text):
        regex = re.compile(r'\b(a|an|the)\b', re.UNICODE)
        return re.sub(regex, ' ', text)

    def white_space_fix(text):
        return ' '.join(text.split())

    def remove_punc(text):
        exclude = set(string.punctuation)
        return ''.join(ch for ch in text if ch not in exclude)

    def lower(text):
        return text.lower()

    return white_space_fix(remove_articles(remove_punc(lower(s))))


def v2_get_tokens(s):
    if not s:
        return []
    return v2_normalize_answer(s).split()


def v2_compute_exact(a_gold, a_pred):
    return int(v2_normalize_answer(a_gold) == v2_normalize_answer(a_pred))


def v2_compute_f1(a_gold, a_pred):
    gold_toks = v2_get_tokens(a_gold)
    pred_toks = v2_get_tokens(a_pred)
    common = collections.Counter(gold_toks) & collections.Counter(pred_toks)
    num_same = sum(common.values())
    if len(gold_toks) == 0 or len(pred_toks) == 0:
        # If either is no-answer, then F1 is 1 if they agree, 0 otherwise
        return int(gold_toks == pred_toks)
    if num_same == 0:
        return 0
    precision = 1.0 * num_same / len(pred_toks)
    recall = 1.0 * num_same / len(gold_toks)
    f1 = (2 * precision * recall) / (precision + recall)
    return f1


def v2_make_qid_to_has_ans(dataset):
    qid_to_has_ans = {}
    for article in dataset:
        for p in article['paragraphs']:
            for qa in p['qas']:
                qid_to_has_ans[qa['id']] = bool(qa['answers'])
    return qid_to_has_ans


def v2_get_raw_scores(dataset, preds):
    exact_scores = {}
    f1_scores = {}
    for article in dataset:
        for p in article['paragraphs']:
            for qa in p['qas']:
                qid = qa['id']
                gold_answers = [a['text'] for a in qa['answers'] if v2_normalize_answer(a['text'])]
                if not gold_answers:
                    # For unanswerable questions, only correct answer is empty string
                    gold_answers = ['']
                a_pred = preds[qid]
                # Take max over all gold answers
                exact_scores[qid] = max(v2_compute_exact(a, a_pred) for a in gold_answers)
                f1_scores[qid] = max(v2_compute_f1(a, a_pred) for a in gold_answers)
    return exact_scores, f1_scores


def v2_apply_no_ans_threshold(scores, na_probs, qid_to_has_ans, na_prob_thresh):
    new_scores = {}
    for qid, s in scores.items():
        pred_na = na_probs[qid] > na_prob_thresh
        if pred_na:
            new_scores[qid] = float(not qid_to_has_ans[qid])
        else:
            new_scores[qid] = s
    return new_scores


def v2_make_eval_dict(exact_scores, f1_scores, qid_list=None):
    if not qid_list:
        total = len(exact_scores)
        return collections.OrderedDict([
            ('exact', 100.0 * sum(exact_scores.values()) / total),
            ('f1', 100.0 * sum(f1_scores.values()) / total),
            ('total', total),
        ])
    else:
        total = len(qid_list)
        return collections.OrderedDict([
            ('exact', 100.0 * sum(exact_scores[k] for k in qid_list) / total),
            ('f1', 100.0 * sum(f1_scores[k] for k in qid_list) / total),
            ('total', total),
        ])


def v2_merge_eval(main_eval, new_eval, prefix):
    for k in new_eval:
        main_eval['%s_%s' % (prefix, k)] = new_eval[k]


def v2_evaluate(dataset, preds):
    na_probs = {k: 0.0 for k in preds}
    qid_to_has_ans = v2_make_qid_to_has_ans(dataset)
    has_ans_qids = [k for k, v in qid_to_has_ans.items() if v]
    no_ans_qids = [k for k, v in qid_to_has_ans.items() if not v]
    exact_raw, f1_raw = v2_get_raw_scores(dataset, preds)
    exact_thresh = v2_apply_no_ans_threshold(exact_raw, na_probs, qid_to_has_ans, 1.0)
    f1_thresh = v2_apply_no_ans_threshold(f1_raw, na_probs, qid_to_has_ans, 1.0)
    out_eval = v2_make_eval_dict(exact_thresh, f1_thresh)
    if has_ans_qids:
        v2_merge_eval(out_eval, v2_make_eval_dict(exact_thresh, f1_thresh, qid_list=has_ans_qids), 'HasAns')
    if no_ans_qids:
        v2_merge_eval(out_eval, v2_make_eval_dict(exact_thresh, f1_thresh, qid_list=no_ans_qids), 'NoAns')
    per = [(float(exact_thresh[q]), float(f1_thresh[q])) for q in qid_to_has_ans]
    return dict(out_eval), per


def as_dataset(questions):
    qas = [{"id": "q%d" % i, "answers": [{"text": t, "answer_start": 0} for t in q["answers"]]}
           for i, q in enumerate(questions)]
    preds = {"q%d" % i: q["prediction"] for i, q in enumerate(questions)}
    return [{"paragraphs": [{"qas": qas}]}], preds


def torchmetrics_v1(questions):
    import torch  # noqa: F401
    from torchmetrics.functional.text import squad
    preds = [{"prediction_text": q["prediction"], "id": "q%d" % i} for i, q in enumerate(questions)]
    target = [{"answers": {"answer_start": [0] * len(q["answers"]), "text": q["answers"]}, "id": "q%d" % i}
              for i, q in enumerate(questions)]
    r = squad(preds, target)
    return float(r["exact_match"]), float(r["f1"])


def squad_case(name, version, questions, torch_checked):
    ds, preds = as_dataset(questions)
    if version == 1:
        res, per = v1_evaluate(ds, preds)
        exp = {"exact": res["exact_match"], "f1": res["f1"], "total": len(questions)}
        # torchmetrics on the questions where no side normalizes to "" (there its F1 follows v2.0's rule)
        sub = [q for q in questions if all(v1_normalize_answer(t) for t in q["answers"] + [q["prediction"]])]
        if sub:
            ref, _ = v1_evaluate(*as_dataset(sub))
            em, f = torchmetrics_v1(sub)
            assert abs(em - ref["exact_match"]) < 1e-3 and abs(f - ref["f1"]) < 1e-3, (name, em, f, ref)
            torch_checked.append("%s (%d of %d questions)" % (name, len(sub), len(questions)))
    else:
        res, per = v2_evaluate(ds, preds)
        exp = {k: res.get(k) for k in ("exact", "f1", "total", "HasAns_exact", "HasAns_f1", "HasAns_total",
                                       "NoAns_exact", "NoAns_f1", "NoAns_total")}
    return {"name": name, "version": version, "questions": questions, "expected": exp,
            "question_exact": [p[0] for p in per], "question_f1": [p[1] for p in per]}


NORMALIZE_INPUTS = [
    "The Quick, Brown Fox!", "an apple a day", "theater another anthem", "A", "THE", "the", "  the  ", "",
    "a.b", "a-b c_d", "Tom's", "l'amour", "“Smart” quotes — dashes…", "¿Qué?", "ÉCOLE Élève", "ŞİŞLİ İstanbul",
    "ΟΔΥΣΣΕΥΣ", "ΣΑΣ ΣΑΣ.", "Σ", "ΑΣ", "ΑΣΑ", "ΑΣ'", "ΑΣ'Α", "Α.Σ", "ΑΣ\u0301", "ΑΣ\u0301Α", "ΑΣ1", "ⒶΣ", "ΑΣⒶ",
    "ªΣ", "ⅫΣ ⅻΣ", "ǅΣ", "Σ Σ", "x\u00a0the\u00a0y", "a\u2003b\u3000c", "a\u200bthe\u200bb", "the\ufeffend",
    "a\u2028b\u2029c\u0085d", "\u001cthe\u001f", "\u180ethe", "the\u0301", "thé", "the½", "the²", "the٣", "the\u00b7a",
    "東京 the 大学", "北京大学。", "ｔｈｅ ＴＨＥ", "Straße STRASSE", "ﬁnance", "ΚΑΛΗΜΈΡΑ", "Ǆ ǅ ǆ", "Ա Ֆ",
    "\tTabs\nand\rreturns\x0b\x0c", "K\u212a Å\u212b", "ÀÉÎÕÜ the ÇÑ", "a a a the the an", "an,the;a",
    "(the) [a] {an}", "\\the/", "the_a", "emoji 😀 the 👍", "Ⅻ", "x\u0130y", "\u0130", "\u03a3\u0345",
]


def squad_cases():
    tc = []
    S = squad_case

    def q(pred, *answers):
        return {"prediction": pred, "answers": list(answers)}

    base = [
        q("Denver Broncos", "Denver Broncos", "The Denver Broncos"),
        q("the Broncos", "Denver Broncos"),
        q("Carolina Panthers.", "Carolina Panthers", "Panthers"),
        q("Santa Clara, California", "Santa Clara, California", "Levi's Stadium", "Levi's Stadium in the SF Bay Area"),
        q("Levis Stadium", "Levi's Stadium"),
        q("golden anniversary", "gold", "\"golden anniversary\""),
        q("1976 1976", "1976"),
        q("a a b", "a b b"),
        q("an", "an apple"),
        q("ÉCOLE normale", "école Normale"),
        q("São\u00a0Paulo", "são paulo", "Sao Paulo"),
        q("東京 大学", "東京大学", "東京 大学"),
        q("北京大学。", "北京大学"),
        q("Ωmega ΣΙΣΥΦΟΣ", "ωmega σισυφος", "ωmega σισυφοσ"),
        q("x\u2003y", "x y"),
        q("x\u200by", "x y", "xy"),
        q("İstanbul", "i̇stanbul", "istanbul"),
        q("the cat sat on the mat", "cat sat on mat", "a cat"),
        q("K\u212a", "kk"),
        q("Straße", "strasse", "straße"),
    ]
    cases = [S("v1-basic", 1, base, tc), S("v2-basic", 2, base, tc)]
    empties = [
        q("", "the"), q("the", "a"), q("", "answer"), q("!!!", "..."), q("a", "the cat"),
        q("something", "something", "the"),
    ]
    cases += [S("v1-empty-normalized", 1, empties, tc), S("v2-empty-normalized", 2, empties, tc)]
    unans = [
        q("", ), q("Denver", ), q("the", ), q(" ", ), q("Denver Broncos", "Denver Broncos"),
        q("", "Denver Broncos"), q("", "the", "a"), q("Broncos", "the", "a"), q("an", "the"),
    ]
    cases.append(S("v2-unanswerable", 2, unans, tc))
    cases.append(S("v2-has-ans-only", 2, base[:6], tc))
    cases.append(S("v2-no-ans-only", 2, [q(""), q("x"), q("the"), q("")], tc))
    # random answers from a small vocabulary: many ties, repeated tokens, punctuation and articles
    rng = random.Random(7)
    vocab = ["the", "a", "an", "The", "A", "cat", "Cat", "dog", "cat.", "dog,", "Émile", "émile", "北京", "x\u00a0y",
             "1976", "ΣΟΦΙΑ", "σοφια", "(1976)", "---", "'s", "New", "York", "new york", "Ⅻ", "İ"]

    def phrase():
        return rng.choice([" ", "  ", "\u2009", "\t"]).join(rng.choice(vocab) for _ in range(rng.randint(0, 6)))

    for v in (1, 2):
        for rep in range(3):
            qs = []
            for _ in range(rng.choice([10, 40, 120])):
                k = rng.randint(1, 4) if v == 1 else rng.choice([0, 0, 1, 2, 3])
                golds = [phrase() for _ in range(k)]
                pr = rng.random()
                pred = rng.choice(golds) if golds and pr < 0.3 else "" if pr < 0.4 else phrase()
                qs.append({"prediction": pred, "answers": golds})
            cases.append(S("v%d-random-%d" % (v, rep), v, qs, tc))
    return cases, tc


def main():
    import numpy
    import torch
    import torchmetrics
    norm = []
    for s in NORMALIZE_INPUTS:
        a, b = v1_normalize_answer(s), v2_normalize_answer(s)
        assert a == b
        norm.append({"text": s, "normalized": a})
    sq, tc = squad_cases()
    doc = {
        "generator": "tools/make_task_metric_refs.py",
        "versions": {"python": sys.version.split()[0], "seqeval": importlib.metadata.version("seqeval"),
                     "torchmetrics": torchmetrics.__version__, "torch": torch.__version__, "numpy": numpy.__version__},
        "squad_v1": "official evaluate-v1.1.py, transcribed; torchmetrics.functional.text.squad agrees on " +
                    ", ".join(tc),
        "squad_v2": "official evaluate-v2.0.py (no na_prob file), transcribed",
        "seqeval": seqeval_cases(),
        "squad": sq,
        "normalize": norm,
    }
    with open(OUT, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False, indent=None, separators=(",", ":"), allow_nan=False)
        f.write("\n")
    n_sent = sum(len(c["gold"]) for c in doc["seqeval"])
    print("%s: %d seqeval cases (%d sentences), %d SQuAD cases (%d questions), %d normalizations" % (
        OUT, len(doc["seqeval"]), n_sent, len(sq), sum(len(c["questions"]) for c in sq), len(norm)))


if __name__ == "__main__":
    main()
