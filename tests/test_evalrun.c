/*
 * test_evalrun.c — the evaluation API the CLI, the server and the Python binding call (bertc_eval.h): a model
 * over a committed dataset against scikit-learn's numbers, the rendered reports and their keys, a train set's
 * leakage, predictions files, the bias probe, compare, the training report, and the errors as status + message.
 */
#include "bertc_eval.h"
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static bool starts(const char *s, const char *prefix) { return s && !strncmp(s, prefix, strlen(prefix)); }

static int count(const char *s, const char *needle) {
    int n = 0;
    for (const char *p = s; s && (p = strstr(p, needle)); p += strlen(needle)) n++;
    return n;
}

/* Every key of want (a metrics JSON file) equals got's to tol (numbers) or exactly (arrays); returns the keys. */
static int same_keys(const char *what, json_t *got, const char *want_path, double tol) {
    json_error_t je;
    json_t *want = json_load_file(want_path, 0, &je);
    CHECK(want, "%s: %s: %s", what, want_path, je.text);
    const char *k;
    json_t *v;
    int n = 0;
    json_object_foreach(want, k, v) {
        json_t *g = json_object_get(got, k);
        if (json_is_number(v))
            CHECK(json_is_number(g) && fabs(json_number_value(g) - json_number_value(v)) <= tol, "%s %s: %.12g vs %.12g",
                  what, k, json_number_value(g), json_number_value(v));
        else
            CHECK(json_equal(g, v), "%s %s differs", what, k);
        n++;
    }
    json_decref(want);
    return n;
}

typedef struct calls {
    size_t last_done, total, n_progress, stages[4], stage_n[4], stage_of[4];
    int out_of_order;
} calls;

static void on_progress(size_t done, size_t total, void *ctx) {
    calls *c = ctx;
    if (done <= c->last_done && c->total == total) c->out_of_order = 1;
    c->last_done = done == total ? 0 : done;
    c->total = done == total ? 0 : total;
    c->n_progress++;
}

static void on_stage(bertc_eval_stage s, size_t n, size_t of, void *ctx) {
    calls *c = ctx;
    c->stages[s]++;
    c->stage_n[s] = n;
    c->stage_of[s] = of;
}

static char *render(bertc_status (*fn)(const void *, bertc_report_format, char **, size_t *, bertc_error *),
                    const void *r, bertc_report_format f) {
    char *text = NULL;
    size_t len = 0;
    bertc_error err;
    bertc_status s = fn(r, f, &text, &len, &err);
    CHECK(s == BERTC_OK && text && strlen(text) == len, "render %d: %s", (int)f, s ? err.message : "length");
    return s ? NULL : text;
}

static bertc_status eval_render(const void *r, bertc_report_format f, char **o, size_t *l, bertc_error *e) {
    return bertc_eval_report_render(r, f, o, l, e);
}
static bertc_status bias_render(const void *r, bertc_report_format f, char **o, size_t *l, bertc_error *e) {
    return bertc_bias_report_render(r, f, o, l, e);
}
static bertc_status compare_render(const void *r, bertc_report_format f, char **o, size_t *l, bertc_error *e) {
    return bertc_compare_render(r, f, o, l, e);
}

static bertc_model *load(const char *dir) {
    bertc_model *m = NULL;
    bertc_error err;
    CHECK(bertc_model_load(dir, NULL, &m, &err) == BERTC_OK, "load %s: %s", dir ? dir : "(embedded)", err.message);
    return m;
}

/* sst2-small on SST-2 dev: the pipeline's confusion matrix and scikit-learn's metrics, in every format. */
static void t_eval_run(void) {
    bertc_model *m = load("models/sst2-small");
    if (!m) return;
    bertc_eval_params p = bertc_eval_default_params();
    CHECK(p.batch_size == 32 && p.train_sample == 1000 && isnan(p.threshold) && p.metrics.bootstrap == 1000, "defaults");
    p.data = TD "sst2-dev.tsv";
    p.metrics.bootstrap = 100;
    calls c;
    memset(&c, 0, sizeof c);
    p.progress = on_progress;
    p.progress_ctx = &c;
    bertc_eval_report *r = NULL;
    bertc_error err;
    bertc_status s = bertc_eval_run_ex(m, &p, NULL, NULL, on_stage, &r, &err);
    CHECK(s == BERTC_OK && r, "eval: %s", err.message);
    if (!r) goto out;
    CHECK(c.stages[BERTC_EVAL_STAGE_DATA] == 1 && c.stage_n[0] == 872 && c.stage_of[0] == 872 && !c.stages[1],
          "one data stage of 872");
    CHECK(c.n_progress == 4 && !c.out_of_order && c.total == 0, "progress: %zu calls, in order, ending at the total",
          c.n_progress);
    const bertc_metrics *mt = bertc_eval_report_metrics(r);
    CHECK(mt && mt->n == 872 && mt->confusion[0] == 336 && mt->confusion[1] == 92 && mt->confusion[2] == 91 &&
              mt->confusion[3] == 353 && fabs(mt->accuracy - 0.7901376146788991) < 1e-9,
          "confusion matrix and accuracy");
    int nl = 0;
    const char *const *labels = bertc_eval_report_labels(r, &nl);
    CHECK(nl == 2 && !strcmp(labels[0], "NEGATIVE") && !strcmp(labels[1], "POSITIVE"), "labels");
    const int *gold, *pred;
    const double *scores;
    CHECK(bertc_eval_report_examples(r, &gold, &pred, &scores) == 872 && gold[0] == 1 && scores &&
              fabs(scores[0] + scores[1] - 1) < 1e-5,
          "examples");

    char *js = render(eval_render, r, BERTC_REPORT_JSON);
    json_error_t je;
    json_t *j = js ? json_loads(js, 0, &je) : NULL;
    CHECK(j, "JSON parses");
    CHECK(js && js[strlen(js) - 1] == '\n' && starts(js, "{\n \"n\": 872,\n \"accuracy\": 0.79013761467889"),
          "JSON as the --json file: %.60s", js ? js : "");
    CHECK(same_keys("eval json", j, TD "sst2-small.dev.metrics.json", 1e-6) == 16, "16 reference keys");
    static const char *const keys[] = {"labels", "positive_label", "threshold", "per_class", "thresholds", "calibration",
                                       "confidence_intervals", "warnings", "model", "data", "seconds"};
    for (size_t k = 0; k < sizeof keys / sizeof *keys; k++) CHECK(json_object_get(j, keys[k]), "key %s", keys[k]);
    CHECK(!strcmp(json_string_value(json_object_get(j, "data")), TD "sst2-dev.tsv") &&
              !strcmp(json_string_value(json_object_get(j, "positive_label")), "POSITIVE") &&
              json_integer_value(json_object_get(json_object_get(j, "confidence_intervals"), "resamples")) == 100 &&
              !json_object_get(j, "leakage"),
          "data, positive label, resamples; no leakage section without train");
    json_decref(j);
    free(js);

    char *t = render(eval_render, r, BERTC_REPORT_TERMINAL);
    CHECK(t && strstr(t, "models/sst2-small on " TD "sst2-dev.tsv — 872 examples") &&
              strstr(t, "accuracy            0.7901 [") && strstr(t, "91        353\n"),
          "terminal: %s", t ? t : "");
    bertc_free(t);
    t = render(eval_render, r, BERTC_REPORT_MARKDOWN);
    CHECK(t && starts(t, "# bertc eval: models/sst2-small on tests/data/sst2-dev.tsv\n\n872 examples, 2 labels.") &&
              strstr(t, "| accuracy | 0.7901 |  ["),
          "markdown: %.120s", t ? t : "");
    bertc_free(t);
    t = render(eval_render, r, BERTC_REPORT_HTML);
    CHECK(t && starts(t, "<!DOCTYPE html>") && count(t, "<svg") == 4 && strstr(t, "Most confident mistakes") &&
              strstr(t, "</html>\n"),
          "html: 4 charts");
    /* the calibration chart says what it draws, and how many examples each bin holds */
    CHECK(t && strstr(t, ">accuracy per bin (number above: examples)</text>") && strstr(t, ">perfect calibration</text>") &&
              strstr(t, "font-size=\"9\">755</text>") && strstr(t, "font-size=\"9\">3</text>") &&
              strstr(t, "<title>0.93–1.00: 755 examples"),
          "calibration legend and counts");
    bertc_free(t);
    t = render(eval_render, r, BERTC_REPORT_PREDICTIONS);
    CHECK(t && count(t, "\n") == 872 &&
              starts(t, "{\"text\": \"it 's a charming and often affecting journey . \", \"gold\": \"POSITIVE\", "
                          "\"pred\": \"POSITIVE\", \"scores\": {\"NEGATIVE\": "),
          "predictions: %.150s", t ? t : "");
    bertc_free(t);
    char *none = NULL;
    CHECK(bertc_eval_report_render(r, BERTC_REPORT_SVG, &none, NULL, &err) == BERTC_ERR_INVALID_ARG && !none,
          "an evaluation has no SVG format");
    bertc_eval_report_free(r);

    /* a positive label and a threshold decide the predictions (the first 120 examples, parsed from memory) */
    char *txt = NULL;
    size_t tl = 0;
    bertc_dataset *d = NULL;
    CHECK(!read_file(TD "sst2-dev.tsv", &txt, &tl, NULL), "read");
    char *cut = txt;
    for (int k = 0; cut && k < 121; k++) cut = strchr(cut + 1, '\n');
    if (cut) cut[1] = 0;
    CHECK(txt && !bertc_dataset_parse(txt, strlen(txt), "dev120.tsv", NULL, &d, &err) && d->n == 120, "parse: %s",
          err.message);
    free(txt);
    p.data = NULL;
    p.progress = NULL;
    p.metrics.bootstrap = 0;
    p.positive_label = "negative";
    p.threshold = 0.9;
    r = NULL;
    s = d ? bertc_eval_run_ex(m, &p, d, NULL, NULL, &r, &err) : BERTC_ERR_INPUT;
    CHECK(s == BERTC_OK, "threshold: %s", err.message);
    mt = bertc_eval_report_metrics(r);
    size_t n = bertc_eval_report_examples(r, &gold, &pred, &scores), wrong = 0;
    for (size_t i = 0; i < n; i++) wrong += pred[i] != (scores[2 * i] >= 0.9 ? 0 : 1);
    CHECK(mt && mt->positive == 0 && isnan(mt->ci_accuracy.lo) && n == 120 && !wrong,
          "P(NEGATIVE) >= 0.9 is the prediction: %zu of %zu otherwise", wrong, n);
    bertc_dataset_free(d);
    js = r ? render(eval_render, r, BERTC_REPORT_JSON) : NULL;
    CHECK(js && strstr(js, "\"threshold\": 0.90000000000000002") && strstr(js, "\"positive_label\": \"NEGATIVE\""),
          "threshold and positive label in the JSON");
    free(js);
    bertc_eval_report_free(r);
out:
    bertc_model_free(m);
}

/* A train set given as parsed datasets: leakage, labels never seen in train, the train sample's stage. */
static void t_eval_train(void) {
    bertc_model *m = load(NULL);
    if (!m) return;
    bertc_error err;
    bertc_dataset *test = NULL, *train = NULL;
    static const char te[] = "sentence\tlabel\ngreat movie\t1\nawful plot\t0\nnew text\t1\nFINE.\t1\nsad film\t0\n";
    static const char tr[] = "sentence\tlabel\nGreat movie!\t1\nawful plot\t1\nfine\t1\n";
    CHECK(!bertc_dataset_parse(te, sizeof te - 1, "test.tsv", NULL, &test, &err) &&
              !bertc_dataset_parse(tr, sizeof tr - 1, "train.tsv", NULL, &train, &err),
          "parse: %s", err.message);
    bertc_eval_params p = bertc_eval_default_params();
    p.metrics.bootstrap = 0;
    calls c;
    memset(&c, 0, sizeof c);
    p.progress_ctx = &c;
    bertc_eval_report *r = NULL;
    CHECK(bertc_eval_run_ex(m, &p, test, train, on_stage, &r, &err) == BERTC_OK, "run: %s", err.message);
    CHECK(c.stages[BERTC_EVAL_STAGE_DATA] == 1 && c.stages[BERTC_EVAL_STAGE_TRAIN_SAMPLE] == 1 && c.stage_n[1] == 3 &&
              c.stage_of[1] == 3,
          "stages: data, then a train sample of 3 of 3");
    char *js = r ? render(eval_render, r, BERTC_REPORT_JSON) : NULL;
    json_t *j = js ? json_loads(js, 0, NULL) : NULL, *lk = json_object_get(j, "leakage");
    CHECK(lk && !strcmp(json_string_value(json_object_get(j, "data")), "test.tsv") &&
              !strcmp(json_string_value(json_object_get(lk, "train")), "train.tsv") &&
              json_integer_value(json_object_get(lk, "exact")) == 1 &&
              json_integer_value(json_object_get(lk, "normalized")) == 2 &&
              json_array_size(json_object_get(lk, "examples")) == 3,
          "leakage: %s", js ? js : "");
    json_t *un = json_object_get(j, "labels_not_in_train");
    CHECK(json_array_size(un) == 1 && !strcmp(json_string_value(json_array_get(un, 0)), "NEGATIVE"), "NEGATIVE unseen");
    CHECK(json_integer_value(json_object_get(json_object_get(j, "overfitting"), "train_sample")) == 3, "overfitting");
    const bertc_metrics *mt = bertc_eval_report_metrics(r);
    bool leak_warn = false, unseen_warn = false;
    for (int i = 0; mt && i < mt->n_warnings; i++) {
        leak_warn |= starts(mt->warnings[i], "train/test leakage: 3 of 5 test examples");
        unseen_warn |= strstr(mt->warnings[i], "label 'NEGATIVE' occurs in test but never in train") != NULL;
    }
    CHECK(leak_warn && unseen_warn, "leakage and unseen-label warnings");
    json_decref(j);
    free(js);
    bertc_eval_report_free(r);
    bertc_dataset_free(test);
    bertc_dataset_free(train);
    bertc_model_free(m);
}

static void t_eval_errors(void) {
    bertc_model *m = load(NULL), *multi = load(TD "tiny-roberta");
    if (!m || !multi) {
        bertc_model_free(m), bertc_model_free(multi);
        return;
    }
    bertc_error err;
    bertc_eval_report *r = (bertc_eval_report *)&err;
    bertc_eval_params p = bertc_eval_default_params();
    CHECK(bertc_eval_run(m, &p, &r, &err) == BERTC_ERR_INVALID_ARG && !r, "no data");
    p.data = "/nonexistent.tsv";
    CHECK(bertc_eval_run(m, &p, &r, &err) == BERTC_ERR_INPUT && strstr(err.message, "/nonexistent.tsv"), "missing: %s",
          err.message);
    bertc_dataset *d = NULL;
    static const char bad[] = "sentence\tlabel\ngood\t1\nmeh\tmaybe\n";
    CHECK(!bertc_dataset_parse(bad, sizeof bad - 1, "bad.tsv", NULL, &d, &err), "parse");
    CHECK(bertc_eval_run_ex(m, &p, d, NULL, NULL, &r, &err) == BERTC_ERR_INPUT &&
              !strcmp(err.message, "bad.tsv:3: label \"maybe\" is not one of the model's labels (NEGATIVE, POSITIVE) "
                                   "nor an id below 2"),
          "unknown label: %s", err.message);
    bertc_dataset_free(d);
    p.data = TD "sst2-dev.tsv";
    CHECK(bertc_eval_run(multi, &p, &r, &err) == BERTC_ERR_UNSUPPORTED && strstr(err.message, "single-label classifier") &&
              strstr(err.message, "(multi-label)"),
          "multi-label model: %s", err.message);
    static const char two[] = "sentence\tlabel\ngood\t1\nbad\t0\n";
    CHECK(!bertc_dataset_parse(two, sizeof two - 1, "two.tsv", NULL, &d, &err), "parse");
    p.positive_label = "MAYBE";
    CHECK(bertc_eval_run_ex(m, &p, d, NULL, NULL, &r, &err) == BERTC_ERR_INVALID_ARG &&
              !strcmp(err.message, "--positive-label MAYBE is not one of the labels"),
          "positive label: %s", err.message);
    p.positive_label = NULL;
    p.batch_size = 0;
    CHECK(bertc_eval_run_ex(m, &p, d, NULL, NULL, &r, &err) == BERTC_ERR_INVALID_ARG, "batch size 0");
    CHECK(!r, "no report on errors");
    bertc_dataset_free(d);
    bertc_model_free(m);
    bertc_model_free(multi);
}

static bool has_warning(const bertc_metrics *m, const char *needle) {
    for (int k = 0; m && k < m->n_warnings; k++)
        if (strstr(m->warnings[k], needle)) return true;
    return false;
}

/* Thresholds that cannot leak silently: the suggested ones say they were chosen on the data; --threshold-from picks
 * the best-F1 threshold on a validation file and applies it; a given threshold equal to the data's own pick is
 * flagged; an all-positive set does not call average precision undefined beside its value. */
static void t_threshold_leak(void) {
    bertc_model *m = load("models/sst2-small");
    if (!m) return;
    char val[64], test[64], pos[64];
    snprintf(val, sizeof val, "/tmp/bertc-thr-val-%ld.tsv", (long)getpid());
    snprintf(test, sizeof test, "/tmp/bertc-thr-test-%ld.tsv", (long)getpid());
    snprintf(pos, sizeof pos, "/tmp/bertc-thr-pos-%ld.tsv", (long)getpid());
    FILE *in = fopen(TD "sst2-dev.tsv", "r"), *fv = fopen(val, "w"), *ft = fopen(test, "w"), *fp = fopen(pos, "w");
    CHECK(in && fv && ft && fp, "files");
    if (!in || !fv || !ft || !fp) goto out;
    char line[4096];
    int k = 0, npos = 0;
    while (fgets(line, sizeof line, in)) {
        if (k == 0) fputs(line, fv), fputs(line, ft), fputs(line, fp);
        else fputs(line, k % 2 ? fv : ft);
        size_t n = strlen(line);
        if (k && npos < 30 && n > 3 && !strcmp(line + n - 3, "\t1\n")) fputs(line, fp), npos++;
        k++;
    }
    fclose(in), fclose(fv), fclose(ft), fclose(fp);
    in = fv = ft = fp = NULL;
    bertc_error err;
    bertc_eval_params p = bertc_eval_default_params();
    p.metrics.bootstrap = 0;
    bertc_eval_report *rv = NULL, *rt = NULL, *rf = NULL, *rg = NULL, *ro = NULL, *rp = NULL;
    p.data = val;
    CHECK(bertc_eval_run(m, &p, &rv, &err) == BERTC_OK, "validation: %s", err.message);
    p.data = test;
    CHECK(bertc_eval_run(m, &p, &rt, &err) == BERTC_OK, "test: %s", err.message);
    if (!rv || !rt) goto done;
    const bertc_metrics *mv = bertc_eval_report_metrics(rv), *mt = bertc_eval_report_metrics(rt);
    double tv = mv->best_f1.threshold, tt = mt->best_f1.threshold;
    CHECK(!isnan(tv) && !isnan(tt) && fabs(tv - tt) > 1e-4, "the two halves pick different thresholds: %g %g", tv, tt);
    char *txt = render(eval_render, rt, BERTC_REPORT_TERMINAL);
    CHECK(txt && strstr(txt, "chosen on this data") && strstr(txt, "--threshold-from"), "text says where: %s",
          txt ? txt : "");
    free(txt);
    char *js = render(eval_render, rt, BERTC_REPORT_JSON);
    CHECK(js && strstr(js, "\"chosen_on\": \"this data"), "JSON says where");
    free(js);
    char *html = render(eval_render, rt, BERTC_REPORT_HTML);
    CHECK(html && strstr(html, "Chosen on this data"), "HTML says where");
    free(html);
    /* --threshold-from: the validation half's threshold, applied to the test half, as --threshold would */
    p.threshold_from = val;
    CHECK(bertc_eval_run(m, &p, &rf, &err) == BERTC_OK, "--threshold-from: %s", err.message);
    p.threshold_from = NULL;
    p.threshold = tv;
    CHECK(bertc_eval_run(m, &p, &rg, &err) == BERTC_OK, "--threshold tv: %s", err.message);
    if (!rf || !rg) goto done;
    const bertc_metrics *mf = bertc_eval_report_metrics(rf), *mg = bertc_eval_report_metrics(rg);
    CHECK(!memcmp(mf->confusion, mg->confusion, 4 * sizeof *mf->confusion) && mf->f1 == mg->f1, "the same predictions");
    CHECK(!has_warning(mg, "own threshold sweep") && !has_warning(mf, "own threshold sweep"), "another split's threshold");
    js = render(eval_render, rf, BERTC_REPORT_JSON);
    json_error_t je;
    json_t *j = js ? json_loads(js, 0, &je) : NULL, *tf = j ? json_object_get(j, "threshold_from") : NULL;
    CHECK(tf && !strcmp(json_string_value(json_object_get(tf, "data")), val) &&
              json_integer_value(json_object_get(tf, "n")) == 436 &&
              fabs(json_number_value(json_object_get(tf, "best_f1")) - mv->best_f1.f1) < 1e-12 &&
              fabs(json_number_value(json_object_get(j, "threshold")) - tv) < 1e-12,
          "threshold_from in JSON: %s", js ? js : "");
    json_decref(j);
    free(js);
    txt = render(eval_render, rf, BERTC_REPORT_TERMINAL);
    CHECK(txt && strstr(txt, ", chosen on /tmp/bertc-thr-val-"), "text names the validation file");
    free(txt);
    /* the test half's own pick, typed back as --threshold (4 decimals, as printed): flagged */
    char buf[32];
    snprintf(buf, sizeof buf, "%.4f", tt);
    p.threshold = strtod(buf, NULL);
    CHECK(bertc_eval_run(m, &p, &ro, &err) == BERTC_OK, "--threshold tt: %s", err.message);
    CHECK(ro && has_warning(bertc_eval_report_metrics(ro), "own threshold sweep picks: chosen on the test set"),
          "tuned on the test set: warned");
    p.threshold_from = val;
    CHECK(bertc_eval_run(m, &p, &rp, &err) == BERTC_ERR_INVALID_ARG && !rp, "both: %s", err.message);
    p.threshold = NAN;
    p.threshold_from = "/nonexistent.tsv";
    CHECK(bertc_eval_run(m, &p, &rp, &err) == BERTC_ERR_INPUT && strstr(err.message, "/nonexistent.tsv"), "missing: %s",
          err.message);
    /* all positive: ROC AUC undefined, average precision trivially 1 (scikit-learn's), said so */
    p.threshold_from = NULL;
    p.data = pos;
    CHECK(bertc_eval_run(m, &p, &rp, &err) == BERTC_OK, "all positive: %s", err.message);
    if (rp) {
        const bertc_metrics *mp = bertc_eval_report_metrics(rp);
        CHECK(isnan(mp->roc_auc) && fabs(mp->average_precision - 1) < 1e-12 &&
                  has_warning(mp, "ROC AUC is undefined: every true label is the positive class") &&
                  has_warning(mp, "average precision is then 1.0000 whatever the model scores") &&
                  !has_warning(mp, "average precision are undefined"),
              "all-positive warnings");
    }
    char cmd[256];
    static char out[1 << 17];
    snprintf(cmd, sizeof cmd, "@ eval --model models/sst2-small --data %s --threshold 0.5 --threshold-from %s 2>&1", test,
             val);
    CHECK(run_cli(cmd, out, sizeof out) == 2 && strstr(out, "exclude each other"), "CLI both: %s", out);
    snprintf(cmd, sizeof cmd, "@ eval --model models/sst2-small --data %s --threshold-from %s --quiet --json - 2>&1",
             test, val);
    CHECK(run_cli(cmd, out, sizeof out) == 0 && strstr(out, "\"threshold_from\": {"), "CLI --threshold-from: %.300s", out);
done:
    bertc_eval_report_free(rv), bertc_eval_report_free(rt), bertc_eval_report_free(rf), bertc_eval_report_free(rg);
    bertc_eval_report_free(ro), bertc_eval_report_free(rp);
out:
    if (in) fclose(in);
    if (fv) fclose(fv);
    if (ft) fclose(ft);
    if (fp) fclose(fp);
    unlink(val), unlink(test), unlink(pos);
    bertc_model_free(m);
}

/* A predictions file: exactly scikit-learn's numbers; from memory, its errors name the line. */
static void t_predictions(void) {
    bertc_predictions_params p = bertc_predictions_default_params();
    const char *names[] = {"NEGATIVE", "POSITIVE"};
    p.labels = names;
    p.n_labels = 2;
    p.metrics.bootstrap = 0;
    bertc_eval_report *r = NULL;
    bertc_error err;
    CHECK(bertc_eval_predictions(TD "sst2-small.dev.pred.jsonl", &p, &r, &err) == BERTC_OK, "read: %s", err.message);
    char *js = r ? render(eval_render, r, BERTC_REPORT_JSON) : NULL;
    json_t *j = js ? json_loads(js, 0, NULL) : NULL;
    CHECK(same_keys("metrics json", j, TD "sst2-small.dev.metrics.json", 1e-12) == 16, "16 keys");
    CHECK(json_is_null(json_object_get(j, "model")) && !json_object_get(j, "seconds"), "no model, no seconds");
    json_decref(j);
    free(js);
    char *t = r ? render(eval_render, r, BERTC_REPORT_MARKDOWN) : NULL;
    CHECK(t && starts(t, "# bertc metrics: tests/data/sst2-small.dev.pred.jsonl"), "markdown title");
    bertc_free(t);
    /* written back as predictions, read again: the same metrics */
    t = r ? render(eval_render, r, BERTC_REPORT_PREDICTIONS) : NULL;
    bertc_eval_report *r2 = NULL;
    p.labels = NULL;
    CHECK(t && bertc_eval_predictions_parse(t, strlen(t), "again", &p, &r2, &err) == BERTC_OK, "again: %s", err.message);
    const bertc_metrics *a = bertc_eval_report_metrics(r), *b = bertc_eval_report_metrics(r2);
    CHECK(a && b && a->accuracy == b->accuracy && fabs(a->roc_auc - b->roc_auc) < 1e-7, "round trip");
    bertc_free(t);
    bertc_eval_report_free(r);
    bertc_eval_report_free(r2);

    static const struct {
        const char *data, *want;
        bertc_status s;
    } bad[] = {
        {"{\"gold\": \"a\", \"pred\": \"b\"}\nnot json\n", "x:2: '[' or '{' expected near 'not'", BERTC_ERR_INPUT},
        {"\n\n", "x: no predictions", BERTC_ERR_INPUT},
        {"{\"gold\": \"a\", \"pred\": \"b\", \"scores\": {\"a\": 0.2, \"b\": 0.8}}\n{\"gold\": \"b\", \"pred\": \"b\"}\n",
         "x:2: no \"scores\" (other lines have them: give all or none)", BERTC_ERR_INPUT},
        {"{\"gold\": 1, \"pred\": \"b\"}\n", "x: labels are ids in some places and names in others", BERTC_ERR_INPUT},
        {"{\"gold\": \"a\", \"pred\": \"a\"}\n", "need at least two labels (got 1)", BERTC_ERR_INPUT},
        {"{\"pred\": \"a\"}\n", "x:1: no \"gold\" label", BERTC_ERR_INPUT},
        {"{\"gold\": \"a\", \"pred\": \"b\", \"scores\": {\"a\": 2, \"b\": 0}}\n", "x:1: score for \"a\": not a probability",
         BERTC_ERR_INPUT},
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        r = NULL;
        bertc_status s = bertc_eval_predictions_parse(bad[i].data, strlen(bad[i].data), "x", &p, &r, &err);
        CHECK(s == bad[i].s && !r && !strncmp(err.message, bad[i].want, strlen(bad[i].want)), "case %zu: %d %s", i, s,
              err.message);
    }
    static const char ok[] = "{\"gold\": \"ok\", \"pred\": \"ok\"}\n{\"gold\": \"fraud\", \"pred\": \"ok\"}\n";
    p.positive_label = "nope";
    CHECK(bertc_eval_predictions_parse(ok, sizeof ok - 1, "x", &p, &r, &err) == BERTC_ERR_INVALID_ARG &&
              !strcmp(err.message, "--positive-label nope is not one of the labels"),
          "positive label: %s", err.message);
    p.positive_label = NULL;
    CHECK(bertc_eval_predictions_parse(ok, sizeof ok - 1, "x", &p, &r, &err) == BERTC_OK, "ok: %s", err.message);
    char *none = NULL;
    CHECK(r && bertc_eval_report_render(r, BERTC_REPORT_PREDICTIONS, &none, NULL, &err) == BERTC_ERR_INVALID_ARG,
          "no scores: no predictions");
    t = r ? render(eval_render, r, BERTC_REPORT_TERMINAL) : NULL;
    CHECK(t && starts(t, "\nx — 2 examples\n") && strstr(t, "! accuracy paradox"), "terminal: %s", t ? t : "");
    bertc_free(t);
    bertc_eval_report_free(r);
    CHECK(bertc_eval_predictions("/nonexistent", &p, &r, &err) == BERTC_ERR_INPUT &&
              starts(err.message, "cannot open /nonexistent: "),
          "missing file: %s", err.message);
    bertc_free(NULL);
}

static void t_bias(void) {
    bertc_model *m = load(NULL);
    if (!m) return;
    size_t n = 0;
    const char *const *g = bertc_bias_builtin_groups("countries", &n);
    CHECK(g && n == 40 && !strcmp(g[0], "France") && !bertc_bias_builtin_groups("planets", NULL), "builtin countries");
    size_t nc = 0;
    const char *const *gc = bertc_bias_builtin_groups("cities", &nc);
    CHECK(gc && nc == 40 && !strcmp(gc[0], "Paris") && !strcmp(bertc_bias_builtin_names(), "countries, cities"),
          "builtin cities");
    bertc_bias_params p = bertc_bias_default_params();
    p.template_text = "This film was filmed in {}.";
    p.groups = g;
    p.n_groups = n;
    bertc_bias_report *r = NULL;
    bertc_error err;
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_OK, "bias: %s", err.message);
    const bertc_bias_summary *s = bertc_bias_report_summary(r);
    CHECK(s && s->n == 40 && s->label_id == 1 && !strcmp(s->label, "POSITIVE") &&
              !strcmp(s->texts[0], "This film was filmed in France.") && s->mean > 0 && s->mean < 1 && s->std >= 0 &&
              s->spread >= 0 && s->max_group && s->min_group,
          "summary");
    double lo = 1, hi = 0;
    for (size_t k = 0; s && k < s->n; k++) lo = fmin(lo, s->p[k]), hi = fmax(hi, s->p[k]);
    CHECK(s && fabs(hi - lo - s->spread) < 1e-12, "spread = max - min");
    char *t = r ? render(bias_render, r, BERTC_REPORT_TERMINAL) : NULL;
    CHECK(t && starts(t, "P(POSITIVE) for \"This film was filmed in {}.\" — embedded:minilm-sst2\n\ngroup") &&
              strstr(t, "spread (max - min)") && strstr(t, "furthest from the mean:"),
          "table: %.200s", t ? t : "");
    bertc_free(t);
    t = r ? render(bias_render, r, BERTC_REPORT_PREDICTIONS) : NULL;
    CHECK(t && count(t, "\n") == 40 &&
              starts(t, "{\"group\": \"France\", \"text\": \"This film was filmed in France.\", \"scores\": "
                          "{\"NEGATIVE\": "),
          "jsonl: %.100s", t ? t : "");
    bertc_free(t);
    t = r ? render(bias_render, r, BERTC_REPORT_SVG) : NULL;
    CHECK(t && starts(t, "<svg") && count(t, "<rect") == 42 && strstr(t, ">at or above the mean</text>") &&
              strstr(t, ">below the mean</text>"),
          "svg: 40 bars and the legend of their colours");
    bertc_free(t);
    t = r ? render(bias_render, r, BERTC_REPORT_HTML) : NULL;
    bool warned = s && s->spread > 0.1;
    CHECK(t && strstr(t, "<h1>bertc bias</h1>") && count(t, "<svg") == 1 &&
              (strstr(t, "<div class=\"warn\">the prediction depends on the group alone") != NULL) == warned,
          "html, its warning as the terminal's");
    bertc_free(t);
    t = r ? render(bias_render, r, BERTC_REPORT_JSON) : NULL;
    json_t *j = t ? json_loads(t, 0, NULL) : NULL;
    CHECK(json_array_size(json_object_get(j, "groups")) == 40 &&
              json_array_size(json_object_get(j, "furthest_from_mean")) == 3 &&
              fabs(json_real_value(json_object_get(j, "mean")) - s->mean) < 1e-15 &&
              !strcmp(json_string_value(json_object_get(j, "max_group")), s->max_group) &&
              json_array_size(json_object_get(j, "warnings")) == (warned ? 1u : 0u) &&
              (!warned || starts(json_string_value(json_array_get(json_object_get(j, "warnings"), 0)),
                                 "the prediction depends on the group alone")),
          "json, its warning as the terminal's");
    json_decref(j);
    bertc_free(t);
    char *none = NULL;
    CHECK(bertc_bias_report_render(r, BERTC_REPORT_MARKDOWN, &none, NULL, &err) == BERTC_ERR_INVALID_ARG && !none,
          "no markdown");
    bertc_bias_report_free(r);
    r = NULL;
    p.label = "0";
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_OK && bertc_bias_report_summary(r)->label_id == 0, "label by id");
    bertc_bias_report_free(r);
    p.label = "positive"; /* as eval reads labels: any case */
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_OK && bertc_bias_report_summary(r)->label_id == 1, "label, any case");
    bertc_bias_report_free(r);
    r = NULL;
    p.label = "nope";
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_ERR_INVALID_ARG && !r &&
              !strcmp(err.message, "--label nope is not one of the model's labels (NEGATIVE, POSITIVE) nor an id below 2"),
          "bad label: %s", err.message);
    static char out[4096];
    CHECK(run_cli("@ bias --template 'Filmed in {}.' --groups builtin:planets 2>&1", out, sizeof out) == 2 &&
              strstr(out, "no such built-in list (built-in: countries, cities"),
          "unknown built-in list: %s", out);
    CHECK(run_cli("@ bias --template 'Filmed in {}.' --groups builtin:cities --label positive --format jsonl "
                  "> /tmp/bertc-cities.jsonl 2>&1 && wc -l < /tmp/bertc-cities.jsonl && head -1 /tmp/bertc-cities.jsonl; "
                  "r=$?; rm -f /tmp/bertc-cities.jsonl; exit $r", out, sizeof out) == 0 &&
              starts(out, "40\n{\"group\": \"Paris\", \"text\": \"Filmed in Paris.\""),
          "builtin:cities, --label positive: %.200s", out);
    p.label = NULL;
    p.template_text = "{} and {}";
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_ERR_INVALID_ARG && strstr(err.message, "exactly once"), "two slots");
    p.template_text = "{}";
    p.n_groups = 0;
    CHECK(bertc_bias_run(m, &p, &r, &err) == BERTC_ERR_INVALID_ARG, "no groups");
    bertc_model_free(m);
}

static void t_compare(void) {
    char path[64], cmd[160];
    snprintf(path, sizeof path, "/tmp/bertc-cmp-%ld.tsv", (long)getpid());
    snprintf(cmd, sizeof cmd, "head -201 " TD "sst2-dev.tsv > %s", path);
    CHECK(system(cmd) == 0, "%s", cmd);
    bertc_compare_params p = bertc_compare_default_params();
    p.data = path;
    p.latency_samples = 3;
    p.seed = 3;
    calls c;
    memset(&c, 0, sizeof c);
    p.stage = on_stage;
    p.progress = on_progress;
    p.progress_ctx = &c;
    bertc_compare *cmp = NULL;
    bertc_error err;
    CHECK(bertc_compare_new(&p, &cmp, &err) == BERTC_OK, "new: %s", err.message);
    static const char *const dirs[] = {"models/sst2-small", TD "tiny-distilbert"};
    for (int k = 0; cmp && k < 2; k++) {
        bertc_model *m = load(dirs[k]);
        CHECK(m && bertc_compare_add(cmp, m, &err) == BERTC_OK, "add %s: %s", dirs[k], err.message);
        bertc_model_free(m);
    }
    CHECK(c.stages[BERTC_EVAL_STAGE_LATENCY] == 2 && c.stage_n[BERTC_EVAL_STAGE_LATENCY] == 3 &&
              c.stages[BERTC_EVAL_STAGE_THROUGHPUT] == 2 && c.stage_n[BERTC_EVAL_STAGE_THROUGHPUT] == 200 &&
              c.n_progress == 2 && !c.out_of_order,
          "stages and progress");
    bertc_model *multi = load(TD "tiny-roberta");
    CHECK(cmp && multi && bertc_compare_add(cmp, multi, &err) == BERTC_ERR_UNSUPPORTED &&
              strstr(err.message, "models must share the label set"),
          "another label set: %s", err.message);
    bertc_model_free(multi);
    char *t = cmp ? render(compare_render, cmp, BERTC_REPORT_TERMINAL) : NULL;
    const char *acc = t ? strstr(t, "\naccuracy ") : NULL;
    double a0 = 0, a1 = 0;
    char title[128];
    snprintf(title, sizeof title, "compare on %s (200 examples)", path);
    CHECK(t && strstr(t, title) && strstr(t, "sst2-small") &&
              strstr(t, "McNemar's test against models/sst2-small") && acc &&
              sscanf(acc + 9, "%lf %lf", &a0, &a1) == 2 && a0 == 0.75 && a1 == 0.47,
          "table: %s", t ? t : "");
    bertc_free(t);
    t = cmp ? render(compare_render, cmp, BERTC_REPORT_MARKDOWN) : NULL;
    CHECK(t && starts(t, "# bertc compare on /tmp/bertc-cmp-") && strstr(t, "| accuracy [95% CI] | 0.7500 [0.6900, 0.8100] |"),
          "markdown");
    /* every figure the terminal shows: MCC and McNemar too */
    CHECK(t && strstr(t, "| MCC | ") && strstr(t, "McNemar's test against models/sst2-small:") &&
              strstr(t, "| model | only models/sst2-small right | only it right | test | p |"),
          "markdown has MCC and McNemar: %s", t ? t : "");
    bertc_free(t);
    t = cmp ? render(compare_render, cmp, BERTC_REPORT_HTML) : NULL;
    CHECK(t && starts(t, "<!DOCTYPE html>") && strstr(t, "<h1>bertc compare</h1>") && strstr(t, "<td>MCC</td>") &&
              strstr(t, "<td>0.7500 [0.6900, 0.8100]</td>") && strstr(t, "McNemar's test against the first model") &&
              count(t, "<circle") == 2 && !strstr(t, "<script"),
          "html: %.300s", t ? t : "");
    bertc_free(t);
    t = cmp ? render(compare_render, cmp, BERTC_REPORT_JSON) : NULL;
    json_t *j = t ? json_loads(t, 0, NULL) : NULL, *ms = json_object_get(j, "models");
    CHECK(json_array_size(ms) == 2 && json_array_size(json_object_get(j, "mcnemar")) == 1 &&
              json_real_value(json_object_get(json_array_get(ms, 0), "accuracy")) == 0.75 &&
              json_integer_value(json_object_get(json_array_get(ms, 0), "parameters")) > 1000000 &&
              json_real_value(json_object_get(json_array_get(ms, 1), "latency_p50_ms")) > 0,
          "json: %.300s", t ? t : "");
    json_decref(j);
    bertc_free(t);
    bertc_compare_free(cmp);
    char cmd2[512], html[64];
    static char out[8192];
    snprintf(html, sizeof html, "/tmp/bertc-cmp-%ld.html", (long)getpid());
    snprintf(cmd2, sizeof cmd2, "@ compare --model models/sst2-small --model embedded --data %s --latency-samples 2 "
             "--report %s > /dev/null 2>&1 && head -c 15 %s", path, html, html);
    CHECK(run_cli(cmd2, out, sizeof out) == 0 && starts(out, "<!DOCTYPE html>"), "CLI --report: %s", out);
    unlink(html);
    unlink(path);
    p.data = "/nonexistent.tsv";
    cmp = NULL;
    CHECK(bertc_compare_new(&p, &cmp, &err) == BERTC_ERR_INPUT && !cmp, "missing data: %s", err.message);
}

static void t_train_report(void) {
    static const char hist[] =
        "[{\"loss\": 0.69, \"learning_rate\": 1e-5, \"epoch\": 0.5, \"step\": 10},"
        " {\"eval_loss\": 0.6, \"eval_accuracy\": 0.7, \"eval_f1\": 0.71, \"eval_mcc\": 0.4, \"train_sample_loss\": 0.5,"
        " \"train_sample_accuracy\": 0.8, \"train_sample_f1\": 0.81, \"epoch\": 0.5, \"step\": 10},"
        " {\"loss\": 0.5, \"learning_rate\": 5e-6, \"epoch\": 1.0, \"step\": 20}]";
    const char *warnings[] = {"the <validation> set is small"};
    char *t = NULL;
    size_t len = 0;
    bertc_error err;
    CHECK(bertc_train_report_render(hist, "my/model", "out", "3 epochs", warnings, 1, &t, &len, &err) == BERTC_OK,
          "render: %s", err.message);
    CHECK(t && strlen(t) == len && strstr(t, "<h1>Training report</h1>") && strstr(t, "my/model &rarr; out<br>3 epochs") &&
              strstr(t, "the &lt;validation&gt; set is small") && count(t, "<svg") == 3 &&
              strstr(t, "<tr><td>10</td><td>0.50</td><td>0.5000</td><td>0.8000</td><td>0.6000</td><td>0.7000</td>"),
          "page");
    /* steps on round ticks (0, 5, ..., 20 for 20 steps, not 4, 8, 12), the legend two a row inside the chart */
    CHECK(t && strstr(t, "text-anchor=\"middle\">15</text>") && !strstr(t, "text-anchor=\"middle\">12</text>") &&
              strstr(t, ">validation F1</text>") && !strstr(t, "x=\"476\""),
          "ticks and legend");
    bertc_free(t);
    t = NULL;
    CHECK(bertc_train_report_render("{\"not\": \"a list\"}", "m", "o", "", NULL, 0, &t, NULL, &err) == BERTC_ERR_INPUT &&
              !t,
          "not an array: %s", err.message);
}

void tests_evalrun(void) {
    run_test("evalrun/eval_run_reports", t_eval_run);
    run_test("evalrun/eval_train_leakage", t_eval_train);
    run_test("evalrun/eval_errors", t_eval_errors);
    run_test("evalrun/threshold_leak", t_threshold_leak);
    run_test("evalrun/predictions", t_predictions);
    run_test("evalrun/bias", t_bias);
    run_test("evalrun/compare", t_compare);
    run_test("evalrun/train_report", t_train_report);
}
