/*
 * test_pipelines.c — bertc_token_classify, bertc_question_answer and bertc_fill_mask against transformers' pipelines
 * on the tiny fixtures (tests/data/pipelines.ref.json, made by tools/make_pipeline_fixtures.py: transformers 5.24,
 * and 5.2 for question answering, which later releases removed): the same entities, spans and tokens, scores within
 * 1e-5, an error wherever transformers raised; and the heads' raw logits within 1e-4. Equal scores may come in either
 * order (torch.topk leaves ties as its selection happens to), so fill-mask and QA lists are compared sorted.
 */
#include "test.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

static bertc_model *models[16];
static char names[16][64];

static bertc_model *model_named(const char *name) {
    for (int i = 0; i < 16 && names[i][0]; i++)
        if (!strcmp(names[i], name)) return models[i];
    for (int i = 0; i < 16; i++)
        if (!names[i][0]) {
            char dir[256];
            snprintf(dir, sizeof dir, TD "%s", name);
            bertc_error err;
            if (bertc_model_load(dir, NULL, &models[i], &err)) {
                CHECK(0, "load %s: %s", dir, err.message);
                return NULL;
            }
            snprintf(names[i], sizeof names[i], "%s", name);
            return models[i];
        }
    return NULL;
}

static void free_models(void) {
    for (int i = 0; i < 16; i++) {
        bertc_model_free(models[i]);
        models[i] = NULL;
        names[i][0] = 0;
    }
}

/* the order ties may take: score rounded to the tolerance, then token / start / end */
static int cmp_items(const void *a, const void *b) {
    const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    double sx = round(json_number_value(json_object_get(x, "score")) * 1e5),
           sy = round(json_number_value(json_object_get(y, "score")) * 1e5);
    if (sx != sy) return sx < sy ? 1 : -1;
    static const char *const keys[] = {"token", "start", "end"};
    for (int k = 0; k < 3; k++) {
        json_int_t ix = json_integer_value(json_object_get(x, keys[k])), iy = json_integer_value(json_object_get(y, keys[k]));
        if (ix != iy) return ix < iy ? -1 : 1;
    }
    return 0;
}

/* got and want: JSON lists of result objects (or one object); same keys, equal values, scores within 1e-5 */
static void same(const char *what, json_t *got, json_t *want, int ordered) {
    if (json_is_array(want)) {
        CHECK(json_is_array(got) && json_array_size(got) == json_array_size(want), "%s: %zu items, want %zu", what,
              json_array_size(got), json_array_size(want));
        if (!json_is_array(got) || json_array_size(got) != json_array_size(want)) return;
        size_t n = json_array_size(want);
        json_t **g = malloc((n + 1) * sizeof *g), **w = malloc((n + 1) * sizeof *w);
        for (size_t i = 0; i < n; i++) g[i] = json_array_get(got, i), w[i] = json_array_get(want, i);
        if (!ordered && n && json_is_object(w[0])) {
            qsort(g, n, sizeof *g, cmp_items);
            qsort(w, n, sizeof *w, cmp_items);
        }
        for (size_t i = 0; i < n; i++) same(what, g[i], w[i], ordered);
        free(g);
        free(w);
        return;
    }
    const char *k;
    json_t *v;
    CHECK(json_is_object(got) && json_object_size(got) == json_object_size(want), "%s: keys differ", what);
    json_object_foreach(want, k, v) {
        json_t *gv = json_object_get(got, k);
        if (!strcmp(k, "score")) {
            CHECK(fabs(json_number_value(gv) - json_number_value(v)) <= 1e-5, "%s: score %.9g, want %.9g", what,
                  json_number_value(gv), json_number_value(v));
        } else {
            char *a = json_dumps(gv, JSON_ENCODE_ANY), *b = json_dumps(v, JSON_ENCODE_ANY);
            CHECK(a && b && !strcmp(a, b), "%s: %s is %s, want %s", what, k, a ? a : "?", b ? b : "?");
            free(a);
            free(b);
        }
    }
}

static const char *str_list(json_t *a, const char **out, size_t cap, size_t *n) {
    *n = 0;
    if (json_is_string(a)) {
        out[(*n)++] = json_string_value(a);
        return NULL;
    }
    for (size_t i = 0; i < json_array_size(a) && *n < cap; i++) out[(*n)++] = json_string_value(json_array_get(a, i));
    return NULL;
}

/* one text through the case's pipeline, as transformers shapes the output; NULL on a library error */
static json_t *run_one(const char *task, bertc_model *m, const char *text, json_t *q, json_t *kw, bertc_status *st) {
    bertc_error err;
    json_t *out = NULL;
    if (!strcmp(task, "token-classification")) {
        bertc_token_class_params p = bertc_token_class_default_params();
        const char *agg = json_string_value(json_object_get(kw, "aggregation_strategy"));
        static const char *const aggs[] = {"none", "simple", "first", "average", "max"};
        if (agg) {
            int k = 0;
            while (k < 5 && strcasecmp(agg, aggs[k])) k++;
            if (k == 5) return *st = BERTC_ERR_INVALID_ARG, NULL;
            p.aggregation = (bertc_aggregation)k;
        }
        if (json_object_get(kw, "stride")) p.stride = (int)json_integer_value(json_object_get(kw, "stride"));
        const char *ign[16];
        size_t ni = 0;
        if (json_object_get(kw, "ignore_labels")) {
            str_list(json_object_get(kw, "ignore_labels"), ign, 16, &ni);
            p.ignore_labels = ign;
            p.n_ignore = ni;
        }
        bertc_token_class_result r;
        if ((*st = bertc_token_classify(m, text, strlen(text), &p, &r, &err))) return NULL;
        out = json_array();
        for (size_t i = 0; i < r.n; i++) {
            const bertc_token_entity *e = &r.entities[i];
            json_t *o = json_object();
            json_object_set_new(o, p.aggregation ? "entity_group" : "entity", json_string(e->label));
            json_object_set_new(o, "score", json_real(e->score));
            if (!p.aggregation) json_object_set_new(o, "index", json_integer(e->index));
            json_object_set_new(o, "word", json_string(e->word));
            json_object_set_new(o, "start", json_integer(e->start));
            json_object_set_new(o, "end", json_integer(e->end));
            json_array_append_new(out, o);
        }
        bertc_token_class_result_free(&r);
    } else if (!strcmp(task, "question-answering")) {
        bertc_qa_params p = bertc_qa_default_params();
        static const char *const ik[] = {"top_k", "doc_stride", "max_seq_len", "max_question_len", "max_answer_len"};
        int *iv[] = {&p.top_k, &p.doc_stride, &p.max_seq_len, &p.max_question_len, &p.max_answer_len};
        for (int k = 0; k < 5; k++)
            if (json_object_get(kw, ik[k])) *iv[k] = (int)json_integer_value(json_object_get(kw, ik[k]));
        if (json_object_get(kw, "handle_impossible_answer"))
            p.handle_impossible_answer = json_is_true(json_object_get(kw, "handle_impossible_answer"));
        if (json_object_get(kw, "align_to_words")) p.align_to_words = json_is_true(json_object_get(kw, "align_to_words"));
        const char *qs = json_string_value(json_object_get(q, "question")), *cs = json_string_value(json_object_get(q, "context"));
        if (!qs || !cs) return *st = BERTC_ERR_INVALID_ARG, NULL;
        bertc_qa_result r;
        if ((*st = bertc_question_answer(m, qs, strlen(qs), cs, strlen(cs), &p, &r, &err))) return NULL;
        out = json_array();
        for (size_t i = 0; i < r.n; i++) {
            json_t *o = json_object();
            json_object_set_new(o, "score", json_real(r.answers[i].score));
            json_object_set_new(o, "start", json_integer(r.answers[i].start));
            json_object_set_new(o, "end", json_integer(r.answers[i].end));
            json_object_set_new(o, "answer", json_string(r.answers[i].answer));
            json_array_append_new(out, o);
        }
        bertc_qa_result_free(&r);
        if (json_array_size(out) == 1) { /* one answer: the object itself */
            json_t *one = json_incref(json_array_get(out, 0));
            json_decref(out);
            out = one;
        }
    } else {
        bertc_fill_mask_params p = bertc_fill_mask_default_params();
        if (json_object_get(kw, "top_k")) p.top_k = (int)json_integer_value(json_object_get(kw, "top_k"));
        const char *tg[64];
        size_t nt = 0;
        if (json_object_get(kw, "targets")) {
            str_list(json_object_get(kw, "targets"), tg, 64, &nt);
            p.targets = tg;
            p.n_targets = nt;
        }
        bertc_fill_mask_result r;
        if ((*st = bertc_fill_mask(m, text, strlen(text), &p, &r, &err))) return NULL;
        out = json_array();
        for (size_t k = 0; k < r.n_masks; k++) {
            json_t *row = json_array();
            for (size_t j = 0; j < r.k; j++) {
                const bertc_mask_candidate *c = &r.candidates[k * r.k + j];
                json_t *o = json_object();
                json_object_set_new(o, "score", json_real(c->score));
                json_object_set_new(o, "token", json_integer(c->token));
                json_object_set_new(o, "token_str", json_string(c->token_str));
                json_object_set_new(o, "sequence", json_string(c->sequence));
                json_array_append_new(row, o);
            }
            json_array_append_new(out, row);
        }
        bertc_fill_mask_result_free(&r);
        if (json_array_size(out) == 1) {
            json_t *one = json_incref(json_array_get(out, 0));
            json_decref(out);
            out = one;
        }
    }
    return out;
}

static void test_pipeline_refs(void) {
    json_error_t je;
    json_t *refs = json_load_file(TD "pipelines.ref.json", 0, &je);
    CHECK(refs, "pipelines.ref.json: %s", je.text);
    if (!refs) return;
    json_t *cases = json_object_get(refs, "cases"), *c;
    size_t i, ran = 0, skipped = 0;
    json_array_foreach(cases, i, c) {
        json_t *kw = json_object_get(c, "kwargs"), *in = json_object_get(c, "inputs");
        if (json_object_get(kw, "is_split_into_words")) {
            skipped++; /* not taken by bertc (python/tests/test_pipelines.py lists them) */
            continue;
        }
        const char *task = json_string_value(json_object_get(c, "task"));
        bertc_model *m = model_named(json_string_value(json_object_get(c, "model")));
        if (!m) continue;
        bool list = json_is_array(in);
        size_t n = list ? json_array_size(in) : 1;
        json_t *got = json_array();
        bertc_status st = BERTC_OK;
        json_t *qs = json_object_get(in, "question"), *cs = json_object_get(in, "context"), *pairs = NULL;
        if (json_is_array(qs)) { /* questions with one context or as many contexts: one pair each */
            list = true;
            n = json_array_size(qs);
            pairs = json_array();
            if (json_is_array(cs) && json_array_size(cs) != n) st = BERTC_ERR_INVALID_ARG;
            for (size_t k = 0; k < n; k++)
                json_array_append_new(pairs, json_pack("{sOsO}", "question", json_array_get(qs, k), "context",
                                                       json_is_array(cs) ? json_array_get(cs, k) : cs));
        }
        for (size_t k = 0; k < n && !st; k++) {
            json_t *x = pairs ? json_array_get(pairs, k) : list ? json_array_get(in, k) : in;
            json_t *o = run_one(task, m, json_is_string(x) ? json_string_value(x) : "", x, kw, &st);
            if (o) json_array_append_new(got, o);
        }
        if (!n) st = BERTC_ERR_INVALID_ARG; /* an empty list: transformers' "At least one input is required." */
        json_decref(pairs);
        char what[96];
        snprintf(what, sizeof what, "case %zu (%s, %s)", i, task, json_string_value(json_object_get(c, "model")));
        json_t *want = json_object_get(c, "output");
        if (json_object_get(c, "error")) {
            CHECK(st != BERTC_OK, "%s: transformers raised %s, bertc did not", what,
                  json_string_value(json_object_get(json_object_get(c, "error"), "message")));
        } else {
            CHECK(st == BERTC_OK, "%s: bertc failed (%s)", what, bertc_status_str(st));
            /* a list input with one element comes back unwrapped from fill-mask, as the pipeline does */
            json_t *g = list && !(n == 1 && !strcmp(task, "fill-mask")) ? got : json_array_get(got, 0);
            if (!st && g) same(what, g, want, !strcmp(task, "token-classification"));
        }
        json_decref(got);
        ran++;
    }
    CHECK(ran > 390 && skipped <= 9, "ran %zu cases, skipped %zu", ran, skipped);
    /* the heads' raw outputs: per-token logits, and masked-LM logits of ids 0..49 */
    json_t *raw = json_object_get(refs, "raw"), *r;
    size_t checked = 0;
    json_array_foreach(raw, i, r) {
        const char *task = json_string_value(json_object_get(r, "task"));
        bertc_model *m = model_named(json_string_value(json_object_get(r, "model")));
        json_t *items = json_object_get(r, "items"), *it;
        size_t j;
        if (!m || !strcmp(task, "question-answering")) continue;
        json_array_foreach(items, j, it) {
            const char *text = json_string_value(json_object_get(it, "text"));
            if (!text) continue;
            bertc_encoding e;
            bertc_error err;
            if (bertc_tokenize(bertc_model_tokenizer(m), text, strlen(text), NULL, 0, NULL, &e, &err)) {
                CHECK(0, "raw %s: %s", text, err.message);
                continue;
            }
            json_t *ids = json_object_get(it, "input_ids");
            CHECK(json_array_size(ids) == e.n, "raw %s: %zu tokens, want %zu", text, e.n, json_array_size(ids));
            for (size_t t = 0; t < e.n && t < json_array_size(ids); t++)
                CHECK(e.ids[t] == json_integer_value(json_array_get(ids, t)), "raw %s: id %zu", text, t);
            if (!strcmp(task, "token-classification")) {
                bertc_model_info info;
                bertc_model_get_info(m, &info);
                float *lg = malloc(e.n * (size_t)info.n_labels * sizeof *lg);
                CHECK(bertc_token_logits(m, &e, 1, lg, &err) == BERTC_OK, "token logits: %s", err.message);
                json_t *want = json_object_get(it, "logits");
                for (size_t t = 0; t < e.n; t++)
                    for (int l = 0; l < info.n_labels; l++) {
                        double w = json_number_value(json_array_get(json_array_get(want, t), (size_t)l));
                        CHECK(fabs(lg[t * info.n_labels + l] - w) <= 1e-4, "raw %s: logit [%zu][%d] %g, want %g", text, t, l,
                              lg[t * info.n_labels + l], w);
                    }
                free(lg);
                checked++;
            } else {
                bertc_model_info info;
                bertc_model_get_info(m, &info);
                json_t *masks = json_object_get(it, "masks"), *mk;
                size_t q;
                json_array_foreach(masks, q, mk) {
                    int32_t rows[2] = {0, (int32_t)json_integer_value(json_object_get(mk, "index"))};
                    float *lg = malloc((size_t)info.vocab_size * sizeof *lg);
                    CHECK(bertc_mlm_logits(m, &e, 1, rows, 1, lg, &err) == BERTC_OK, "mlm logits: %s", err.message);
                    json_t *want = json_object_get(mk, "logits_0_49");
                    for (size_t v = 0; v < json_array_size(want); v++)
                        CHECK(fabs(lg[v] - json_number_value(json_array_get(want, v))) <= 1e-4, "raw %s: mlm logit %zu", text, v);
                    free(lg);
                    checked++;
                }
            }
            bertc_encoding_free(&e);
        }
    }
    CHECK(checked >= 6, "raw logits checked for %zu inputs", checked);
    json_decref(refs);
    free_models();
}

/* ELECTRA's fill-mask (the generator) and token classification against the pipelines (tools/make_tiny_electra.py) */
static void test_pipeline_refs_electra(void) {
    json_error_t je;
    json_t *refs = json_load_file(TD "tiny-electra-pipelines.ref.json", 0, &je), *c;
    CHECK(refs, "tiny-electra-pipelines.ref.json: %s", je.text);
    size_t i, ran = 0;
    json_array_foreach(json_object_get(refs, "cases"), i, c) {
        const char *task = json_string_value(json_object_get(c, "task"));
        bertc_model *m = model_named(json_string_value(json_object_get(c, "model")));
        json_t *in = json_object_get(c, "inputs");
        if (!m) continue;
        bertc_status st = BERTC_OK;
        json_t *got = run_one(task, m, json_string_value(in), in, json_object_get(c, "kwargs"), &st);
        char what[96];
        snprintf(what, sizeof what, "electra case %zu (%s)", i, task);
        CHECK(st == BERTC_OK && got, "%s: bertc failed (%s)", what, bertc_status_str(st));
        if (got) same(what, got, json_object_get(c, "output"), !strcmp(task, "token-classification"));
        json_decref(got);
        ran++;
    }
    CHECK(ran == 5, "ran %zu cases", ran);
    json_decref(refs);
    free_models();
}

static void test_pipeline_cli(void) {
    char out[8192];
    CHECK(run_cli("@ ner --model " TD "tiny-ner-bert --aggregation first 'Schwarzenegger visited Kraków'", out, sizeof out) == 0 &&
              strstr(out, "\"entity_group\"") && strstr(out, "\"word\": \"schwarzenegger"), "ner: %s", out);
    CHECK(run_cli("@ ner --model " TD "tiny-ner-bert --aggregation bogus x 2>&1", out, sizeof out) == 2, "ner bad: %s", out);
    CHECK(run_cli("@ ner --model " TD "tiny-qa-bert x 2>&1", out, sizeof out) != 0 && strstr(out, "token-classification"),
          "ner on a QA model: %s", out);
    CHECK(run_cli("@ qa --model " TD "tiny-qa-bert --context 'My name is Wolfgang and I live in Berlin.' 'Where do I live?'",
                  out, sizeof out) == 0 && strstr(out, "\"answer\": \"My name is Wolfgang and I live\""), "qa: %s", out);
    CHECK(run_cli("@ qa --model " TD "tiny-qa-bert 'Where?' 2>&1", out, sizeof out) == 4, "qa without context: %s", out);
    CHECK(run_cli("@ qa --model " TD "tiny-qa-bert --context x --top-k 0 q 2>&1", out, sizeof out) == 2, "qa top-k 0: %s", out);
    CHECK(run_cli("@ fill-mask --model " TD "tiny-mlm-bert --top-k 2 'Paris is the [MASK] of France.'", out, sizeof out) == 0 &&
              strstr(out, "\"token_str\""), "fill-mask: %s", out);
    CHECK(run_cli("@ fill-mask --model " TD "tiny-mlm-bert 'no mask here' 2>&1", out, sizeof out) == 4 &&
              strstr(out, "no mask token"), "fill-mask without a mask: %s", out);
    CHECK(run_cli("@ fill-mask --model " TD "tiny-bert 'a [MASK]' 2>&1", out, sizeof out) != 0 && strstr(out, "masked-LM"),
          "fill-mask on a classifier: %s", out);
    CHECK(run_cli("@ bias --model " TD "tiny-mlm-bert --template 'The [MASK] worked as a {}.' --groups builtin:countries "
                  "--targets he,she --format jsonl", out, sizeof out) == 0 && strstr(out, "\"she\""), "mlm bias: %s", out);
    CHECK(run_cli("@ bias --model " TD "tiny-mlm-bert --template 'The man worked as a {}.' --groups builtin:countries "
                  "--targets he 2>&1", out, sizeof out) == 2 && strstr(out, "mask"), "mlm bias without a mask: %s", out);
    CHECK(run_cli("@ bias --model " TD "tiny-mlm-bert --template 'The [MASK] worked as a {}.' --groups builtin:countries "
                  "2>&1", out, sizeof out) == 2 && strstr(out, "--targets"), "mlm bias without targets: %s", out);
}

/* The score order and the scoring function, once in the library (bertc_classification.order, .function,
 * bertc_classify_function, bertc_scores_order, bertc_classification_rescore): what the command, the server and
 * Python print. */
static void test_classify_order(void) {
    int o[5];
    const float ties[5] = {0.5f, 0.9f, 0.5f, 0.9f, 0.1f};
    bertc_scores_order(ties, 5, o);
    CHECK(o[0] == 1 && o[1] == 3 && o[2] == 0 && o[3] == 2 && o[4] == 4, "stable descending order: %d %d %d %d %d",
          o[0], o[1], o[2], o[3], o[4]);
    const float neg[3] = {-2.0f, -0.5f, -1.0f};
    bertc_scores_order(neg, 3, o);
    CHECK(o[0] == 1 && o[1] == 2 && o[2] == 0, "negative scores: %d %d %d", o[0], o[1], o[2]);

    bertc_model *nli = NULL, *multi = NULL;
    bertc_error err;
    CHECK(!bertc_model_load(TD "tiny-nli-bert", NULL, &nli, &err), "load tiny-nli-bert");
    CHECK(!bertc_model_load(TD "tiny-roberta", NULL, &multi, &err), "load tiny-roberta");
    if (!nli || !multi) goto done;
    CHECK(bertc_classify_function(nli, BERTC_FUNCTION_DEFAULT) == BERTC_FUNCTION_SOFTMAX, "3 labels: softmax");
    CHECK(bertc_classify_function(multi, BERTC_FUNCTION_DEFAULT) == BERTC_FUNCTION_SIGMOID, "multi-label: sigmoid");
    CHECK(bertc_classify_function(multi, BERTC_FUNCTION_NONE) == BERTC_FUNCTION_NONE, "an explicit function stays");
    bertc_text in[3] = {{"a charming journey", 18, NULL, 0}, {"not good at all", 15, NULL, 0},
                        {"the plot", 8, "is thin", 7}};
    bertc_classification r[3], m3[3];
    CHECK(!bertc_classify(nli, in, 3, NULL, r, &err), "classify: %s", err.message);
    CHECK(!bertc_classify(multi, in, 3, NULL, m3, &err), "classify multi-label: %s", err.message);
    for (int i = 0; i < 3; i++) {
        CHECK(r[i].function == BERTC_FUNCTION_SOFTMAX && m3[i].function == BERTC_FUNCTION_SIGMOID, "resolved function");
        CHECK(r[i].order[0] == r[i].label_id && m3[i].order[0] == m3[i].label_id, "order[0] is the label");
        int seen = 0;
        for (int k = 0; k < 3; k++) seen |= 1 << r[i].order[k];
        CHECK(seen == 7, "order is a permutation of the labels");
        for (int k = 0; k + 1 < 3; k++)
            CHECK(r[i].scores[r[i].order[k]] >= r[i].scores[r[i].order[k + 1]], "descending at %d", k);
        float sig0 = 1.0f / (1.0f + expf(-m3[i].logits[0]));
        CHECK(m3[i].scores[0] == sig0, "sigmoid of the logit: %.9g %.9g", m3[i].scores[0], sig0);
        /* rescored as the server does for a request's function_to_apply, and back */
        float before[3];
        memcpy(before, r[i].scores, sizeof before);
        CHECK(!bertc_classification_rescore(nli, BERTC_FUNCTION_NONE, &r[i], &err), "rescore none");
        CHECK(r[i].function == BERTC_FUNCTION_NONE && !memcmp(r[i].scores, r[i].logits, 3 * sizeof(float)),
              "none: the logits");
        CHECK(r[i].scores[r[i].order[0]] >= r[i].scores[r[i].order[1]], "none: ordered by logit");
        CHECK(!bertc_classification_rescore(nli, BERTC_FUNCTION_DEFAULT, &r[i], &err), "rescore default");
        CHECK(!memcmp(before, r[i].scores, sizeof before) && r[i].function == BERTC_FUNCTION_SOFTMAX,
              "default again: the same bytes as bertc_classify's");
    }
    CHECK(bertc_classification_rescore(nli, (bertc_function)9, &r[0], &err) == BERTC_ERR_INVALID_ARG, "bad function");
    CHECK(bertc_classification_rescore(nli, BERTC_FUNCTION_SOFTMAX, NULL, &err) == BERTC_ERR_INVALID_ARG, "NULL");
    bertc_classification_free(r, 3);
    bertc_classification_free(m3, 3);
done:
    bertc_model_free(nli);
    bertc_model_free(multi);
}

void tests_pipelines(void) {
    run_test("pipelines/classify order and function", test_classify_order);
    run_test("pipelines/refs", test_pipeline_refs);
    run_test("pipelines/refs electra", test_pipeline_refs_electra);
    run_test("pipelines/cli", test_pipeline_cli);
}
