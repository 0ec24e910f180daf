/*
 * test_taskeval.c — `bertc eval` of token-classification and question-answering models (bertc_ner_eval,
 * bertc_qa_eval, the dataset parsers, the reports, the CLI) against tests/data/taskeval/refs.json
 * (tools/make_taskeval_refs.py: the tiny checkpoints run by transformers, seqeval 1.2.2 as evaluate's "seqeval"
 * reports it, transformers 5.2's question-answering pipeline (its last release with it) and the official SQuAD scripts).
 */
#include "bertc_eval.h"
#include "base/json.h"
#include "test.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define TE TD "taskeval/"

static json_t *refs;
static bool refs_loaded;

static json_t *load_refs(void) { /* jansson's own reader: integers stay integers (jparse reads every number as a real) */
    if (refs_loaded) return refs;
    refs_loaded = true;
    json_error_t je;
    refs = json_load_file(TE "refs.json", 0, &je);
    CHECK(refs, "refs.json: %s", je.text);
    return refs;
}

/* got and want hold the same keys with equal values (numbers within 1e-12; null is NaN's null). */
static int same_json(const char *what, const json_t *got, const json_t *want) {
    if (json_is_number(want) || json_is_number(got)) {
        bool ok = json_is_number(got) && json_is_number(want) &&
                  fabs(json_number_value(got) - json_number_value(want)) <= 1e-12;
        CHECK(ok, "%s: %.17g, want %.17g", what, json_number_value(got), json_number_value(want));
        return ok;
    }
    if (json_is_object(want)) {
        int ok = json_is_object(got) && json_object_size(got) == json_object_size(want);
        CHECK(ok, "%s: %zu keys, want %zu", what, json_object_size(got), json_object_size(want));
        const char *k;
        const json_t *v;
        json_object_foreach((json_t *)want, k, v) {
            char sub[256];
            snprintf(sub, sizeof sub, "%s.%s", what, k);
            const json_t *g = json_object_get(got, k);
            CHECK(g, "%s: missing", sub);
            if (g) ok &= same_json(sub, g, v);
            else ok = 0;
        }
        return ok;
    }
    int ok = json_equal((json_t *)got, (json_t *)want);
    CHECK(ok, "%s differs", what);
    return ok;
}

static json_t *render_json(const bertc_task_report *r) {
    char *txt = NULL;
    size_t len;
    bertc_error err;
    if (bertc_task_report_render(r, BERTC_REPORT_JSON, &txt, &len, &err)) {
        CHECK(0, "%s", err.message);
        return NULL;
    }
    CHECK(len && txt[len - 1] == '\n', "JSON ends in a newline");
    json_error_t je;
    json_t *j = json_loadb(txt, len, 0, &je);
    CHECK(j, "report JSON: %s", je.text);
    bertc_free(txt);
    return j;
}

static bertc_model *load(const char *name) {
    char dir[256];
    snprintf(dir, sizeof dir, TD "%s", name);
    bertc_model *m = NULL;
    bertc_error err;
    if (bertc_model_load(dir, NULL, &m, &err)) CHECK(0, "%s: %s", dir, err.message);
    return m;
}

/* One NER evaluation against its reference case. */
static void check_ner(const char *what, const bertc_task_report *r, const json_t *c) {
    const json_t *pred = json_object_get(c, "pred");
    size_t bad = 0;
    for (size_t i = 0; i < json_array_size(pred); i++) {
        size_t n;
        const char *const *tags = bertc_task_report_tags(r, i, &n);
        const json_t *want = json_array_get(pred, i);
        CHECK(tags && n == json_array_size(want), "%s sentence %zu: %zu tags", what, i, n);
        for (size_t j = 0; tags && j < n && j < json_array_size(want); j++)
            if (strcmp(tags[j], json_string_value(json_array_get(want, j))) && bad++ < 5)
                CHECK(0, "%s sentence %zu word %zu: %s, want %s", what, i, j, tags[j],
                      json_string_value(json_array_get(want, j)));
    }
    CHECK(bertc_task_report_tags(r, json_array_size(pred), NULL) == NULL, "past the end");
    CHECK(bad == 0, "%s: %zu tags differ", what, bad);
    size_t no_token, words = bertc_task_report_words(r, &no_token);
    CHECK(words == (size_t)jnum(c, "words", -1), "%s: %zu words", what, words);
    CHECK(no_token == (size_t)jnum(c, "truncated_words", -1), "%s: %zu without a token", what, no_token);
    json_t *j = render_json(r);
    char sub[200];
    snprintf(sub, sizeof sub, "%s metrics", what);
    same_json(sub, json_object_get(j, "metrics"), json_object_get(c, "metrics"));
    snprintf(sub, sizeof sub, "%s classification_report", what);
    same_json(sub, json_object_get(j, "classification_report"), json_object_get(c, "classification_report"));
    const json_t *counts = json_object_get(j, "counts");
    CHECK(jnum(counts, "truncated_words", -1) == jnum(c, "truncated_words", -2), "%s counts", what);
    CHECK(!strcmp(jstr(j, "task") ? jstr(j, "task") : "", "token-classification"), "%s task", what);
    const bertc_seqeval *se = bertc_task_report_seqeval(r);
    CHECK(se && fabs(se->micro.f1 - jnum(json_object_get(c, "metrics"), "overall_f1", NAN)) <= 1e-12, "%s f1", what);
    CHECK(bertc_task_report_squad(r) == NULL && bertc_task_report_answer(r, 0, NULL) == NULL, "%s: no QA parts", what);
    json_decref(j);
}

static void t_taskeval_ner(void) {
    json_t *rf = load_refs();
    if (!rf) return;
    const json_t *cases = json_object_get(rf, "ner");
    CHECK(json_array_size(cases) == 6, "6 NER cases");
    for (size_t k = 0; k < json_array_size(cases); k++) {
        const json_t *c = json_array_get(cases, k);
        const char *model = jstr(c, "model"), *data = jstr(c, "data");
        bertc_model *m = load(model);
        if (!m) continue;
        char path[256], what[256];
        snprintf(path, sizeof path, TE "%s", data);
        bertc_task_eval_params p = bertc_task_eval_default_params();
        p.data = path;
        p.encode.max_length = jint(c, "max_length", 0);
        bertc_error err;
        for (int batch = 1; batch <= 32; batch *= 32) { /* results do not depend on the batch */
            p.batch_size = batch;
            bertc_task_report *r = NULL;
            snprintf(what, sizeof what, "%s %s batch %d", model, data, batch);
            if (bertc_task_eval_run(m, &p, &r, &err)) CHECK(0, "%s: %s", what, err.message);
            else check_ner(what, r, c);
            bertc_task_report_free(r);
        }
        /* the same sentences as CoNLL and as JSON lines with label ids under other column names */
        if (!strcmp(data, "ner.jsonl")) {
            static const char *const alt[] = {TE "ner.conll", TE "ner-ids.jsonl"};
            for (int a = 0; a < 2; a++) {
                const char *labels[9];
                for (int i = 0; i < 9; i++) labels[i] = bertc_model_label(m, i);
                bertc_ner_data_params dp = bertc_ner_data_default_params();
                if (a == 1) dp.tokens_column = "words", dp.tags_column = "tags", dp.labels = labels, dp.n_labels = 9;
                bertc_ner_dataset *d = NULL;
                bertc_task_report *r = NULL;
                snprintf(what, sizeof what, "%s %s", model, alt[a]);
                if (bertc_ner_data_read(alt[a], &dp, &d, &err) || bertc_ner_eval(m, d, &p, &r, &err))
                    CHECK(0, "%s: %s", what, err.message);
                else {
                    CHECK(d->format == (a == 0 ? BERTC_TASK_DATA_CONLL : BERTC_TASK_DATA_JSONL), "%s format", what);
                    check_ner(what, r, c);
                }
                bertc_task_report_free(r);
                bertc_ner_data_free(d);
            }
        }
        /* the wrong evaluation for the head */
        bertc_qa_dataset *qd = NULL;
        bertc_task_report *r = NULL;
        if (!bertc_qa_data_read(TE "qa-v1.jsonl", BERTC_TASK_DATA_AUTO, &qd, &err))
            CHECK(bertc_qa_eval(m, qd, NULL, &r, &err) == BERTC_ERR_UNSUPPORTED && !r, "QA eval of a NER model");
        bertc_qa_data_free(qd);
        bertc_model_free(m);
    }
}

/* order[i]: the reference's index of the report's question i (the SQuAD JSON groups questions by context) */
static void check_qa(const char *what, const bertc_task_report *r, const json_t *c, const size_t *order) {
    const json_t *pred = json_object_get(c, "pred");
    for (size_t i = 0; i < json_array_size(pred); i++) {
        double score;
        const char *a = bertc_task_report_answer(r, i, &score);
        const json_t *w = json_array_get(pred, order[i]);
        CHECK(a && !strcmp(a, jstr(w, "answer")), "%s question %zu: \"%s\", want \"%s\"", what, i, a ? a : "(null)",
              jstr(w, "answer"));
        CHECK(fabs(score - jnum(w, "score", NAN)) <= 1e-6, /* float32 span scores, summed per answer text */
              "%s question %zu: score %.9g, want %.9g", what, i, score, jnum(w, "score", NAN));
    }
    CHECK(bertc_task_report_answer(r, json_array_size(pred), NULL) == NULL, "past the end");
    json_t *j = render_json(r);
    char sub[512];
    snprintf(sub, sizeof sub, "%s metrics", what);
    same_json(sub, json_object_get(j, "metrics"), json_object_get(c, "metrics"));
    int v = jint(c, "squad_version", 0);
    CHECK(!strcmp(jstr(j, "squad_version") ? jstr(j, "squad_version") : "", v == 2 ? "2.0" : "1.1"), "%s version", what);
    CHECK(jbool(j, "handle_impossible_answer", -1) == jbool(c, "handle_impossible", -2), "%s impossible", what);
    const bertc_squad *sq = bertc_task_report_squad(r);
    const json_t *per = json_object_get(c, "per_question");
    for (size_t i = 0; sq && i < json_array_size(per); i++) {
        const json_t *row = json_array_get(per, order[i]);
        CHECK(sq->question_exact[i] == json_number_value(json_array_get(row, 0)) &&
                  fabs(sq->question_f1[i] - json_number_value(json_array_get(row, 1))) <= 1e-12,
              "%s question %zu: exact %g f1 %.17g", what, i, sq->question_exact[i], sq->question_f1[i]);
    }
    CHECK(bertc_task_report_seqeval(r) == NULL && bertc_task_report_tags(r, 0, NULL) == NULL, "%s: no NER parts", what);
    /* predictions: one line per question with its exact / f1 */
    char *txt = NULL;
    size_t len;
    bertc_error err;
    if (!bertc_task_report_render(r, BERTC_REPORT_PREDICTIONS, &txt, &len, &err)) {
        size_t lines = 0;
        for (size_t i = 0; i < len; i++) lines += txt[i] == '\n';
        CHECK(lines == json_array_size(pred), "%s: %zu prediction lines", what, lines);
        CHECK(strstr(txt, "\"exact\":") && strstr(txt, "\"answers\":["), "%s predictions keys", what);
    } else CHECK(0, "%s", err.message);
    bertc_free(txt);
    CHECK(bertc_task_report_render(r, BERTC_REPORT_HTML, &txt, &len, &err) == BERTC_ERR_INVALID_ARG, "no HTML");
    json_decref(j);
}

static void t_taskeval_qa(void) {
    json_t *rf = load_refs();
    if (!rf) return;
    const json_t *cases = json_object_get(rf, "qa");
    CHECK(json_array_size(cases) == 12, "12 QA cases");
    bertc_model *m = NULL;
    const char *loaded = "";
    for (size_t k = 0; k < json_array_size(cases); k++) {
        const json_t *c = json_array_get(cases, k);
        const char *model = jstr(c, "model"), *data = jstr(c, "data");
        if (strcmp(model, loaded)) {
            bertc_model_free(m);
            if (!(m = load(model))) return;
            loaded = model;
        }
        char path[256], what[400];
        bertc_task_eval_params p = bertc_task_eval_default_params();
        const json_t *va = json_object_get(c, "squad_version_arg"), *ia = json_object_get(c, "handle_impossible_arg");
        p.squad_version = json_is_integer(va) ? (int)json_integer_value(va) : 0;
        p.handle_impossible = json_is_boolean(ia) ? json_is_true(ia) : -1;
        /* the JSON lines and the same questions as the official SQuAD JSON */
        for (int f = 0; f < 2; f++) {
            if (f == 0) snprintf(path, sizeof path, TE "%s", data);
            else snprintf(path, sizeof path, TE "squad-%s.json", strstr(data, "v2") ? "v2" : "v1");
            size_t order[64];
            char jl[256];
            snprintf(jl, sizeof jl, TE "%s", data);
            bertc_qa_dataset *dj = NULL, *dx = NULL;
            bertc_error e2;
            CHECK(!bertc_qa_data_read(jl, BERTC_TASK_DATA_AUTO, &dj, &e2) &&
                      !bertc_qa_data_read(path, BERTC_TASK_DATA_AUTO, &dx, &e2) && dj->n == dx->n && dj->n <= 64,
                  "%s: the datasets", path);
            for (size_t i = 0; dx && dj && i < dx->n && i < 64; i++) {
                order[i] = 0;
                for (size_t q = 0; q < dj->n; q++)
                    if (!strcmp(dx->ex[i].id, dj->ex[q].id)) order[i] = q;
            }
            bertc_qa_data_free(dj);
            bertc_qa_data_free(dx);
            p.data = path;
            snprintf(what, sizeof what, "%s %s v%d", model, path, p.squad_version);
            bertc_task_report *r = NULL;
            bertc_error err;
            if (bertc_task_eval_run(m, &p, &r, &err)) CHECK(0, "%s: %s", what, err.message);
            else check_qa(what, r, c, order);
            bertc_task_report_free(r);
        }
    }
    /* v1.1 of a dataset with unanswerable questions: refused, where */
    bertc_task_eval_params p = bertc_task_eval_default_params();
    p.data = TE "qa-v2.jsonl";
    p.squad_version = 1;
    bertc_task_report *r = NULL;
    bertc_error err;
    CHECK(m && bertc_task_eval_run(m, &p, &r, &err) == BERTC_ERR_INPUT && !r &&
              strstr(err.message, "qa-v2.jsonl:5: question n1 has no answer"),
          "v1 of v2 data: %s", err.message);
    p.squad_version = 3;
    CHECK(m && bertc_task_eval_run(m, &p, &r, &err) == BERTC_ERR_INVALID_ARG, "version 3");
    bertc_model_free(m);
    /* a sequence classifier is neither */
    bertc_model *sc = NULL;
    if (!bertc_model_load(NULL, NULL, &sc, &err)) {
        p.squad_version = 0;
        CHECK(bertc_task_eval_run(sc, &p, &r, &err) == BERTC_ERR_UNSUPPORTED && strstr(err.message, "sequence-classification"),
              "task eval of a classifier: %s", err.message);
        bertc_model_free(sc);
    }
}

/* ---- the parsers ---- */

static bertc_status ner_parse(const char *text, const char *name, const bertc_ner_data_params *p,
                              bertc_ner_dataset **d, bertc_error *err) {
    return bertc_ner_data_parse(text, strlen(text), name, p, d, err);
}

static void expect_ner_error(const char *text, const char *name, const bertc_ner_data_params *p, const char *msg) {
    bertc_ner_dataset *d = NULL;
    bertc_error err;
    bertc_status s = ner_parse(text, name, p, &d, &err);
    CHECK(s == BERTC_ERR_INPUT && !d && strstr(err.message, msg), "%s: status %d \"%s\", want \"%s\"", name, s,
          s ? err.message : "", msg);
    bertc_ner_data_free(d);
}

static void expect_qa_error(const char *text, const char *name, const char *msg) {
    bertc_qa_dataset *d = NULL;
    bertc_error err;
    bertc_status s = bertc_qa_data_parse(text, strlen(text), name, BERTC_TASK_DATA_AUTO, &d, &err);
    CHECK(s == BERTC_ERR_INPUT && !d && strstr(err.message, msg), "%s: status %d \"%s\", want \"%s\"", name, s,
          s ? err.message : "", msg);
    bertc_qa_data_free(d);
}

static void t_taskeval_parse(void) {
    bertc_ner_dataset *d = NULL;
    bertc_error err;
    /* CoNLL: extra columns, the tag last, -DOCSTART-, blank runs, CRLF, no final newline, a BOM */
    const char *conll = "\xEF\xBB\xBF-DOCSTART- -X- O\n\nEU NNP B-ORG\r\nrejects\tVBZ  O\n\n\n-DOCSTART- -X- O\n"
                        "Peter B-PER\n  Blackburn   I-PER  ";
    if (!ner_parse(conll, "x.conll", NULL, &d, &err)) {
        CHECK(d->n == 2 && d->s[0].n == 2 && d->s[1].n == 2, "conll: %zu sentences", d->n);
        CHECK(d->n == 2 && !strcmp(d->s[0].words[1], "rejects") && !strcmp(d->s[0].tags[1], "O") &&
                  !strcmp(d->s[1].words[1], "Blackburn") && !strcmp(d->s[1].tags[1], "I-PER") && d->s[1].line == 8 &&
                  d->s[0].line == 3,
              "conll fields");
    } else CHECK(0, "%s", err.message);
    bertc_ner_data_free(d);
    /* JSON lines: integer tags without labels stay their decimal text; a blank line is skipped; sniffed by '{' */
    const char *jl = "\n{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [3, \"B-X\"]}\n   \n{\"tokens\": [], \"ner_tags\": []}\n";
    if (!ner_parse(jl, "data", NULL, &d, &err)) {
        CHECK(d->format == BERTC_TASK_DATA_JSONL && d->n == 2 && d->s[0].line == 2 && d->s[1].n == 0, "jsonl");
        CHECK(d->n == 2 && !strcmp(d->s[0].tags[0], "3") && !strcmp(d->s[0].tags[1], "B-X"), "jsonl tags");
    } else CHECK(0, "%s", err.message);
    bertc_ner_data_free(d);
    const char *labels[] = {"O", "B-X"};
    bertc_ner_data_params lp = bertc_ner_data_default_params();
    lp.labels = labels;
    lp.n_labels = 2;
    expect_ner_error(jl, "f.jsonl", &lp, "f.jsonl:2: tag 0 is 3, not a label id (0 to 1)");
    expect_ner_error("{\"tokens\": [\"a\"], \"ner_tags\": [\"O\"]}\n{\"tokens\": [\"a\"", "f.jsonl", NULL,
                     "f.jsonl:2: not a JSON object");
    expect_ner_error("[1]\n", "f.jsonl", NULL, "f.jsonl:1: not a JSON object (another JSON value)");
    expect_ner_error("{\"tokens\": [\"a\"]}\n", "f.jsonl", NULL, "f.jsonl:1: no \"ner_tags\" field");
    expect_ner_error("{\"ner_tags\": [\"O\"]}\n", "f.jsonl", NULL, "f.jsonl:1: no \"tokens\" field");
    expect_ner_error("{\"tokens\": \"a\", \"ner_tags\": [\"O\"]}\n", "f.jsonl", NULL, "\"tokens\" is not an array");
    expect_ner_error("{\"tokens\": [\"a\", \"b\"], \"ner_tags\": [\"O\"]}\n", "f.jsonl", NULL,
                     "f.jsonl:1: 2 tokens but 1 tags");
    expect_ner_error("{\"tokens\": [1], \"ner_tags\": [\"O\"]}\n", "f.jsonl", NULL, "token 0 is not a string");
    expect_ner_error("{\"tokens\": [\"a\"], \"ner_tags\": [\"\"]}\n", "f.jsonl", NULL, "tag 0 is empty");
    expect_ner_error("{\"tokens\": [\"a\"], \"ner_tags\": [1.5]}\n", "f.jsonl", NULL, "neither a string nor an integer");
    expect_ner_error("{\"tokens\": [\"a\\u0000\"], \"ner_tags\": [\"O\"]}\n", "f.jsonl", NULL, "is not allowed");
    bertc_ner_data_params cp = bertc_ner_data_default_params();
    cp.tokens_column = "words";
    expect_ner_error("{\"tokens\": [\"a\"], \"ner_tags\": [\"O\"]}\n", "f.jsonl", &cp, "no \"words\" field");
    expect_ner_error("EU B-ORG\nrejects\n", "f.conll", NULL, "f.conll:2: a token without a tag");
    expect_ner_error("EU B-ORG\n\xff\xfe O\n", "f.conll", NULL, "f.conll:2: the line is not valid UTF-8");
    expect_ner_error("\n\n-DOCSTART- O\n\n", "f.conll", NULL, "f.conll: no sentences");
    expect_ner_error("", "f.jsonl", NULL, "f.jsonl: no sentences");
    cp = bertc_ner_data_default_params();
    cp.format = BERTC_TASK_DATA_SQUAD;
    CHECK(ner_parse("x", "f", &cp, &d, &err) == BERTC_ERR_INVALID_ARG, "NER as SQuAD");
    CHECK(bertc_ner_data_read(TE "missing.jsonl", NULL, &d, &err) == BERTC_ERR_INPUT && !d, "missing file");
    /* QA */
    bertc_qa_dataset *q = NULL;
    const char *qj = "{\"question\": \"Q?\", \"context\": \"C c\", \"answers\": {\"text\": [\"c\"], \"answer_start\": [2]}}\n"
                     "{\"id\": 7, \"question\": \"R?\", \"context\": \"C\", \"answers\": {\"text\": [], \"answer_start\": []}}\n";
    if (!bertc_qa_data_parse(qj, strlen(qj), "q.jsonl", BERTC_TASK_DATA_AUTO, &q, &err)) {
        CHECK(q->n == 2 && q->n_unanswerable == 1 && q->format == BERTC_TASK_DATA_JSONL, "qa jsonl");
        CHECK(q->n == 2 && !strcmp(q->ex[0].id, "0") && !strcmp(q->ex[1].id, "7") && q->ex[0].answer_start[0] == 2 &&
                  q->ex[1].line == 2 && !strcmp(q->ex[0].answers[0], "c"),
              "qa fields");
    } else CHECK(0, "%s", err.message);
    bertc_qa_data_free(q);
    if (!bertc_qa_data_read(TE "squad-v2.json", BERTC_TASK_DATA_AUTO, &q, &err)) {
        CHECK(q->format == BERTC_TASK_DATA_SQUAD && q->n == 9 && q->n_unanswerable == 3, "squad v2: %zu", q->n);
    } else CHECK(0, "%s", err.message);
    bertc_qa_data_free(q);
    expect_qa_error("{\"question\": \"Q?\", \"answers\": {\"text\": []}}\n", "q.jsonl", "q.jsonl:1: \"context\" is missing");
    expect_qa_error("{\"question\": \"Q?\", \"context\": \"c\"}\n", "q.jsonl", "q.jsonl:1: \"answers\" is missing");
    expect_qa_error("{\"question\": \"\", \"context\": \"c\", \"answers\": {\"text\": []}}\n", "q.jsonl",
                    "the question is empty");
    expect_qa_error("{\"question\": \"Q\", \"context\": \"c\", \"answers\": {\"text\": [\"c\"], \"answer_start\": []}}\n",
                    "q.jsonl", "q.jsonl:1: 1 answer texts but 0 answer_start");
    expect_qa_error("{\"question\": \"Q\", \"context\": \"c\", \"answers\": [\"c\"]}\n", "q.jsonl",
                    "\"answers\" is not an object");
    expect_qa_error("{\"question\": \"Q\", \"context\": \"c\", \"answers\": {\"text\": []}, \"id\": [1]}\n", "q.jsonl",
                    "\"id\" is neither a string nor an integer");
    expect_qa_error("{\"question\": \"Q\"\n", "q.jsonl", "q.jsonl:1: not a JSON object");
    expect_qa_error("{\"data\": [{\"paragraphs\": [{\"context\": \"abc\", \"qas\": [{\"id\": \"1\", \"answers\": []}]}]}]}",
                    "s.json", "s.json: data[0].paragraphs[0].qas[0]: \"question\" is missing");
    expect_qa_error("{\"data\": [{\"paragraphs\": [{\"qas\": []}]}]}", "s.json",
                    "s.json: data[0].paragraphs[0]: \"context\" is missing");
    expect_qa_error("{\"data\": [{\"title\": \"x\"}]}", "s.json", "s.json: data[0]: no \"paragraphs\" array");
    expect_qa_error("{\"data\": [{\"paragraphs\": [{\"context\": \"c\", \"qas\": [{\"question\": \"q\", \"answers\": "
                    "[{\"text\": 3}]}]}]}]}",
                    "s.json", "answer 0's text is not a string");
    CHECK(bertc_qa_data_parse("{\"data\": [\n1,", 12, "s.json", BERTC_TASK_DATA_SQUAD, &q, &err) == BERTC_ERR_INPUT &&
              strstr(err.message, "s.json:2: not valid JSON"),
          "squad syntax: %s", err.message);
    expect_qa_error("{\"data\": []}", "s.json", "s.json: no questions");
    CHECK(bertc_qa_data_parse("x", 1, "f", BERTC_TASK_DATA_CONLL, &q, &err) == BERTC_ERR_INVALID_ARG, "QA as CoNLL");
}

/* ---- the CLI ---- */

#define run run_cli

static void t_taskeval_cli(void) {
    static char out[1 << 16];
    int rc = run("@ eval --model " TD "tiny-ner-bert --data " TE "ner.jsonl --json - --quiet", out, sizeof out);
    json_error_t je;
    json_t *j = json_loads(out, 0, &je);
    CHECK(rc == 0 && j, "NER eval --json -: rc %d", rc);
    json_t *rf = load_refs();
    if (j && rf) {
        same_json("cli NER metrics", json_object_get(j, "metrics"), json_object_get(json_array_get(json_object_get(rf, "ner"), 0), "metrics"));
        CHECK(jnum(json_object_get(j, "counts"), "sentences", 0) == 7, "sentences");
    }
    json_decref(j);
    rc = run("@ eval --model " TD "tiny-ner-bert --data " TE "ner.conll --format conll --batch-size 2 2>/dev/null", out,
             sizeof out);
    CHECK(rc == 0 && strstr(out, "token classification: 7 sentences, 98 words") && strstr(out, "overall") &&
              strstr(out, "accuracy"),
          "NER terminal: rc %d %s", rc, out);
    rc = run("@ eval --model " TD "tiny-ner-roberta --data " TE "ner-long.jsonl --max-length 16 --quiet --predictions -",
             out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"no_token\":") && strstr(out, "\"pred\":[") && strstr(out, "\"words\":["),
          "NER predictions: rc %d", rc);
    rc = run("@ eval --model " TD "tiny-ner-bert --data " TE "ner-ids.jsonl --text-column words --label-column tags "
             "--json - --quiet", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"overall_f1\""), "NER ids: rc %d", rc);
    rc = run("@ eval --model " TD "tiny-qa-bert --data " TE "squad-v2.json --json - 2>/dev/null", out, sizeof out);
    j = json_loads(out, 0, &je);
    CHECK(rc == 0 && j && !strcmp(jstr(j, "squad_version") ? jstr(j, "squad_version") : "", "2.0") &&
              json_object_get(json_object_get(j, "metrics"), "NoAns_total"),
          "QA v2 JSON: rc %d", rc);
    json_decref(j);
    rc = run("@ eval --model " TD "tiny-qa-distilbert --data " TE "qa-v1.jsonl --squad-version 1 2>/dev/null", out,
             sizeof out);
    CHECK(rc == 0 && strstr(out, "question answering (SQuAD v1.1): 6 questions"), "QA terminal: rc %d %s", rc, out);
    rc = run("@ eval --model " TD "tiny-qa-roberta --data " TE "qa-v2.jsonl --quiet --no-handle-impossible-answer "
             "--predictions -", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"id\":\"n1\""), "QA predictions: rc %d", rc);
    /* errors: data (4), options the head has no use for (2) */
    static const char *const bad[][2] = {
        {"tiny-ner-bert --data " TE "bad-json.jsonl", "bad-json.jsonl:2: not a JSON object"},
        {"tiny-ner-bert --data " TE "bad-length.jsonl", "bad-length.jsonl:2: 2 tokens but 1 tags"},
        {"tiny-ner-bert --data " TE "bad-missing.jsonl", "bad-missing.jsonl:1: no \"ner_tags\" field"},
        {"tiny-ner-bert --data " TE "bad-tagid.jsonl", "bad-tagid.jsonl:1: tag 1 is 9, not a label id (0 to 8)"},
        {"tiny-ner-bert --data " TE "bad-notag.conll", "bad-notag.conll:2: a token without a tag"},
        {"tiny-qa-bert --data " TE "bad-qa.jsonl", "bad-qa.jsonl:2: \"context\" is missing"},
        {"tiny-qa-bert --data " TE "bad-squad.json", "data[0].paragraphs[0].qas[0]: \"question\" is missing"},
        {"tiny-qa-bert --data " TE "qa-v2.jsonl --squad-version 1", "qa-v2.jsonl:5: question n1 has no answer"},
        {"tiny-qa-bert --data " TE "missing.jsonl", "missing.jsonl"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "@ eval --quiet --model " TD "%s 2>&1", bad[k][0]);
        rc = run(cmd, out, sizeof out);
        CHECK(rc == 4 && strstr(out, bad[k][1]), "%s: rc %d: %s", bad[k][0], rc, out);
    }
    static const char *const usage[][2] = {
        {"tiny-ner-bert --data " TE "ner.jsonl --squad-version 2", "--squad-version applies to question-answering"},
        {"tiny-ner-bert --data " TE "ner.jsonl --train " TE "ner.jsonl", "--train applies to sequence-classification"},
        {"tiny-qa-bert --data " TE "qa-v1.jsonl --format conll", "--format conll applies to token-classification"},
        {"tiny-qa-bert --data " TE "qa-v1.jsonl --text-column x", "--text-column applies to token-classification"},
        {"tiny-ner-bert --data " TE "ner.jsonl --report x.html", "--report applies to sequence-classification"},
        {"tiny-ner-bert --data " TE "ner.jsonl --squad-version 3", "--squad-version must be 1 or 2"},
    };
    for (size_t k = 0; k < sizeof usage / sizeof *usage; k++) {
        char cmd[512];
        snprintf(cmd, sizeof cmd, "@ eval --quiet --model " TD "%s 2>&1", usage[k][0]);
        rc = run(cmd, out, sizeof out);
        CHECK(rc == 2 && strstr(out, usage[k][1]), "%s: rc %d: %s", usage[k][0], rc, out);
    }
    /* a sequence classifier (the embedded one) keeps its path: the task options are refused before any data */
    rc = run("@ eval --data " TE "ner.conll --format conll 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--format conll applies to token-classification and question-answering models"),
          "classifier --format conll: rc %d %s", rc, out);
    rc = run("@ eval --data " TE "ner.jsonl 2>&1", out, sizeof out);
    CHECK(rc == 4 && strstr(out, "ner.jsonl:1:"), "classifier on NER data: rc %d %s", rc, out);
    rc = run("@ eval --help", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "--squad-version") && strstr(out, "conll"), "help");
}

void tests_taskeval(void) {
    run_test("taskeval_parse", t_taskeval_parse);
    run_test("taskeval_ner", t_taskeval_ner);
    run_test("taskeval_qa", t_taskeval_qa);
    run_test("taskeval_cli", t_taskeval_cli);
    json_decref(refs);
    refs = NULL;
    refs_loaded = false;
}
