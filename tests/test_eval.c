/*
 * test_eval.c — the evaluation toolkit against scikit-learn's numbers (tests/sklearn/metrics-cases.json, made by
 * tools/make_metric_refs.py), the seeds' worked example, the trap warnings, datasets and their errors,
 * leakage, bootstrap reproducibility, McNemar, and the eval/metrics/bias/compare commands end to end.
 */
#include "bertc_eval.h"
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

static bool near(double a, double b, double tol) { return (isnan(a) && isnan(b)) || fabs(a - b) <= tol; }

static bool has_warning(const bertc_metrics *m, const char *needle) {
    for (int i = 0; i < m->n_warnings; i++)
        if (strstr(m->warnings[i], needle)) return true;
    return false;
}

static void t_sklearn_cases(void) {
    char *txt;
    size_t len;
    CHECK(!read_file("tests/sklearn/metrics-cases.json", &txt, &len, NULL), "read cases");
    json_error_t je;
    json_t *cases = json_loadb(txt, len, 0, &je);
    free(txt);
    CHECK(json_array_size(cases) == 6, "6 cases (%s)", cases ? "" : je.text);
    size_t ci;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        const char *name = json_string_value(json_object_get(c, "name"));
        int L = (int)json_number_value(json_object_get(c, "n_labels"));
        json_t *g = json_object_get(c, "gold"), *p = json_object_get(c, "pred"), *s = json_object_get(c, "scores");
        size_t n = json_array_size(g);
        int *gold = malloc(n * sizeof *gold), *pred = malloc(n * sizeof *pred);
        double *sc = json_is_array(s) ? malloc(n * (size_t)L * sizeof *sc) : NULL;
        for (size_t i = 0; i < n; i++) {
            gold[i] = (int)json_number_value(json_array_get(g, i));
            pred[i] = (int)json_number_value(json_array_get(p, i));
            for (int k = 0; sc && k < L; k++)
                sc[i * L + k] = json_number_value(json_array_get(json_array_get(s, i), (size_t)k));
        }
        bertc_metrics_params mp = bertc_metrics_default_params();
        mp.bootstrap = 0;
        mp.positive = (int)json_number_value(json_object_get(c, "positive"));
        bertc_metrics *m = NULL;
        bertc_error err;
        CHECK(!bertc_metrics_compute(n, L, gold, pred, sc, NULL, &mp, &m, &err), "%s: %s", name, err.message);
        if (!m) continue;
        const char *k;
        json_t *v;
        json_object_foreach(json_object_get(c, "expected"), k, v) {
            if (json_is_number(v)) {
                double got = !strcmp(k, "accuracy")                     ? m->accuracy
                             : !strcmp(k, "precision")                  ? m->precision
                             : !strcmp(k, "recall")                     ? m->recall
                             : !strcmp(k, "f1")                         ? m->f1
                             : !strcmp(k, "macro_precision")            ? m->macro_precision
                             : !strcmp(k, "macro_recall")               ? m->macro_recall
                             : !strcmp(k, "macro_f1")                   ? m->macro_f1
                             : !strcmp(k, "micro_precision")            ? m->micro_precision
                             : !strcmp(k, "micro_recall")               ? m->micro_recall
                             : !strcmp(k, "micro_f1")                   ? m->micro_f1
                             : !strcmp(k, "weighted_precision")         ? m->weighted_precision
                             : !strcmp(k, "weighted_recall")            ? m->weighted_recall
                             : !strcmp(k, "weighted_f1")                ? m->weighted_f1
                             : !strcmp(k, "mcc")                        ? m->mcc
                             : !strcmp(k, "balanced_accuracy")          ? m->balanced_accuracy
                             : !strcmp(k, "cohen_kappa")                ? m->cohen_kappa
                             : !strcmp(k, "roc_auc")                    ? m->roc_auc
                             : !strcmp(k, "average_precision")          ? m->average_precision
                             : !strcmp(k, "log_loss")                   ? m->log_loss
                             : !strcmp(k, "brier")                      ? m->brier
                             : !strcmp(k, "majority_baseline_accuracy") ? m->majority_baseline_accuracy
                                                                        : NAN;
                CHECK(near(got, json_number_value(v), 1e-9), "%s %s: %.12g, scikit-learn %.12g", name, k, got,
                      json_number_value(v));
            } else if (!strcmp(k, "confusion_matrix")) {
                for (int t = 0; t < L; t++)
                    for (int q = 0; q < L; q++)
                        CHECK(m->confusion[t * L + q] ==
                                  json_number_value(json_array_get(json_array_get(v, (size_t)t), (size_t)q)),
                              "%s confusion[%d][%d]", name, t, q);
            } else {
                for (int q = 0; q < L; q++) {
                    double want = json_number_value(json_array_get(v, (size_t)q));
                    const bertc_class_metrics *pc = &m->per_class[q];
                    double got = !strcmp(k, "per_class_precision") ? pc->precision
                                 : !strcmp(k, "per_class_recall")  ? pc->recall
                                 : !strcmp(k, "per_class_f1")      ? pc->f1
                                                                   : (double)pc->support;
                    CHECK(near(got, want, 1e-12), "%s %s[%d]: %g vs %g", name, k, q, got, want);
                }
            }
        }
        /* the traps, named */
        if (!strcmp(name, "fraud")) {
            CHECK(has_warning(m, "unbalanced classes"), "fraud: unbalanced warning");
            CHECK(has_warning(m, "high accuracy (0.9730) but recall on the minority class '1' is only 0.3250"),
                  "fraud: minority recall warning");
            CHECK(!has_warning(m, "accuracy paradox"), "fraud beats the baseline");
        }
        if (!strcmp(name, "always-negative")) {
            CHECK(has_warning(m, "accuracy paradox: accuracy 0.9600 is no better than always predicting the majority"),
                  "paradox warning");
            CHECK(has_warning(m, "precision is ill-defined for label '1'"), "zero_division warning");
            CHECK(has_warning(m, "never predicts '1'"), "never predicts");
        }
        if (!strcmp(name, "unseen-gold")) CHECK(has_warning(m, "recall is ill-defined for label '2'"), "recall zero div");
        if (!strcmp(name, "seed")) {
            CHECK(m->n_warnings == 0, "seed example: no warnings, got %d (%s)", m->n_warnings,
                  m->n_warnings ? m->warnings[0] : "");
            CHECK(fabs(m->precision - 0.8947) < 5e-5 && m->recall == 0.85 && m->accuracy == 0.875 &&
                      fabs(m->f1 - 0.8718) < 5e-5,
                  "seed: P %.4f R %.4f A %.4f F1 %.4f", m->precision, m->recall, m->accuracy, m->f1);
            CHECK(m->confusion[1 * 2 + 1] == 85 && m->confusion[1 * 2 + 0] == 15 && m->confusion[0 * 2 + 1] == 10 &&
                      m->confusion[0] == 90,
                  "seed confusion");
        }
        /* best-F1 threshold is the best over every distinct threshold (brute force) */
        if (sc && L == 2) {
            double best = -1;
            for (size_t t = 0; t < n; t++) {
                double th = sc[t * 2 + 1], tp = 0, fp = 0, fn = 0;
                for (size_t i = 0; i < n; i++) {
                    int yp = sc[i * 2 + 1] >= th, yt = gold[i] == 1;
                    tp += yp && yt, fp += yp && !yt, fn += !yp && yt;
                }
                double f1 = tp ? 2 * tp / (2 * tp + fp + fn) : 0;
                if (f1 > best) best = f1;
            }
            CHECK(near(m->best_f1.f1, best, 1e-12), "%s best f1 %g vs %g", name, m->best_f1.f1, best);
            CHECK(isnan(m->for_precision.threshold) || m->for_precision.precision >= 0.9, "%s precision target", name);
        }
        bertc_metrics_free(m);
        free(gold), free(pred), free(sc);
    }
    json_decref(cases);
}

static void t_bootstrap_mcnemar(void) {
    int gold[200], pred[200];
    for (int i = 0; i < 200; i++) gold[i] = i % 2, pred[i] = (i % 7 == 0) ? 1 - gold[i] : gold[i];
    bertc_metrics_params mp = bertc_metrics_default_params();
    mp.seed = 42;
    bertc_metrics *a = NULL, *b = NULL, *c = NULL;
    bertc_metrics_compute(200, 2, gold, pred, NULL, NULL, &mp, &a, NULL);
    bertc_metrics_compute(200, 2, gold, pred, NULL, NULL, &mp, &b, NULL);
    mp.seed = 43;
    bertc_metrics_compute(200, 2, gold, pred, NULL, NULL, &mp, &c, NULL);
    CHECK(a && b && c, "computed");
    if (a && b && c) {
        CHECK(a->ci_accuracy.lo == b->ci_accuracy.lo && a->ci_f1.hi == b->ci_f1.hi, "same seed, same interval");
        CHECK(a->ci_accuracy.lo != c->ci_accuracy.lo || a->ci_accuracy.hi != c->ci_accuracy.hi, "seed matters");
        CHECK(a->ci_accuracy.lo < a->accuracy && a->accuracy < a->ci_accuracy.hi, "interval holds the estimate");
        /* binomial standard error sqrt(p(1-p)/n) ~ 0.0236 at p = 0.855: the interval is about 4 of them wide */
        double w = a->ci_accuracy.hi - a->ci_accuracy.lo;
        CHECK(w > 0.07 && w < 0.12, "interval width %g", w);
    }
    bertc_metrics_free(a), bertc_metrics_free(b), bertc_metrics_free(c);

    /* McNemar: 10 vs 2 disagreements -> exact binomial 2 * P(X <= 2 | 12, 1/2) = 0.0385742 */
    int g[40] = {0}, pa[40], pb[40];
    for (int i = 0; i < 40; i++) pa[i] = pb[i] = 0;
    for (int i = 0; i < 10; i++) pb[i] = 1; /* A right, B wrong */
    for (int i = 10; i < 12; i++) pa[i] = 1;
    bertc_mcnemar r = bertc_mcnemar_test(40, g, pa, pb);
    CHECK(r.b == 10 && r.c == 2 && r.exact && near(r.p_value, 0.03857421875, 1e-12), "exact mcnemar p %g", r.p_value);
    int g2[60] = {0}, qa[60] = {0}, qb[60] = {0};
    for (int i = 0; i < 30; i++) qb[i] = 1;
    for (int i = 30; i < 40; i++) qa[i] = 1;
    r = bertc_mcnemar_test(60, g2, qa, qb);
    CHECK(!r.exact && near(r.statistic, 9.025, 1e-12) && near(r.p_value, 0.002663119259138554, 1e-12),
          "chi2 mcnemar %g p %g", r.statistic, r.p_value);
}

static bertc_dataset *parse(const char *data, const char *name, const char *text_col, bertc_error *err) {
    bertc_dataset_params p = bertc_dataset_default_params();
    p.text_column = text_col;
    bertc_dataset *d = NULL;
    bertc_dataset_parse(data, strlen(data), name, &p, &d, err);
    return d;
}

static void t_datasets(void) {
    bertc_error err;
    bertc_dataset *d = parse("sentence\tlabel\nit 's good \t1\r\n\nbad \"quoted\"\t0\n", "x.tsv", NULL, &err);
    CHECK(d && d->n == 2 && !strcmp(d->ex[0].text, "it 's good ") && !strcmp(d->ex[1].text, "bad \"quoted\"") &&
              !strcmp(d->ex[1].label, "0") && d->ex[1].line == 4,
          "tsv");
    bertc_dataset_free(d);
    d = parse("id,review,label\n1,\"multi\nline, with \"\"quotes\"\"\",positive\n2,plain,negative\n", "x.csv", "review", &err);
    CHECK(d && d->n == 2 && !strcmp(d->ex[0].text, "multi\nline, with \"quotes\"") && !strcmp(d->ex[1].label, "negative") &&
              d->ex[1].line == 4,
          "csv: %s", d ? d->ex[0].text : err.message);
    bertc_dataset_free(d);
    d = parse("{\"text\": \"a\", \"label\": 1}\n\n{\"text\": \"b\", \"text_pair\": \"c\", \"label\": \"NEG\"}\n", "x.jsonl", NULL, &err);
    CHECK(d && d->n == 2 && !strcmp(d->ex[0].label, "1") && d->ex[1].pair && !strcmp(d->ex[1].pair, "c"), "jsonl");
    bertc_dataset_free(d);
    d = parse("sentence1\tsentence2\tlabel\nA\tB\t0\n", "pairs.tsv", NULL, &err);
    CHECK(d && d->ex[0].pair && !strcmp(d->ex[0].pair, "B"), "sentence1/sentence2 pair");
    bertc_dataset_free(d);
    /* the same default pairs in every format: QNLI's question / sentence, MNLI's premise / hypothesis */
    static const char *const pair_files[][2] = {
        {"sentence\tquestion\tlabel\nB\tA\t0\n", "qnli.tsv"},
        {"premise,hypothesis,label\nA,B,0\n", "mnli.csv"},
        {"{\"sentence\": \"B\", \"question\": \"A\", \"label\": 0}\n", "qnli.jsonl"},
        {"{\"sentence1\": \"A\", \"sentence2\": \"B\", \"label\": 0}\n", "mrpc.jsonl"},
    };
    for (int i = 0; i < 4; i++) {
        d = parse(pair_files[i][0], pair_files[i][1], NULL, &err);
        CHECK(d && !strcmp(d->ex[0].text, "A") && d->ex[0].pair && !strcmp(d->ex[0].pair, "B"), "%s: text and pair",
              pair_files[i][1]);
        bertc_dataset_free(d);
    }
    /* errors name the file and line */
    static const struct {
        const char *data, *name, *want;
    } bad[] = {
        {"sentence\tlabel\nok\t1\ntoo\tmany\tfields\n", "a.tsv", "a.tsv:3: 3 fields, the header has 2"},
        {"sentence\tlabel\nok\t\n", "a.tsv", "a.tsv:2: empty label"},
        {"text\tgold\nok\t1\n", "a.tsv", "a.tsv:1: no label column \"label\""},
        {"foo\tlabel\nok\t1\n", "a.tsv", "a.tsv:1: no text column"},
        {"sentence\tlabel\nbad \xff\t1\n", "a.tsv", "a.tsv:2: text is not valid UTF-8"},
        {"sentence,label\n\"open,1\n", "a.csv", "a.csv:2: unterminated quoted field"},
        {"sentence,label\nx\"y,1\n", "a.csv", "a.csv:2: quote inside an unquoted field"},
        {"{\"text\": \"a\", \"label\": 1}\n{\"text\": 3, \"label\": 1}\n", "a.jsonl", "a.jsonl:2: the text field"},
        {"{\"text\": \"a\"}\n", "a.jsonl", "a.jsonl:1: no label field"},
        {"{\"text\": \"a\", \"label\": [1]}\n", "a.jsonl", "a.jsonl:1: the label is neither"},
        {"{\"text\": \"a\",\n", "a.jsonl", "a.jsonl:1: not a JSON object"},
        {"sentence\tlabel\n", "a.tsv", "a.tsv: no examples"},
        {"", "a.tsv", "a.tsv: empty file"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        err.message[0] = 0;
        d = parse(bad[i].data, bad[i].name, NULL, &err);
        CHECK(!d && err.status == BERTC_ERR_INPUT && strstr(err.message, bad[i].want), "case %zu: got \"%s\"", i,
              err.message);
        bertc_dataset_free(d);
    }
    const char *names[] = {"NEGATIVE", "POSITIVE"};
    CHECK(bertc_label_lookup("1", names, 2) == 1 && bertc_label_lookup("negative", names, 2) == 0 &&
              bertc_label_lookup("2", names, 2) == -1 && bertc_label_lookup("maybe", names, 2) == -1,
          "label lookup");
}

static void t_leakage(void) {
    bertc_error err;
    bertc_dataset *tr = parse("sentence\tlabel\nGreat movie!\t1\nawful plot\t0\nfine\t1\n", "train.tsv", NULL, &err);
    bertc_dataset *te = parse("sentence\tlabel\ngreat   MOVIE\t1\nawful plot\t0\nnew text\t1\nFINE.\t1\n", "test.tsv", NULL, &err);
    unsigned char flags[4];
    size_t ex = 9, nz = 9;
    CHECK(tr && te && !bertc_find_leakage(tr, te, flags, &ex, &nz, &err), "leakage ran");
    CHECK(ex == 1 && nz == 2 && flags[0] == 2 && flags[1] == 1 && flags[2] == 0 && flags[3] == 2, "exact %zu normalized %zu",
          ex, nz);
    bertc_dataset_free(tr);
    bertc_dataset_free(te);
}

/* ---- the commands ---- */

#define run run_cli

/* Compares the keys of want (a metrics JSON) with got to tol. */
static void same_metrics(const char *what, const char *got_path, const char *want_path, double tol) {
    char *a, *b;
    size_t la, lb;
    if (read_file(got_path, &a, &la, NULL) || read_file(want_path, &b, &lb, NULL)) {
        CHECK(0, "%s: cannot read %s or %s", what, got_path, want_path);
        return;
    }
    /* every number a real: 336 and 336.0 are the same count */
    json_t *got = json_loadb(a, la, JSON_DECODE_INT_AS_REAL, NULL);
    json_t *want = json_loadb(b, lb, JSON_DECODE_INT_AS_REAL, NULL);
    int n = 0;
    const char *k;
    json_t *v;
    json_object_foreach(want, k, v) {
        json_t *g = json_object_get(got, k);
        if (json_is_number(v)) {
            double x = json_number_value(v), y = g ? json_number_value(g) : NAN;
            CHECK(json_is_number(g) && fabs(y - x) <= tol, "%s %s: %.10g vs %.10g", what, k, y, x);
        } else {
            char *x = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
            char *y = g ? json_dumps(g, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            CHECK(json_equal(v, g), "%s %s: %s vs %s", what, k, y ? y : "missing", x);
            free(x), free(y);
        }
        n++;
    }
    CHECK(n == 16, "%s: %d reference keys", what, n);
    json_decref(got), json_decref(want);
    free(a), free(b);
}

static void t_eval_cli(void) {
    char out[1 << 16];
    /* sst2-small on SST-2 dev: the pipeline's confusion matrix and scikit-learn's metrics */
    int rc = run("@ eval --model models/sst2-small --data " TD "sst2-dev.tsv --json build/t-eval.json --report build/t-eval.html "
                 "--markdown build/t-eval.md --predictions build/t-pred.jsonl 2>&1",
                 out, sizeof out);
    CHECK(rc == 0 && strstr(out, "accuracy            0.7901 [") && strstr(out, "91        353\n"),
          "eval: rc %d\n%s", rc, out);
    same_metrics("eval", "build/t-eval.json", TD "sst2-small.dev.metrics.json", 1e-6);
    /* bertc metrics on the pipeline's own predictions: exactly scikit-learn's numbers */
    rc = run("@ metrics --predictions " TD "sst2-small.dev.pred.jsonl --labels NEGATIVE,POSITIVE --json build/t-m.json "
             "--quiet 2>&1",
             out, sizeof out);
    CHECK(rc == 0, "metrics rc %d: %s", rc, out);
    same_metrics("metrics", "build/t-m.json", TD "sst2-small.dev.metrics.json", 1e-12);
    /* our predictions file reads back into the same metrics */
    rc = run("@ metrics --predictions build/t-pred.jsonl --json build/t-m2.json --quiet 2>&1", out, sizeof out);
    CHECK(rc == 0, "metrics on eval predictions: %s", out);
    same_metrics("metrics(eval predictions)", "build/t-m2.json", TD "sst2-small.dev.metrics.json", 1e-6);
    char *html;
    size_t hl;
    CHECK(!read_file("build/t-eval.html", &html, &hl, NULL), "html written");
    if (html) {
        int svgs = 0;
        for (char *p = html; (p = strstr(p, "<svg")); p++) svgs++;
        CHECK(svgs == 4, "confusion, ROC, PR, calibration: %d svg", svgs);
        CHECK(!strstr(html, "http://") || !strstr(html, "src="), "self-contained");
        CHECK(strstr(html, "Most confident mistakes") != NULL, "mistakes table");
        free(html);
    }
    /* --train: leakage and the train-vs-test gap (dev as its own train: every row leaks) */
    rc = run("head -50 " TD "sst2-dev.tsv > build/t-train.tsv && printf 'Manages to be both REPULSIVELY sadistic, and mundane!\\t0\\n' "
             ">> build/t-train.tsv && @ eval --data " TD "sst2-dev.tsv --train build/t-train.tsv "
             "--json - --quiet --bootstrap 0 2>&1 | grep -A4 '\"leakage\"'",
             out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"exact\": 49") && strstr(out, "\"normalized\": 1"), "leakage: %s", out);
    rc = run("@ eval --model models/sst2-small --data " TD "sst2-dev.tsv --train build/t-train.tsv --json - --quiet --bootstrap 0 2>&1 | "
             "grep -c 'train/test leakage: 50 of 872'",
             out, sizeof out);
    CHECK(atoi(out) == 1, "leakage warning: %s", out);
    /* malformed rows: file and line, exit 4; unknown labels; usage */
    rc = run("printf 'sentence\\tlabel\\ngood\\t1\\nbad\\n' > build/t-bad.tsv; @ eval --data build/t-bad.tsv 2>&1", out,
             sizeof out);
    CHECK(rc == 4 && strstr(out, "build/t-bad.tsv:3: 1 field, the header has 2"), "bad row: %d %s", rc, out);
    rc = run("printf 'sentence\\tlabel\\ngood\\tmaybe\\n' > build/t-bad2.tsv; @ eval --data build/t-bad2.tsv 2>&1", out,
             sizeof out);
    CHECK(rc == 4 && strstr(out, "build/t-bad2.tsv:2: label \"maybe\" is not one of the model's labels (NEGATIVE, POSITIVE)"),
          "unknown label: %d %s", rc, out);
    rc = run("@ eval 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--data FILE is required"), "usage: %s", out);
    rc = run("@ metrics --predictions " TD "sst2-small.dev.pred.jsonl --quiet 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "--labels"), "mixed ids and names need --labels: %s", out);
    /* an unbalanced set through the CLI: the paradox named in the terminal */
    rc = run("(for i in $(seq 95); do echo '{\"gold\": \"ok\", \"pred\": \"ok\"}'; done; for i in $(seq 5); do echo "
             "'{\"gold\": \"fraud\", \"pred\": \"ok\"}'; done) > build/t-unb.jsonl; @ metrics --predictions "
             "build/t-unb.jsonl 2>&1",
             out, sizeof out);
    CHECK(rc == 0 && strstr(out, "! accuracy paradox: accuracy 0.9500") && strstr(out, "! unbalanced classes: 'fraud'") &&
              strstr(out, "the model never predicts 'fraud'"),
          "unbalanced: %s", out);
    /* threshold moves predictions */
    rc = run("@ metrics --predictions build/t-pred.jsonl --threshold 0.9 --json - --quiet --bootstrap 0 | grep "
             "'\"threshold\": 0.9'",
             out, sizeof out);
    CHECK(rc == 0, "threshold: %s", out);
}

static void t_bias_compare_cli(void) {
    char out[1 << 16];
    int rc = run("@ bias --model models/sst2-small --template 'This film was filmed in {}.' --groups builtin:countries --format jsonl 2>/dev/null", out,
                 sizeof out);
    int lines = 0;
    for (char *p = out; (p = strchr(p, '\n')); p++) lines++;
    CHECK(rc == 0 && lines >= 20 && strstr(out, "{\"group\": \"France\", \"text\": \"This film was filmed in France.\", "
                                                "\"scores\": {\"NEGATIVE\": "),
          "bias jsonl (%d lines): %.300s", lines, out);
    rc = run("printf 'Paris\\nLagos\\n' > build/t-groups.txt; @ bias --template 'I live in {}' --groups build/t-groups.txt", out,
             sizeof out);
    CHECK(rc == 0 && strstr(out, "Paris") && strstr(out, "spread (max - min)") && strstr(out, "P(POSITIVE)"), "bias table: %s",
          out);
    rc = run("@ bias --model models/sst2-small --template 'I live in {}' --groups build/t-groups.txt --format svg", out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "<svg", 4) && strstr(out, "Lagos"), "bias svg");
    rc = run("@ bias --template 'no placeholder' --groups build/t-groups.txt 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "{}"), "template without {}: %s", out);
    rc = run("head -201 " TD "sst2-dev.tsv > build/t-dev200.tsv; @ compare --model models/sst2-small --model " TD
             "tiny-distilbert --data build/t-dev200.tsv --latency-samples 5 --json build/t-cmp.json 2>&1",
             out, sizeof out);
    CHECK(rc == 0 && strstr(out, "parameters") && strstr(out, "latency p50") && strstr(out, "McNemar"), "compare: %s", out);
    char *j;
    size_t jl;
    if (!read_file("build/t-cmp.json", &j, &jl, NULL)) {
        json_t *c = json_loadb(j, jl, 0, NULL), *models = json_object_get(c, "models");
        CHECK(json_array_size(models) == 2, "two models");
        json_t *m0 = json_array_get(models, 0), *acc = json_object_get(m0, "accuracy");
        CHECK(json_is_number(acc) && fabs(json_number_value(acc) - 0.79) < 0.1 &&
                  json_number_value(json_object_get(m0, "parameters")) > 1e6,
              "model 0 figures");
        CHECK(json_array_size(json_object_get(c, "mcnemar")) == 1, "one McNemar test");
        json_decref(c);
        free(j);
    } else {
        CHECK(0, "compare json");
    }
}

/* The HTML report renders in headless Chromium: the page is loaded with a probe script appended (a copy; the
 * report itself has no script) that measures every chart's laid-out box and every curve's drawn length, and
 * writes what it found into the DOM that --dump-dom prints. BERTC_REQUIRE_CHROMIUM=1 (make check, CI) makes
 * a missing Chromium a failure; elsewhere the test says it skipped. */
static void t_html_chromium(void) {
    char out[1 << 16];
    const char *req = getenv("BERTC_REQUIRE_CHROMIUM");
    if (run("command -v chromium", out, sizeof out) != 0) {
        CHECK(!(req && *req == '1'), "chromium not found (apt-get install chromium)");
        printf("  skipped: no chromium on PATH\n");
        return;
    }
    int rc = run("@ eval --model models/sst2-small --data " TD "sst2-dev.tsv --quiet --bootstrap 100 --report build/t-render.html && "
                 "@ bias --model models/sst2-small --template 'This film was filmed in {}.' --groups builtin:countries --report build/t-bias.html "
                 ">/dev/null && for f in t-render t-bias; do cp build/$f.html build/$f-probe.html && "
                 "printf '%s' '<script>window.onload=function(){var s=document.querySelectorAll(\"svg\"),ok=0,len=0;"
                 "s.forEach(function(e){var r=e.getBoundingClientRect();if(r.width>100&&r.height>100)ok++;});"
                 "document.querySelectorAll(\"polyline\").forEach(function(p){len+=p.getTotalLength();});"
                 "var d=document.createElement(\"p\");d.id=\"probe\";d.textContent=\"rendered \"+ok+\" of \"+s.length+"
                 "\" svg, curve length \"+Math.round(len)+\" rects \"+document.querySelectorAll(\"rect\").length;"
                 "document.body.appendChild(d);};</script>' >> build/$f-probe.html; done && "
                 "for f in t-render t-bias; do timeout 120 chromium --headless --no-sandbox --disable-gpu "
                 "--virtual-time-budget=3000 --dump-dom file://$PWD/build/$f-probe.html 2>/dev/null | "
                 "grep -o 'rendered [0-9]* of [0-9]* svg, curve length [0-9]* rects [0-9]*'; done",
                 out, sizeof out);
    int ok1 = 0, n1 = 0, len1 = 0, rects1 = 0, ok2 = 0, n2 = 0, len2 = 0, rects2 = 0;
    int got = sscanf(out, "rendered %d of %d svg, curve length %d rects %d\nrendered %d of %d svg, curve length %d rects %d",
                     &ok1, &n1, &len1, &rects1, &ok2, &n2, &len2, &rects2);
    CHECK(rc == 0 && got == 8, "chromium probe: rc %d, %s", rc, out);
    CHECK(ok1 == 4 && n1 == 4 && len1 > 500 && rects1 > 10, "eval report: %d of %d charts laid out, curves %d px", ok1, n1,
          len1);
    CHECK(ok2 == 1 && n2 == 1 && rects2 >= 40, "bias report: %d of %d charts, %d bars", ok2, n2, rects2);
    /* and a screenshot, to look at (build/t-render.png) */
    rc = run("cd build && timeout 120 chromium --headless --no-sandbox --disable-gpu --hide-scrollbars "
             "--window-size=1200,2200 --screenshot=t-render.png file://$PWD/t-render.html >/dev/null 2>&1; "
             "head -c 24 t-render.png | od -An -tx1 | tr -d ' \\n'",
             out, sizeof out);
    CHECK(rc == 0 && !strncmp(out, "89504e470d0a1a0a", 16) && strstr(out, "000004b0") && strstr(out, "00000898"),
          "screenshot is a 1200x2200 PNG: %s", out);
}

void tests_eval(void) {
    run_test("eval/sklearn_cases", t_sklearn_cases);
    run_test("eval/bootstrap_mcnemar", t_bootstrap_mcnemar);
    run_test("eval/datasets", t_datasets);
    run_test("eval/leakage", t_leakage);
    run_test("eval/cli_eval_metrics", t_eval_cli);
    run_test("eval/cli_bias_compare", t_bias_compare_cli);
    run_test("eval/html_renders_in_chromium", t_html_chromium);
}
