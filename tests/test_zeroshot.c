/*
 * test_zeroshot.c — bertc_zero_shot and `bertc zero-shot` against transformers' zero-shot-classification pipeline
 * (tests/data/tiny-nli.ref.json, made by tools/make_tiny_nli.py on tiny-nli-bert, tiny-nli-roberta and tiny-bert):
 * labels in the same order, scores within 1e-5; and the errors.
 */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

/* transformers' _parse_labels for a string: split on ",", strip, drop the empty ones. Labels point into buf. */
static size_t split_labels(char *buf, const char **out, size_t cap) {
    size_t n = 0;
    for (char *p = buf; p && n < cap;) {
        char *e = strchr(p, ',');
        if (e) *e = 0;
        while (*p == ' ') p++;
        char *r = p + strlen(p);
        while (r > p && r[-1] == ' ') *--r = 0;
        if (*p) out[n++] = p;
        p = e ? e + 1 : NULL;
    }
    return n;
}

static void check_output(const char *what, const json_t *want, const char *seq, const char *const *labels,
                         const bertc_zero_shot_result *r) {
    CHECK(!strcmp(json_string_value(json_object_get(want, "sequence")), seq), "%s: sequence", what);
    const json_t *wl = json_object_get(want, "labels"), *ws = json_object_get(want, "scores");
    CHECK(json_array_size(wl) == r->n_labels, "%s: %zu labels, want %zu", what, r->n_labels, json_array_size(wl));
    for (size_t k = 0; k < r->n_labels && k < json_array_size(wl); k++) {
        const char *w = json_string_value(json_array_get(wl, k));
        CHECK(!strcmp(w, labels[r->order[k]]), "%s: label %zu is %s, want %s", what, k, labels[r->order[k]], w);
        double ref = json_number_value(json_array_get(ws, k));
        CHECK(fabs(r->scores[k] - ref) <= 1e-5, "%s: score %zu %.9g, want %.9g", what, k, r->scores[k], ref);
    }
}

static void test_zero_shot_refs(void) {
    json_error_t je;
    json_t *refs = json_load_file(TD "tiny-nli.ref.json", 0, &je);
    CHECK(refs && json_array_size(refs) >= 30, "tiny-nli.ref.json: %s", refs ? "too few cases" : je.text);
    if (!refs) return;
    bertc_model *models[3] = {NULL, NULL, NULL};
    const char *names[3] = {"tiny-nli-bert", "tiny-nli-roberta", "tiny-bert"};
    size_t n_checked = 0;
    for (size_t i = 0; i < json_array_size(refs); i++) {
        const json_t *c = json_array_get(refs, i);
        const char *mname = json_string_value(json_object_get(c, "model"));
        int mi = -1;
        for (int k = 0; k < 3; k++)
            if (!strcmp(mname, names[k])) mi = k;
        CHECK(mi >= 0, "case %zu: model %s", i, mname);
        if (mi < 0) continue;
        bertc_error err;
        if (!models[mi]) {
            char dir[256];
            snprintf(dir, sizeof dir, TD "%s", mname);
            if (bertc_model_load(dir, NULL, &models[mi], &err)) {
                CHECK(0, "load %s: %s", dir, err.message);
                continue;
            }
        }
        const char *labels[16];
        size_t nl = 0;
        char lbuf[512];
        const json_t *cl = json_object_get(c, "candidate_labels");
        if (json_is_string(cl)) {
            snprintf(lbuf, sizeof lbuf, "%s", json_string_value(cl));
            nl = split_labels(lbuf, labels, 16);
        } else {
            for (size_t k = 0; k < json_array_size(cl) && nl < 16; k++) labels[nl++] = json_string_value(json_array_get(cl, k));
        }
        bertc_zero_shot_params p = bertc_zero_shot_default_params();
        const json_t *t = json_object_get(c, "hypothesis_template");
        if (t) p.hypothesis_template = json_string_value(t);
        p.multi_label = json_is_true(json_object_get(c, "multi_label"));
        if (mi == 2) p.entailment_id = 1; /* tiny-bert names no entailment label: transformers takes the last one */
        const json_t *seqs = json_object_get(c, "sequences"), *outs = json_object_get(c, "output");
        size_t ns = json_is_array(seqs) ? json_array_size(seqs) : 1;
        CHECK(json_is_array(seqs) == json_is_array(outs), "case %zu: a list gives a list", i);
        for (size_t s = 0; s < ns; s++) {
            const json_t *sq = json_is_array(seqs) ? json_array_get(seqs, s) : seqs;
            const json_t *want = json_is_array(outs) ? json_array_get(outs, s) : outs;
            bertc_zero_shot_result r;
            bertc_status st = bertc_zero_shot(models[mi], json_string_value(sq), json_string_length(sq), labels, nl, &p,
                                              &r, &err);
            CHECK(st == BERTC_OK, "case %zu/%zu: %s", i, s, err.message);
            if (st) continue;
            char what[64];
            snprintf(what, sizeof what, "case %zu/%zu (%s)", i, s, mname);
            check_output(what, want, json_string_value(sq), labels, &r);
            CHECK(r.entailment_id == (mi == 2 ? 1 : 2), "%s: entailment id %d", what, r.entailment_id);
            bertc_zero_shot_result_free(&r);
            n_checked++;
        }
    }
    CHECK(n_checked >= 40, "only %zu outputs checked", n_checked);
    for (int k = 0; k < 3; k++) bertc_model_free(models[k]);
    json_decref(refs);
}

static void test_zero_shot_errors(void) {
    bertc_error err;
    bertc_model *m = NULL;
    CHECK(bertc_model_load(TD "tiny-nli-bert", NULL, &m, &err) == BERTC_OK, "load: %s", err.message);
    if (!m) return;
    const char *labels[] = {"a", "b"};
    bertc_zero_shot_result r;
    CHECK(bertc_zero_shot(m, "x", 1, labels, 0, NULL, &r, &err) == BERTC_ERR_INVALID_ARG, "no labels");
    CHECK(strstr(err.message, "at least one"), "no labels: %s", err.message);
    CHECK(bertc_zero_shot(NULL, "x", 1, labels, 2, NULL, &r, &err) == BERTC_ERR_INVALID_ARG, "NULL model");
    CHECK(bertc_zero_shot(m, "x", 1, labels, 2, NULL, NULL, &err) == BERTC_ERR_INVALID_ARG, "NULL out");
    {
        bertc_zero_shot_params q = bertc_zero_shot_default_params();
        q.entailment_id = 3;
        CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &q, &r, &err) == BERTC_ERR_INVALID_ARG, "entailment id 3 of 3 labels");
        q.entailment_id = -2;
        CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &q, &r, &err) == BERTC_ERR_INVALID_ARG, "entailment id -2");
    }
    bertc_zero_shot_params p = bertc_zero_shot_default_params();
    p.hypothesis_template = "This example is about labels.";
    CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &p, &r, &err) == BERTC_ERR_INVALID_ARG, "template without {}");
    CHECK(strstr(err.message, "was not able to be formatted"), "template: %s", err.message);
    p.hypothesis_template = "{} and {}";
    CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &p, &r, &err) == BERTC_ERR_INVALID_ARG, "two {}");
    p.hypothesis_template = "{label}";
    CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &p, &r, &err) == BERTC_ERR_INVALID_ARG, "named field");
    p.hypothesis_template = "{0} or {0}?";
    CHECK(bertc_zero_shot(m, "x", 1, labels, 2, &p, &r, &err) == BERTC_OK, "{0} twice: %s", err.message);
    if (r.n_labels == 2) {
        float sum = r.scores[0] + r.scores[1];
        CHECK(fabsf(sum - 1.f) < 1e-6f, "single-label scores sum to 1: %g", sum);
        CHECK(r.scores[0] >= r.scores[1], "sorted");
    }
    bertc_zero_shot_result_free(&r);
    CHECK(bertc_zero_shot(m, "\xff", 1, labels, 2, NULL, &r, &err) == BERTC_ERR_INPUT, "bad UTF-8");
    /* a hypothesis too long to leave room for the text (only_first) */
    static char big[6000];
    for (size_t i = 0; i + 2 < sizeof big; i += 2) big[i] = 'a', big[i + 1] = ' ';
    const char *biglabel[] = {big};
    CHECK(bertc_zero_shot(m, "x", 1, biglabel, 1, NULL, &r, &err) == BERTC_ERR_INPUT, "hypothesis too long");
    CHECK(strstr(err.message, "only_first"), "too long: %s", err.message);
    bertc_model_free(m);
}

static void test_zero_shot_cli(void) {
    static char out[1 << 16];
    int rc = run_cli("@ zero-shot --model " TD "tiny-nli-bert --labels 'urgent, not urgent,phone,tablet,computer' "
                     "'I have a problem with my iphone that needs to be resolved asap!!' 2>&1", out, sizeof out);
    CHECK(rc == 0, "rc %d: %s", rc, out);
    json_error_t je;
    json_t *got = json_loads(out, 0, &je), *refs = json_load_file(TD "tiny-nli.ref.json", 0, &je);
    CHECK(got && refs, "CLI output is JSON: %s", out);
    if (got && refs) {
        const json_t *want = json_object_get(json_array_get(refs, 0), "output");
        CHECK(json_equal(json_object_get(got, "labels"), json_object_get(want, "labels")), "CLI labels: %s", out);
        CHECK(!strcmp(json_string_value(json_object_get(got, "sequence")),
                      json_string_value(json_object_get(want, "sequence"))), "CLI sequence");
        for (size_t k = 0; k < 5; k++) {
            double a = json_number_value(json_array_get(json_object_get(got, "scores"), k));
            double b = json_number_value(json_array_get(json_object_get(want, "scores"), k));
            CHECK(fabs(a - b) <= 1e-5, "CLI score %zu: %g vs %g", k, a, b);
        }
    }
    json_decref(got);
    json_decref(refs);
    /* one object per input, --input and --multi-label */
    rc = run_cli("printf 'one text\\n{\"text\": \"two\"}\\n' | @ zero-shot --model " TD "tiny-nli-roberta --multi-label "
                 "--labels a,b --template 'It is {}.' --input - 2>&1", out, sizeof out);
    CHECK(rc == 0, "rc %d: %s", rc, out);
    size_t lines = 0;
    for (char *p = out; *p; p++) lines += *p == '\n';
    CHECK(lines == 2 && strstr(out, "{\"sequence\": \"two\", \"labels\": ["), "two outputs: %s", out);
    CHECK(run_cli("@ zero-shot --help", out, sizeof out) == 0 && strstr(out, "usage: bertc zero-shot"), "--help");
    CHECK(run_cli("@ zero-shot --model " TD "tiny-nli-bert x 2>&1", out, sizeof out) == 2 && strstr(out, "--labels"),
          "no --labels: %s", out);
    CHECK(run_cli("@ zero-shot --model " TD "tiny-nli-bert --labels ' , ' x 2>&1", out, sizeof out) == 2,
          "empty labels: %s", out);
    CHECK(run_cli("@ zero-shot --model " TD "tiny-nli-bert --labels a --template nofield x 2>&1", out, sizeof out) == 2 &&
              strstr(out, "formatted"), "bad template: %s", out);
    CHECK(run_cli("@ --help", out, sizeof out) == 0 && strstr(out, "bertc zero-shot"), "main usage names zero-shot");
    /* a sentiment model is no NLI model: refused, its labels named (exit 3, unsupported), unless told which is which */
    rc = run_cli("@ zero-shot --labels sports,politics 'The match ended in a draw.' 2>&1", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "no entailment label") && strstr(out, "NEGATIVE, POSITIVE"), "sentiment model: rc %d: %s",
          rc, out);
    rc = run_cli("@ zero-shot --model " TD "tiny-bert --labels a,b x 2>&1", out, sizeof out);
    CHECK(rc == 3 && strstr(out, "LABEL_0, LABEL_1)"), "LABEL_i model: rc %d: %s", rc, out);
    rc = run_cli("@ zero-shot --model " TD "tiny-bert --entailment-id 1 --labels a,b x 2>&1", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"labels\": ["), "--entailment-id: rc %d: %s", rc, out);
    CHECK(run_cli("@ zero-shot --model " TD "tiny-bert --entailment-id 2 --labels a,b x 2>&1", out, sizeof out) == 2,
          "--entailment-id out of range: %s", out);
}

void tests_zeroshot(void) {
    run_test("zero_shot_refs", test_zero_shot_refs);
    run_test("zero_shot_errors", test_zero_shot_errors);
    run_test("zero_shot_cli", test_zero_shot_cli);
}
