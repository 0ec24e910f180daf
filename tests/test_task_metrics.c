/*
 * test_task_metrics.c — seqeval entity metrics and the SQuAD v1.1 / v2.0 scores against the references of
 * tests/data/task-metrics.ref.json (tools/make_task_metric_refs.py: seqeval 1.2.2 itself, the official SQuAD
 * scripts transcribed), the normalization, and the error paths.
 */
#include "bertc_eval.h"
#include "base/json.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TOL 1e-12

static json_t *refs;
static bool refs_loaded;

static json_t *load_refs(void) { /* numbers as reals, as the project's jparse reads them */
    if (refs_loaded) return refs;
    refs_loaded = true;
    json_error_t je;
    refs = json_load_file(TD "task-metrics.ref.json", JSON_DECODE_INT_AS_REAL, &je);
    CHECK(refs, "task-metrics.ref.json: %s", je.text);
    return refs;
}

/* NaN on our side is null in the JSON (numpy's mean of nothing). */
static bool same(double got, const json_t *want) {
    if (json_is_null(want)) return isnan(got);
    return json_is_number(want) && fabs(got - json_number_value(want)) <= TOL;
}

/* The sentences of a JSON list of lists of strings, as the API takes them. */
typedef struct sents {
    size_t n;
    const char ***tags;
    size_t *len;
} sents;

static sents sents_of(const json_t *a) {
    sents s = {json_array_size(a), NULL, NULL};
    s.tags = calloc(s.n + 1, sizeof *s.tags);
    s.len = calloc(s.n + 1, sizeof *s.len);
    for (size_t i = 0; i < s.n; i++) {
        const json_t *row = json_array_get(a, i);
        s.len[i] = json_array_size(row);
        s.tags[i] = calloc(s.len[i] + 1, sizeof **s.tags);
        for (size_t j = 0; j < s.len[i]; j++) s.tags[i][j] = json_string_value(json_array_get(row, j));
    }
    return s;
}

static void sents_free(sents *s) {
    for (size_t i = 0; i < s->n; i++) free(s->tags[i]);
    free(s->tags);
    free(s->len);
}

#define CC(s) ((const char *const *const *)(s).tags)

static void check_scores(const char *name, const char *row, const bertc_seqeval_scores *x, const json_t *want) {
    CHECK(same(x->precision, json_object_get(want, "precision")), "%s %s precision: %.17g", name, row, x->precision);
    CHECK(same(x->recall, json_object_get(want, "recall")), "%s %s recall: %.17g", name, row, x->recall);
    CHECK(same(x->f1, json_object_get(want, "f1")), "%s %s f1: %.17g", name, row, x->f1);
    CHECK(x->support == (long)jnum(want, "support", -1), "%s %s support: %ld", name, row, x->support);
}

static int entities_match(const char *name, const char *side, const bertc_seqeval_entity *e, size_t n,
                          const json_t *want) {
    CHECK(n == json_array_size(want), "%s %s: %zu entities, seqeval %zu", name, side, n, json_array_size(want));
    if (n != json_array_size(want)) return 0;
    int bad = 0;
    for (size_t k = 0; k < n; k++) {
        const json_t *w = json_array_get(want, k);
        const char *ty = json_string_value(json_array_get(w, 0));
        size_t s = (size_t)json_number_value(json_array_get(w, 1));
        size_t en = (size_t)json_number_value(json_array_get(w, 2));
        bool ok = ty && !strcmp(e[k].type, ty) && e[k].start == s && e[k].end == en;
        CHECK(ok, "%s %s entity %zu: (%s, %zu, %zu), seqeval (%s, %zu, %zu)", name, side, k, e[k].type, e[k].start,
              e[k].end, ty ? ty : "?", s, en);
        bad += !ok;
    }
    return !bad;
}

static void t_seqeval_refs(void) {
    json_t *r = load_refs();
    const json_t *cases = json_object_get(r, "seqeval");
    CHECK(json_array_size(cases) >= 50, "%zu seqeval cases", json_array_size(cases));
    size_t ci, n_ok = 0, n_sent = 0;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        int before = t_failures;
        const char *name = jstr(c, "name");
        sents g = sents_of(json_object_get(c, "gold")), p = sents_of(json_object_get(c, "pred"));
        n_sent += g.n;
        bertc_seqeval_params sp = bertc_seqeval_default_params();
        sp.suffix = jbool(c, "suffix", 0);
        sp.zero_division = jint(c, "zero_division", 0);
        bertc_error err;
        bertc_seqeval_entity *e = NULL;
        size_t ne = 0;
        CHECK(!bertc_seqeval_entities(g.n, CC(g), g.len, sp.suffix, &e, &ne, &err), "%s: %s", name, err.message);
        entities_match(name, "gold", e, ne, json_object_get(c, "gold_entities"));
        bertc_seqeval_entities_free(e, ne);
        CHECK(!bertc_seqeval_entities(p.n, CC(p), p.len, sp.suffix, &e, &ne, &err), "%s: %s", name, err.message);
        entities_match(name, "pred", e, ne, json_object_get(c, "pred_entities"));
        bertc_seqeval_entities_free(e, ne);

        bertc_seqeval *m = NULL;
        CHECK(!bertc_seqeval_compute(g.n, CC(g), g.len, CC(p), p.len, &sp, &m, &err), "%s: %s", name, err.message);
        if (m) {
            const json_t *types = json_object_get(c, "types");
            CHECK(m->n_types == json_array_size(types), "%s: %zu types, seqeval %zu", name, m->n_types,
                  json_array_size(types));
            for (size_t k = 0; k < m->n_types && k < json_array_size(types); k++) {
                const json_t *w = json_array_get(types, k);
                CHECK(!strcmp(m->types[k].type, jstr(w, "type")), "%s type %zu: %s, seqeval %s", name, k,
                      m->types[k].type, jstr(w, "type"));
                check_scores(name, m->types[k].type, &m->types[k], w);
                CHECK(m->types[k].correct <= m->types[k].predicted && m->types[k].correct <= m->types[k].support,
                      "%s %s counts", name, m->types[k].type);
            }
            check_scores(name, "micro", &m->micro, json_object_get(c, "micro"));
            check_scores(name, "macro", &m->macro, json_object_get(c, "macro"));
            check_scores(name, "weighted", &m->weighted, json_object_get(c, "weighted"));
        }
        bertc_seqeval_free(m);
        sents_free(&g);
        sents_free(&p);
        n_ok += t_failures == before;
    }
    CHECK(n_ok == json_array_size(cases), "%zu of %zu seqeval cases (%zu sentences) agree", n_ok,
          json_array_size(cases), n_sent);
    if (n_ok == json_array_size(cases))
        printf("  %zu seqeval cases (%zu sentences) agree with seqeval\n", n_ok, n_sent);
}

static void t_seqeval_errors(void) {
    const char *a[] = {"B-PER", "I-PER"}, *b[] = {"B-PER"}, *e[] = {"B-PER", ""}, *bad[] = {"B-\xff"};
    const char *const *g[] = {a}, *const *p[] = {b}, *const *pe[] = {e}, *const *pb[] = {bad};
    size_t l2[] = {2}, l1[] = {1};
    bertc_seqeval *m = (bertc_seqeval *)1;
    bertc_error err;
    CHECK(bertc_seqeval_compute(1, g, l2, p, l1, NULL, &m, &err) == BERTC_ERR_INPUT && !m, "length mismatch");
    CHECK(strstr(err.message, "sentence 0: 2 gold tags but 1 predicted"), "message: %s", err.message);
    CHECK(bertc_seqeval_compute(1, g, l2, pe, l2, NULL, &m, &err) == BERTC_ERR_INPUT, "empty tag");
    CHECK(strstr(err.message, "predicted sentence 0, token 1: empty tag"), "message: %s", err.message);
    CHECK(bertc_seqeval_compute(1, pb, l1, p, l1, NULL, &m, &err) == BERTC_ERR_INPUT, "bad UTF-8");
    CHECK(strstr(err.message, "not valid UTF-8"), "message: %s", err.message);
    CHECK(bertc_seqeval_compute(0, g, l2, g, l2, NULL, &m, &err) == BERTC_ERR_INVALID_ARG, "no sentences");
    CHECK(bertc_seqeval_compute(1, NULL, l2, g, l2, NULL, &m, &err) == BERTC_ERR_INVALID_ARG, "NULL gold");
    bertc_seqeval_params sp = {0, 2};
    CHECK(bertc_seqeval_compute(1, g, l2, g, l2, &sp, &m, &err) == BERTC_ERR_INVALID_ARG, "zero_division 2");
    CHECK(bertc_seqeval_compute(1, g, l2, g, l2, NULL, NULL, &err) == BERTC_ERR_INVALID_ARG, "NULL out");
    CHECK(bertc_seqeval_compute(1, g, l2, g, l2, NULL, &m, NULL) == BERTC_OK && m, "NULL err, params");
    if (m) CHECK(m->n_types == 1 && m->micro.f1 == 1.0 && m->types[0].correct == 1, "one PER, right");
    bertc_seqeval_free(m);
    bertc_seqeval_free(NULL);
    bertc_seqeval_entities_free(NULL, 3);
    bertc_seqeval_entity *ent = NULL;
    size_t ne = 9;
    CHECK(bertc_seqeval_entities(1, pe, l2, 0, &ent, &ne, &err) == BERTC_ERR_INPUT && !ent && ne == 0, "entities err");
    const char *o[] = {"O"};
    const char *const *so[] = {o};
    CHECK(!bertc_seqeval_entities(1, so, l1, 0, &ent, &ne, &err) && !ent && ne == 0, "no entities");
}

static void t_squad_refs(void) {
    json_t *r = load_refs();
    const json_t *cases = json_object_get(r, "squad");
    CHECK(json_array_size(cases) >= 10, "%zu SQuAD cases", json_array_size(cases));
    size_t ci, n_ok = 0, n_q = 0;
    json_t *c;
    json_array_foreach(cases, ci, c) {
        int before = t_failures;
        const char *name = jstr(c, "name");
        int v = jint(c, "version", 0);
        const json_t *qs = json_object_get(c, "questions");
        size_t n = json_array_size(qs);
        n_q += n;
        bertc_squad_question *q = calloc(n, sizeof *q);
        const char ***ans = calloc(n, sizeof *ans);
        for (size_t i = 0; i < n; i++) {
            const json_t *qi = json_array_get(qs, i), *a = json_object_get(qi, "answers");
            q[i].prediction = jstr(qi, "prediction");
            q[i].n_answers = json_array_size(a);
            ans[i] = calloc(q[i].n_answers + 1, sizeof **ans);
            for (size_t k = 0; k < q[i].n_answers; k++) ans[i][k] = json_string_value(json_array_get(a, k));
            q[i].answers = ans[i];
        }
        bertc_squad *s = NULL;
        bertc_error err;
        CHECK(!bertc_squad_compute((bertc_squad_version)v, q, n, &s, &err), "%s: %s", name, err.message);
        if (s) {
            const json_t *x = json_object_get(c, "expected");
            CHECK(same(s->exact, json_object_get(x, "exact")), "%s exact %.17g, want %.17g", name, s->exact,
                  jnum(x, "exact", NAN));
            CHECK(same(s->f1, json_object_get(x, "f1")), "%s f1 %.17g, want %.17g", name, s->f1, jnum(x, "f1", NAN));
            CHECK(s->total == (size_t)jnum(x, "total", -1), "%s total %zu", name, s->total);
            if (v == 2) {
                /* a split the script leaves out (no such question) is NaN with total 0 here */
                const json_t *he = json_object_get(x, "HasAns_exact"), *ne = json_object_get(x, "NoAns_exact");
                CHECK(same(s->has_ans_exact, he), "%s HasAns_exact %.17g", name, s->has_ans_exact);
                CHECK(same(s->has_ans_f1, json_object_get(x, "HasAns_f1")), "%s HasAns_f1 %.17g", name,
                      s->has_ans_f1);
                CHECK(s->has_ans_total == (size_t)jnum(x, "HasAns_total", 0), "%s HasAns_total %zu", name,
                      s->has_ans_total);
                CHECK(same(s->no_ans_exact, ne), "%s NoAns_exact %.17g", name, s->no_ans_exact);
                CHECK(same(s->no_ans_f1, json_object_get(x, "NoAns_f1")), "%s NoAns_f1 %.17g", name, s->no_ans_f1);
                CHECK(s->no_ans_total == (size_t)jnum(x, "NoAns_total", 0), "%s NoAns_total %zu", name,
                      s->no_ans_total);
            } else
                CHECK(s->has_ans_total == 0 && s->no_ans_total == 0 && isnan(s->has_ans_exact), "%s v1 split", name);
            const json_t *pe = json_object_get(c, "question_exact"), *pf = json_object_get(c, "question_f1");
            for (size_t i = 0; i < n; i++) {
                CHECK(same(s->question_exact[i], json_array_get(pe, i)), "%s question %zu exact %.17g", name, i,
                      s->question_exact[i]);
                CHECK(same(s->question_f1[i], json_array_get(pf, i)), "%s question %zu f1 %.17g", name, i,
                      s->question_f1[i]);
            }
        }
        bertc_squad_free(s);
        for (size_t i = 0; i < n; i++) free(ans[i]);
        free(ans);
        free(q);
        n_ok += t_failures == before;
    }
    CHECK(n_ok == json_array_size(cases), "%zu of %zu SQuAD cases agree", n_ok, json_array_size(cases));
    if (n_ok == json_array_size(cases))
        printf("  %zu SQuAD cases (%zu questions) agree with the official scripts\n", n_ok, n_q);
}

static void t_squad_normalize(void) {
    json_t *r = load_refs();
    const json_t *cases = json_object_get(r, "normalize");
    CHECK(json_array_size(cases) >= 50, "%zu normalizations", json_array_size(cases));
    size_t i;
    json_t *c;
    json_array_foreach(cases, i, c) {
        const char *text = jstr(c, "text"), *want = jstr(c, "normalized");
        char *got = NULL;
        size_t len = 0;
        bertc_error err;
        CHECK(!bertc_squad_normalize(text, strlen(text), &got, &len, &err), "normalize %zu: %s", i, err.message);
        CHECK(got && want && !strcmp(got, want) && len == strlen(want), "normalize(\"%s\") = \"%s\", Python \"%s\"",
              text, got ? got : "(null)", want ? want : "?");
        bertc_free(got);
    }
}

static void t_squad_errors(void) {
    const char *ans[] = {"x"}, *bad[] = {"\xc3("};
    bertc_squad_question q1 = {"x", ans, 1}, q0 = {"x", NULL, 0}, qb = {"x", bad, 1}, qn = {NULL, ans, 1};
    bertc_squad *s = (bertc_squad *)1;
    bertc_error err;
    CHECK(bertc_squad_compute(BERTC_SQUAD_V1, &q0, 1, &s, &err) == BERTC_ERR_INPUT && !s, "v1 without answers");
    CHECK(strstr(err.message, "question 0 has no answers"), "message: %s", err.message);
    CHECK(bertc_squad_compute(BERTC_SQUAD_V2, &qb, 1, &s, &err) == BERTC_ERR_INPUT, "bad UTF-8");
    CHECK(strstr(err.message, "question 0: answer is not valid UTF-8"), "message: %s", err.message);
    CHECK(bertc_squad_compute(BERTC_SQUAD_V2, &qn, 1, &s, &err) == BERTC_ERR_INVALID_ARG, "NULL prediction");
    CHECK(bertc_squad_compute(BERTC_SQUAD_V2, &q1, 0, &s, &err) == BERTC_ERR_INVALID_ARG, "no questions");
    CHECK(bertc_squad_compute((bertc_squad_version)3, &q1, 1, &s, &err) == BERTC_ERR_INVALID_ARG, "version 3");
    CHECK(bertc_squad_compute(BERTC_SQUAD_V2, &q0, 1, &s, NULL) == BERTC_OK && s, "v2 unanswerable");
    if (s)
        CHECK(s->exact == 0 && s->no_ans_total == 1 && s->has_ans_total == 0 && isnan(s->has_ans_f1), "v2 split");
    bertc_squad_free(s);
    bertc_squad_free(NULL);
    char *o = NULL;
    CHECK(bertc_squad_normalize("\xff", 1, &o, NULL, &err) == BERTC_ERR_INPUT && !o, "normalize bad UTF-8");
    CHECK(!bertc_squad_normalize(NULL, 0, &o, NULL, &err) && o && !*o, "normalize empty");
    bertc_free(o);
}

static void t_cleanup(void) {
    json_decref(refs);
    refs = NULL;
    refs_loaded = false;
}

void tests_task_metrics(void) {
    run_test("task_metrics_seqeval_refs", t_seqeval_refs);
    run_test("task_metrics_seqeval_errors", t_seqeval_errors);
    run_test("task_metrics_squad_refs", t_squad_refs);
    run_test("task_metrics_squad_normalize", t_squad_normalize);
    run_test("task_metrics_squad_errors", t_squad_errors);
    t_cleanup();
}
