/*
 * taskeval.c — evaluating token-classification (NER) and extractive question-answering models: the datasets (NER as
 * JSON lines or CoNLL columns, QA as Hugging Face squad JSON lines or the official SQuAD JSON), the model passes
 * (first sub-token labels as Hugging Face run_ner takes them; the question-answering pipeline), seqeval and the SQuAD
 * scores, and the reports (JSON as Hugging Face evaluate's "seqeval" / "squad" / "squad_v2" give the metrics).
 * Every malformed input is BERTC_ERR_INPUT with "FILE:LINE: why".
 */
#include "bertc_eval.h"
#include "base/internal.h"
#include "base/json.h"
#include "report.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

static bertc_status nomem(bertc_error *err) { return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory"); }

/* Reads a whole file; an unreadable file is an input error, as bertc_dataset_read reports it. */
static bertc_status slurp(const char *path, char **data, size_t *len, bertc_error *err) {
    bertc_status s = read_file(path, data, len, err);
    if (s && s != BERTC_ERR_NOMEM) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : path);
        return bertc_fail(err, BERTC_ERR_INPUT, "%s", msg);
    }
    return s;
}

/* ---- NER data -------------------------------------------------------------------------------------------- */

bertc_ner_data_params bertc_ner_data_default_params(void) {
    bertc_ner_data_params p = {BERTC_TASK_DATA_AUTO, NULL, NULL, NULL, 0};
    return p;
}

static void sentence_free(bertc_ner_sentence *s) {
    for (size_t j = 0; j < s->n; j++) {
        if (s->words) free(s->words[j]);
        if (s->tags) free(s->tags[j]);
    }
    free(s->words);
    free(s->tags);
}

void bertc_ner_data_free(bertc_ner_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) sentence_free(&d->s[i]);
    free(d->s);
    free(d->name);
    free(d);
}

typedef struct ner_parser {
    bertc_ner_dataset *d;
    size_t cap;
    const char *name;
    const bertc_ner_data_params *p;
    bertc_error *err;
} ner_parser;

/* Takes s (the sentence's arrays) into the dataset; frees it on failure. */
static bertc_status ner_push(ner_parser *ps, bertc_ner_sentence *s) {
    bertc_ner_dataset *d = ps->d;
    if (d->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 64;
        bertc_ner_sentence *ns = realloc(d->s, nc * sizeof *ns);
        if (!ns) {
            sentence_free(s);
            return nomem(ps->err);
        }
        d->s = ns;
        ps->cap = nc;
    }
    d->s[d->n++] = *s;
    return BERTC_OK;
}

static bertc_status bad_utf8(ner_parser *ps, long line, const char *what, const char *s, size_t len) {
    size_t bad = utf8_validate(s, len);
    if (bad < len)
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: %s is not valid UTF-8 (byte %zu)", ps->name, line, what,
                          bad);
    return BERTC_OK;
}

/* One tag as a string: a string as written, an integer through the labels (or as its decimal text). */
static bertc_status tag_of(ner_parser *ps, long line, size_t j, const json_t *v, char **out) {
    *out = NULL;
    if (json_is_string(v)) {
        size_t n = json_string_length(v);
        if (n == 0) return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: tag %zu is empty", ps->name, line, j);
        if (memchr(json_string_value(v), 0, n))
            return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: tag %zu contains NUL", ps->name, line, j);
        *out = mem_dup0(json_string_value(v), n);
    } else if (json_is_integer(v)) {
        json_int_t k = json_integer_value(v);
        if (ps->p->labels) {
            if (k < 0 || k >= ps->p->n_labels || !ps->p->labels[k])
                return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: tag %zu is %lld, not a label id (0 to %d)",
                                  ps->name, line, j, (long long)k, ps->p->n_labels - 1);
            *out = strdup(ps->p->labels[k]);
        } else {
            char b[32];
            snprintf(b, sizeof b, "%lld", (long long)k);
            *out = strdup(b);
        }
    } else {
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: tag %zu is neither a string nor an integer", ps->name,
                          line, j);
    }
    return *out ? BERTC_OK : nomem(ps->err);
}

static bertc_status ner_jsonl_line(ner_parser *ps, long line, const json_t *j) {
    const char *tc = ps->p->tokens_column ? ps->p->tokens_column : "tokens";
    const char *gc = ps->p->tags_column ? ps->p->tags_column : "ner_tags";
    if (!json_is_object(j))
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: not a JSON object (another JSON value)", ps->name, line);
    const json_t *w = json_object_get(j, tc), *t = json_object_get(j, gc);
    if (!w) return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: no \"%s\" field", ps->name, line, tc);
    if (!json_is_array(w))
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: \"%s\" is not an array", ps->name, line, tc);
    if (!t) return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: no \"%s\" field", ps->name, line, gc);
    if (!json_is_array(t))
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: \"%s\" is not an array", ps->name, line, gc);
    size_t n = json_array_size(w);
    if (json_array_size(t) != n)
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: %zu tokens but %zu tags", ps->name, line, n,
                          json_array_size(t));
    bertc_ner_sentence s = {n, calloc(n + 1, sizeof(char *)), calloc(n + 1, sizeof(char *)), line};
    if (!s.words || !s.tags) {
        sentence_free(&s);
        return nomem(ps->err);
    }
    bertc_status st = BERTC_OK;
    for (size_t k = 0; k < n && !st; k++) {
        const json_t *x = json_array_get(w, k);
        if (!json_is_string(x)) {
            st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: token %zu is not a string", ps->name, line, k);
            break;
        }
        if (memchr(json_string_value(x), 0, json_string_length(x))) {
            st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: token %zu contains NUL", ps->name, line, k);
            break;
        }
        if (!(s.words[k] = mem_dup0(json_string_value(x), json_string_length(x)))) st = nomem(ps->err);
        else st = tag_of(ps, line, k, json_array_get(t, k), &s.tags[k]);
    }
    if (st) {
        sentence_free(&s);
        return st;
    }
    return ner_push(ps, &s);
}

static bertc_status ner_jsonl(ner_parser *ps, const char *data, size_t len) {
    long line = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        line++;
        size_t next = e < len ? e + 1 : e, k = i;
        while (k < e && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r')) k++;
        if (k < e) {
            json_error_t je;
            int oom;
            json_t *j = jload(data + i, e - i, 0, &je, &oom);
            bertc_status st = j     ? ner_jsonl_line(ps, line, j)
                              : oom ? bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory reading %s", ps->name)
                                    : bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: not a JSON object (%s)", ps->name,
                                             line, je.text);
            json_decref(j);
            if (st) return st;
        }
        i = next;
    }
    return BERTC_OK;
}

static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f'; }

/* CoNLL: "TOKEN [COLUMNS...] TAG" per line; a blank line or a -DOCSTART- line ends the sentence. */
static bertc_status ner_conll(ner_parser *ps, const char *data, size_t len) {
    long line = 0;
    bertc_ner_sentence s = {0, NULL, NULL, 0};
    size_t cap = 0;
    bertc_status st = BERTC_OK;
    for (size_t i = 0; i <= len && !st;) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        line++;
        size_t k = i;
        while (k < e && is_ws(data[k])) k++;
        bool end_sentence = k == e || (e - k >= 10 && !memcmp(data + k, "-DOCSTART-", 10) &&
                                       (e - k == 10 || is_ws(data[k + 10])));
        if (end_sentence) {
            if (s.n) {
                st = ner_push(ps, &s);
                memset(&s, 0, sizeof s);
                cap = 0;
            }
        } else {
            if ((st = bad_utf8(ps, line, "the line", data + i, e - i))) break;
            size_t w0 = k, w1 = k;
            while (w1 < e && !is_ws(data[w1])) w1++;
            size_t t1 = e;
            while (t1 > w1 && is_ws(data[t1 - 1])) t1--;
            size_t t0 = t1;
            while (t0 > w1 && !is_ws(data[t0 - 1])) t0--;
            if (t0 == w1 || t0 == t1) {
                st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: a token without a tag (expected \"TOKEN ... TAG\")",
                                ps->name, line);
                break;
            }
            if (memchr(data + w0, 0, t1 - w0)) {
                st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: the line contains NUL", ps->name, line);
                break;
            }
            if (s.n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                char **nw = realloc(s.words, nc * sizeof *nw);
                if (nw) s.words = nw;
                char **nt = nw ? realloc(s.tags, nc * sizeof *nt) : NULL;
                if (nt) s.tags = nt;
                if (!nw || !nt) {
                    st = nomem(ps->err);
                    break;
                }
                cap = nc;
            }
            if (!s.n) s.line = line;
            s.words[s.n] = mem_dup0(data + w0, w1 - w0);
            s.tags[s.n] = mem_dup0(data + t0, t1 - t0);
            s.n++;
            if (!s.words[s.n - 1] || !s.tags[s.n - 1]) st = nomem(ps->err);
        }
        i = e + 1;
    }
    if (!st && s.n) return ner_push(ps, &s);
    if (st) sentence_free(&s);
    return st;
}

bertc_status bertc_ner_data_parse(const char *data, size_t len, const char *name, const bertc_ner_data_params *pp,
                                  bertc_ner_dataset **out, bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_ner_data_parse: no output");
    *out = NULL;
    if (!data && len) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_ner_data_parse: no data");
    bertc_ner_data_params p = pp ? *pp : bertc_ner_data_default_params();
    if (!name) name = "(data)";
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, len -= 3;
    bertc_task_data_format fmt = p.format;
    if (fmt == BERTC_TASK_DATA_SQUAD)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%s: SQuAD JSON is question-answering data, not NER", name);
    if (fmt == BERTC_TASK_DATA_AUTO) {
        if (ends_with(name, ".conll") || ends_with(name, ".iob") || ends_with(name, ".bio") || ends_with(name, ".txt") ||
            ends_with(name, ".conllu"))
            fmt = BERTC_TASK_DATA_CONLL;
        else if (ends_with(name, ".jsonl") || ends_with(name, ".json") || ends_with(name, ".ndjson"))
            fmt = BERTC_TASK_DATA_JSONL;
        else {
            size_t k = 0;
            while (k < len && (is_ws(data[k]) || data[k] == '\n')) k++;
            fmt = k < len && data[k] == '{' ? BERTC_TASK_DATA_JSONL : BERTC_TASK_DATA_CONLL;
        }
    }
    bertc_ner_dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        return nomem(err);
    }
    d->format = fmt;
    ner_parser ps = {d, 0, name, &p, err};
    bertc_status s = fmt == BERTC_TASK_DATA_CONLL ? ner_conll(&ps, data, len) : ner_jsonl(&ps, data, len);
    if (!s && d->n == 0) s = bertc_fail(err, BERTC_ERR_INPUT, "%s: no sentences", name);
    if (s) {
        bertc_ner_data_free(d);
        return s;
    }
    *out = d;
    return BERTC_OK;
}

bertc_status bertc_ner_data_read(const char *path, const bertc_ner_data_params *p, bertc_ner_dataset **out,
                                 bertc_error *err) {
    if (!path || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_ner_data_read: no path or output");
    *out = NULL;
    char *data;
    size_t len;
    bertc_status s = slurp(path, &data, &len, err);
    if (s) return s;
    s = bertc_ner_data_parse(data, len, path, p, out, err);
    free(data);
    return s;
}

/* ---- QA data ---------------------------------------------------------------------------------------------- */

static void qa_example_free(bertc_qa_example *e) {
    free(e->id);
    free(e->question);
    free(e->context);
    for (size_t k = 0; e->answers && k < e->n_answers; k++) free(e->answers[k]);
    free(e->answers);
    free(e->answer_start);
}

void bertc_qa_data_free(bertc_qa_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) qa_example_free(&d->ex[i]);
    free(d->ex);
    free(d->name);
    free(d);
}

typedef struct qa_parser {
    bertc_qa_dataset *d;
    size_t cap;
    const char *name;
    bertc_error *err;
    char where[192]; /* "FILE:LINE" or "FILE: data[i].paragraphs[j].qas[k]" */
} qa_parser;

static bertc_status qa_fail(qa_parser *ps, const char *why) {
    return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s: %s", ps->where, why);
}

/* A string member as a NUL-free UTF-8 copy (jansson has checked the UTF-8). */
static bertc_status qa_string(qa_parser *ps, const json_t *v, const char *what, char **out, size_t *len) {
    char why[128];
    *out = NULL;
    if (!json_is_string(v)) {
        snprintf(why, sizeof why, "%s is %s", what, v ? "not a string" : "missing");
        return qa_fail(ps, why);
    }
    size_t n = json_string_length(v);
    if (memchr(json_string_value(v), 0, n)) {
        snprintf(why, sizeof why, "%s contains NUL", what);
        return qa_fail(ps, why);
    }
    if (!(*out = mem_dup0(json_string_value(v), n))) return nomem(ps->err);
    if (len) *len = n;
    return BERTC_OK;
}

/* One question: q holds "question", optional "id" (string or integer), and the answers as texts + starts. The
 * context is ctx (a copy is taken). answers is either the HF form {"text": [...], "answer_start": [...]} or the
 * official list [{"text", "answer_start"}]. */
static bertc_status qa_add(qa_parser *ps, const json_t *q, const json_t *ctx, const json_t *answers, bool hf_form) {
    bertc_qa_dataset *d = ps->d;
    if (d->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 64;
        bertc_qa_example *ne = realloc(d->ex, nc * sizeof *ne);
        if (!ne) return nomem(ps->err);
        d->ex = ne;
        ps->cap = nc;
    }
    bertc_qa_example e;
    memset(&e, 0, sizeof e);
    bertc_status st = qa_string(ps, json_object_get(q, "question"), "\"question\"", &e.question, &e.question_len);
    if (!st && e.question_len == 0) st = qa_fail(ps, "the question is empty");
    if (!st) st = qa_string(ps, ctx, "\"context\"", &e.context, &e.context_len);
    const json_t *id = json_object_get(q, "id");
    if (!st) {
        char b[32];
        if (!id || json_is_null(id)) snprintf(b, sizeof b, "%zu", d->n), e.id = strdup(b);
        else if (json_is_integer(id)) snprintf(b, sizeof b, "%lld", (long long)json_integer_value(id)), e.id = strdup(b);
        else if (json_is_string(id)) st = qa_string(ps, id, "\"id\"", &e.id, NULL);
        else st = qa_fail(ps, "\"id\" is neither a string nor an integer");
        if (!st && !e.id) st = nomem(ps->err);
    }
    const json_t *texts = NULL, *starts = NULL;
    if (!st) {
        if (!answers) st = qa_fail(ps, "\"answers\" is missing");
        else if (hf_form) {
            if (!json_is_object(answers)) st = qa_fail(ps, "\"answers\" is not an object {\"text\": [...], \"answer_start\": [...]}");
            else if (!json_is_array(texts = json_object_get(answers, "text")))
                st = qa_fail(ps, "\"answers\" has no \"text\" array");
            else if ((starts = json_object_get(answers, "answer_start")) && !json_is_array(starts))
                st = qa_fail(ps, "\"answer_start\" is not an array");
            else if (starts && json_array_size(starts) != json_array_size(texts)) {
                char why[128];
                snprintf(why, sizeof why, "%zu answer texts but %zu answer_start", json_array_size(texts),
                         json_array_size(starts));
                st = qa_fail(ps, why);
            }
        } else if (!json_is_array(answers)) st = qa_fail(ps, "\"answers\" is not an array");
    }
    size_t na = st ? 0 : json_array_size(hf_form ? texts : answers);
    if (!st && na) {
        e.answers = calloc(na, sizeof *e.answers);
        e.answer_start = malloc(na * sizeof *e.answer_start);
        if (!e.answers || !e.answer_start) st = nomem(ps->err);
    }
    for (size_t k = 0; k < na && !st; k++) {
        const json_t *t, *s0;
        if (hf_form) {
            t = json_array_get(texts, k);
            s0 = starts ? json_array_get(starts, k) : NULL;
        } else {
            const json_t *a = json_array_get(answers, k);
            if (!json_is_object(a)) {
                st = qa_fail(ps, "an answer is not an object {\"text\", \"answer_start\"}");
                break;
            }
            t = json_object_get(a, "text");
            s0 = json_object_get(a, "answer_start");
        }
        char what[48];
        snprintf(what, sizeof what, "answer %zu's text", k);
        if ((st = qa_string(ps, t, what, &e.answers[k], NULL))) break;
        e.n_answers = k + 1;
        if (s0 && !json_is_null(s0) && !json_is_integer(s0)) {
            st = qa_fail(ps, "an answer_start is not an integer");
            break;
        }
        e.answer_start[k] = json_is_integer(s0) ? (long)json_integer_value(s0) : -1;
    }
    if (st) {
        qa_example_free(&e);
        return st;
    }
    if (!e.n_answers) d->n_unanswerable++;
    d->ex[d->n++] = e;
    return BERTC_OK;
}

static bertc_status qa_jsonl(qa_parser *ps, const char *data, size_t len) {
    long line = 0;
    for (size_t i = 0; i < len;) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        line++;
        size_t next = e < len ? e + 1 : e, k = i;
        while (k < e && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r')) k++;
        if (k < e) {
            snprintf(ps->where, sizeof ps->where, "%s:%ld", ps->name, line);
            json_error_t je;
            int oom;
            json_t *j = jload(data + i, e - i, 0, &je, &oom);
            bertc_status st;
            if (oom) {
                st = bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory reading %s", ps->name);
            } else if (!j || !json_is_object(j)) {
                char why[200];
                snprintf(why, sizeof why, "not a JSON object (%s)", j ? "another JSON value" : je.text);
                st = qa_fail(ps, why);
            } else {
                st = qa_add(ps, j, json_object_get(j, "context"), json_object_get(j, "answers"), true);
                if (!st) ps->d->ex[ps->d->n - 1].line = line;
            }
            json_decref(j);
            if (st) return st;
        }
        i = next;
    }
    return BERTC_OK;
}

static bertc_status qa_squad(qa_parser *ps, const char *data, size_t len) {
    json_error_t je;
    int oom;
    json_t *root = jload(data, len, 0, &je, &oom);
    if (oom) return bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory reading %s", ps->name);
    if (!root)
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%d: not valid JSON: %s (column %d)", ps->name, je.line, je.text,
                          je.column);
    bertc_status st = BERTC_OK;
    const json_t *arr = json_object_get(root, "data");
    snprintf(ps->where, sizeof ps->where, "%s", ps->name);
    if (!json_is_array(arr)) st = qa_fail(ps, "not SQuAD JSON: no \"data\" array");
    for (size_t a = 0; !st && a < json_array_size(arr); a++) {
        const json_t *art = json_array_get(arr, a), *pars = json_object_get(art, "paragraphs");
        snprintf(ps->where, sizeof ps->where, "%s: data[%zu]", ps->name, a);
        if (!json_is_array(pars)) st = qa_fail(ps, "no \"paragraphs\" array");
        for (size_t b = 0; !st && b < json_array_size(pars); b++) {
            const json_t *par = json_array_get(pars, b), *qas = json_object_get(par, "qas");
            snprintf(ps->where, sizeof ps->where, "%s: data[%zu].paragraphs[%zu]", ps->name, a, b);
            if (!json_is_object(par)) st = qa_fail(ps, "not an object");
            else if (!json_is_string(json_object_get(par, "context"))) st = qa_fail(ps, "\"context\" is missing or not a string");
            else if (!json_is_array(qas)) st = qa_fail(ps, "no \"qas\" array");
            for (size_t c = 0; !st && c < json_array_size(qas); c++) {
                const json_t *q = json_array_get(qas, c);
                snprintf(ps->where, sizeof ps->where, "%s: data[%zu].paragraphs[%zu].qas[%zu]", ps->name, a, b, c);
                if (!json_is_object(q)) st = qa_fail(ps, "not an object");
                else {
                    const json_t *imp = json_object_get(q, "is_impossible");
                    if (imp && !json_is_boolean(imp)) st = qa_fail(ps, "\"is_impossible\" is not a boolean");
                    else st = qa_add(ps, q, json_object_get(par, "context"), json_object_get(q, "answers"), false);
                }
            }
        }
    }
    json_decref(root);
    return st;
}

bertc_status bertc_qa_data_parse(const char *data, size_t len, const char *name, bertc_task_data_format fmt,
                                 bertc_qa_dataset **out, bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_qa_data_parse: no output");
    *out = NULL;
    if (!data && len) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_qa_data_parse: no data");
    if (!name) name = "(data)";
    if (fmt == BERTC_TASK_DATA_CONLL)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%s: CoNLL is NER data, not question answering", name);
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, len -= 3;
    if (fmt == BERTC_TASK_DATA_AUTO) {
        /* one JSON object with a "data" member is SQuAD JSON; JSON lines hold one object per line */
        fmt = BERTC_TASK_DATA_JSONL;
        size_t k = 0;
        while (k < len && (is_ws(data[k]) || data[k] == '\n')) k++;
        if (k < len && data[k] == '{') {
            json_error_t je;
            json_t *j = json_loadb(data + k, len - k, 0, &je);
            if (j && json_is_object(j) && json_object_get(j, "data")) fmt = BERTC_TASK_DATA_SQUAD;
            json_decref(j);
        }
    }
    bertc_qa_dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        return nomem(err);
    }
    d->format = fmt;
    qa_parser ps = {d, 0, name, err, ""};
    bertc_status s = fmt == BERTC_TASK_DATA_SQUAD ? qa_squad(&ps, data, len) : qa_jsonl(&ps, data, len);
    if (!s && d->n == 0) s = bertc_fail(err, BERTC_ERR_INPUT, "%s: no questions", name);
    if (s) {
        bertc_qa_data_free(d);
        return s;
    }
    *out = d;
    return BERTC_OK;
}

bertc_status bertc_qa_data_read(const char *path, bertc_task_data_format fmt, bertc_qa_dataset **out,
                                bertc_error *err) {
    if (!path || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_qa_data_read: no path or output");
    *out = NULL;
    char *data;
    size_t len;
    bertc_status s = slurp(path, &data, &len, err);
    if (s) return s;
    s = bertc_qa_data_parse(data, len, path, fmt, out, err);
    free(data);
    return s;
}

/* ---- the report ------------------------------------------------------------------------------------------- */

struct bertc_task_report {
    bertc_head task;
    char *model, *data;
    bertc_task_data_format format;
    size_t n; /* sentences or questions */
    long *line;
    /* NER */
    int n_labels;
    char **labels;      /* the model's label names (pred tags point into them) */
    size_t *len;        /* words per sentence */
    char ***words, ***gold;
    const char ***pred; /* borrowed from labels (or "O") */
    size_t *no_token;   /* words without a token per sentence */
    size_t words_total, no_token_total, correct;
    bertc_seqeval *se;
    /* QA */
    char **ids, **answer;
    double *score;
    size_t *n_answers;
    char ***answers;
    int version, impossible;
    size_t unanswerable, predicted_empty;
    bertc_squad *sq;
};

void bertc_task_report_free(bertc_task_report *r) {
    if (!r) return;
    for (size_t i = 0; i < r->n; i++) {
        if (r->words) {
            for (size_t j = 0; j < r->len[i]; j++) free(r->words[i][j]), free(r->gold[i][j]);
            free(r->words[i]), free(r->gold[i]);
        }
        if (r->pred) free(r->pred[i]);
        if (r->ids) free(r->ids[i]);
        if (r->answer) free(r->answer[i]);
        if (r->answers) {
            for (size_t k = 0; k < r->n_answers[i]; k++) free(r->answers[i][k]);
            free(r->answers[i]);
        }
    }
    for (int k = 0; r->labels && k < r->n_labels; k++) free(r->labels[k]);
    free(r->labels), free(r->len), free(r->words), free(r->gold), free(r->pred), free(r->no_token);
    free(r->ids), free(r->answer), free(r->score), free(r->n_answers), free(r->answers), free(r->line);
    bertc_seqeval_free(r->se);
    bertc_squad_free(r->sq);
    free(r->model), free(r->data);
    free(r);
}

bertc_task_eval_params bertc_task_eval_default_params(void) {
    bertc_task_eval_params p;
    memset(&p, 0, sizeof p);
    p.format = BERTC_TASK_DATA_AUTO;
    p.batch_size = 32;
    p.encode = bertc_encode_default_params();
    p.squad_version = 0;
    p.handle_impossible = -1;
    p.qa = bertc_qa_default_params();
    return p;
}

static bertc_task_report *report_new(const bertc_model *m, const char *data, bertc_head task, size_t n) {
    bertc_task_report *r = calloc(1, sizeof *r);
    if (!r) return NULL;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    r->task = task;
    r->n = n;
    r->model = strdup(info.source ? info.source : "");
    r->data = strdup(data ? data : "(data)");
    r->line = calloc(n + 1, sizeof *r->line);
    if (!r->model || !r->data || !r->line) {
        bertc_task_report_free(r);
        return NULL;
    }
    return r;
}

/* The code points of a valid UTF-8 string. */
static size_t n_codepoints(const char *s) {
    size_t n = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) n += (*p & 0xC0) != 0x80;
    return n;
}

static int argmax(const float *v, int n) {
    int b = 0;
    for (int k = 1; k < n; k++)
        if (v[k] > v[b]) b = k;
    return b;
}

/* One batch of sentences [a, b): joined, tokenized, the logits, each word's first-token label. */
static bertc_status ner_batch(const bertc_model *m, const bertc_ner_dataset *d, size_t a, size_t b,
                              const bertc_task_eval_params *p, bertc_task_report *r, bertc_error *err) {
    size_t nb = b - a;
    bertc_encoding *enc = calloc(nb, sizeof *enc);
    char *text = NULL;
    size_t *ws = NULL, *we = NULL;
    float *logits = NULL;
    bertc_status st = BERTC_OK;
    size_t cap_w = 0;
    if (!enc) return nomem(err);
    const bertc_tokenizer *tok = bertc_model_tokenizer(m);
    size_t total_tokens = 0;
    for (size_t i = 0; i < nb && !st; i++) {
        const bertc_ner_sentence *s = &d->s[a + i];
        size_t bytes = 1;
        for (size_t j = 0; j < s->n; j++) bytes += strlen(s->words[j]) + 1;
        char *t = realloc(text, bytes);
        if (!t) {
            st = nomem(err);
            break;
        }
        text = t;
        size_t o = 0;
        for (size_t j = 0; j < s->n; j++) {
            if (j) text[o++] = ' ';
            size_t l = strlen(s->words[j]);
            memcpy(text + o, s->words[j], l);
            o += l;
        }
        text[o] = 0;
        st = bertc_tokenize(tok, text, o, NULL, 0, &p->encode, &enc[i], err);
        if (st) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            st = bertc_fail(err, st, "%s:%ld: %s", d->name, s->line, msg);
        }
        total_tokens += enc[i].n;
    }
    if (!st && !(logits = malloc((total_tokens + 1) * (size_t)r->n_labels * sizeof *logits))) st = nomem(err);
    if (!st) {
        st = bertc_token_logits(m, enc, nb, logits, err);
        if (st) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            st = bertc_fail(err, st, "%s:%ld: %s", d->name, d->s[a].line, msg);
        }
    }
    size_t row0 = 0;
    for (size_t i = 0; i < nb && !st; i++) {
        const bertc_ner_sentence *s = &d->s[a + i];
        const bertc_encoding *e = &enc[i];
        size_t si = a + i;
        if (s->n > cap_w) {
            size_t *nws = realloc(ws, s->n * sizeof *ws);
            if (nws) ws = nws;
            size_t *nwe = nws ? realloc(we, s->n * sizeof *we) : NULL;
            if (nwe) we = nwe;
            if (!nws || !nwe) {
                st = nomem(err);
                break;
            }
            cap_w = s->n;
        }
        size_t cp = 0;
        for (size_t j = 0; j < s->n; j++) {
            if (j) cp++;
            ws[j] = cp;
            cp += n_codepoints(s->words[j]);
            we[j] = cp;
        }
        r->pred[si] = calloc(s->n + 1, sizeof **r->pred);
        if (!r->pred[si]) {
            st = nomem(err);
            break;
        }
        size_t t = 0;
        for (size_t j = 0; j < s->n; j++) {
            /* the first non-special token of the text whose span overlaps the word's */
            while (t < e->n && (e->special[t] || e->sequence[t] != 0 || (size_t)e->offsets[2 * t + 1] <= ws[j])) t++;
            int label = -1;
            if (we[j] > ws[j] && t < e->n && (size_t)e->offsets[2 * t] < we[j])
                label = argmax(logits + (row0 + t) * (size_t)r->n_labels, r->n_labels);
            if (label < 0) r->no_token[si]++;
            r->pred[si][j] = label < 0 ? "O" : r->labels[label];
            r->correct += !strcmp(r->pred[si][j], s->tags[j]);
        }
        r->no_token_total += r->no_token[si];
        r->words_total += s->n;
        row0 += e->n;
    }
    for (size_t i = 0; i < nb; i++) bertc_encoding_free(&enc[i]);
    free(enc), free(text), free(ws), free(we), free(logits);
    return st;
}

bertc_status bertc_ner_eval(const bertc_model *m, const bertc_ner_dataset *d, const bertc_task_eval_params *pp,
                            bertc_task_report **out, bertc_error *err) {
    if (!m || !d || !out || d->n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_ner_eval: no model, data or output");
    *out = NULL;
    bertc_task_eval_params p = pp ? *pp : bertc_task_eval_default_params();
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.head != BERTC_HEAD_TOKEN_CLASSIFICATION)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has a %s head, not token classification",
                          info.source ? info.source : "the model", bertc_head_name(info.head));
    int batch = p.batch_size <= 0 ? 32 : p.batch_size > 4096 ? 4096 : p.batch_size;
    bertc_task_report *r = report_new(m, d->name, BERTC_HEAD_TOKEN_CLASSIFICATION, d->n);
    if (!r) return nomem(err);
    r->format = d->format;
    r->n_labels = info.n_labels;
    r->labels = calloc((size_t)info.n_labels + 1, sizeof *r->labels);
    r->len = calloc(d->n, sizeof *r->len);
    r->words = calloc(d->n, sizeof *r->words);
    r->gold = calloc(d->n, sizeof *r->gold);
    r->pred = calloc(d->n, sizeof *r->pred);
    r->no_token = calloc(d->n, sizeof *r->no_token);
    bertc_status st = BERTC_OK;
    if (!r->labels || !r->len || !r->words || !r->gold || !r->pred || !r->no_token) st = nomem(err);
    for (int k = 0; !st && k < info.n_labels; k++)
        if (!(r->labels[k] = strdup(bertc_model_label(m, k)))) st = nomem(err);
    /* the sentences are copied: the report outlives the dataset */
    for (size_t i = 0; !st && i < d->n; i++) {
        const bertc_ner_sentence *s = &d->s[i];
        r->line[i] = s->line;
        r->words[i] = calloc(s->n + 1, sizeof(char *));
        r->gold[i] = calloc(s->n + 1, sizeof(char *));
        if (!r->words[i] || !r->gold[i]) {
            st = nomem(err);
            break;
        }
        r->len[i] = s->n;
        for (size_t j = 0; j < s->n; j++)
            if (!(r->words[i][j] = strdup(s->words[j])) || !(r->gold[i][j] = strdup(s->tags[j]))) st = nomem(err);
    }
    for (size_t a = 0; !st && a < d->n; a += (size_t)batch) {
        size_t b = a + (size_t)batch < d->n ? a + (size_t)batch : d->n;
        st = ner_batch(m, d, a, b, &p, r, err);
        if (!st && p.progress) p.progress(b, d->n, p.progress_ctx);
    }
    if (!st) {
        st = bertc_seqeval_compute(d->n, (const char *const *const *)r->gold, r->len,
                                   (const char *const *const *)r->pred, r->len, NULL, &r->se, err);
        if (st) {
            char msg[sizeof err->message];
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            st = bertc_fail(err, st, "%s: %s", d->name, msg);
        }
    }
    if (st) {
        bertc_task_report_free(r);
        return st;
    }
    *out = r;
    return BERTC_OK;
}

bertc_status bertc_qa_eval(const bertc_model *m, const bertc_qa_dataset *d, const bertc_task_eval_params *pp,
                           bertc_task_report **out, bertc_error *err) {
    if (!m || !d || !out || d->n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_qa_eval: no model, data or output");
    *out = NULL;
    bertc_task_eval_params p = pp ? *pp : bertc_task_eval_default_params();
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    if (info.head != BERTC_HEAD_QUESTION_ANSWERING)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has a %s head, not question answering",
                          info.source ? info.source : "the model", bertc_head_name(info.head));
    if (p.squad_version != 0 && p.squad_version != 1 && p.squad_version != 2)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "squad_version must be 0 (auto), 1 or 2, not %d", p.squad_version);
    int version = p.squad_version ? p.squad_version : d->n_unanswerable ? 2 : 1;
    if (version == 1 && d->n_unanswerable) {
        for (size_t i = 0; i < d->n; i++)
            if (!d->ex[i].n_answers) {
                char where[64] = "";
                if (d->ex[i].line) snprintf(where, sizeof where, ":%ld", d->ex[i].line);
                return bertc_fail(err, BERTC_ERR_INPUT, "%s%s: question %s has no answer: SQuAD v1.1 scores answerable "
                                  "questions only (v2.0 scores the others)", d->name, where, d->ex[i].id);
            }
    }
    bertc_task_report *r = report_new(m, d->name, BERTC_HEAD_QUESTION_ANSWERING, d->n);
    if (!r) return nomem(err);
    r->format = d->format;
    r->version = version;
    r->impossible = p.handle_impossible < 0 ? version == 2 : p.handle_impossible != 0;
    r->unanswerable = d->n_unanswerable;
    r->ids = calloc(d->n, sizeof *r->ids);
    r->answer = calloc(d->n, sizeof *r->answer);
    r->score = calloc(d->n, sizeof *r->score);
    r->n_answers = calloc(d->n, sizeof *r->n_answers);
    r->answers = calloc(d->n, sizeof *r->answers);
    bertc_squad_question *q = calloc(d->n, sizeof *q);
    bertc_status st = BERTC_OK;
    if (!r->ids || !r->answer || !r->score || !r->n_answers || !r->answers || !q) st = nomem(err);
    bertc_qa_params qp = p.qa;
    qp.top_k = 1;
    qp.handle_impossible_answer = r->impossible;
    for (size_t i = 0; !st && i < d->n; i++) {
        const bertc_qa_example *e = &d->ex[i];
        r->line[i] = e->line;
        if (!(r->ids[i] = strdup(e->id))) {
            st = nomem(err);
            break;
        }
        if (e->n_answers && !(r->answers[i] = calloc(e->n_answers, sizeof(char *)))) {
            st = nomem(err);
            break;
        }
        for (size_t k = 0; k < e->n_answers && !st; k++) {
            if (!(r->answers[i][k] = strdup(e->answers[k]))) st = nomem(err);
            else r->n_answers[i] = k + 1;
        }
        if (st) break;
        bertc_qa_result res = {0, NULL};
        st = bertc_question_answer(m, e->question, e->question_len, e->context, e->context_len, &qp, &res, err);
        if (st) {
            char msg[sizeof err->message], where[64] = "";
            snprintf(msg, sizeof msg, "%s", err ? err->message : "");
            if (e->line) snprintf(where, sizeof where, ":%ld", e->line);
            st = bertc_fail(err, st, "%s%s: question %s: %s", d->name, where, e->id, msg);
            break;
        }
        r->answer[i] = strdup(res.n && res.answers[0].answer ? res.answers[0].answer : "");
        r->score[i] = res.n ? res.answers[0].score : NAN;
        bertc_qa_result_free(&res);
        if (!r->answer[i]) {
            st = nomem(err);
            break;
        }
        r->predicted_empty += !*r->answer[i];
        q[i].prediction = r->answer[i];
        q[i].answers = (const char *const *)r->answers[i];
        q[i].n_answers = r->n_answers[i];
        if (p.progress) p.progress(i + 1, d->n, p.progress_ctx);
    }
    if (!st) st = bertc_squad_compute(version == 2 ? BERTC_SQUAD_V2 : BERTC_SQUAD_V1, q, d->n, &r->sq, err);
    free(q);
    if (st) {
        bertc_task_report_free(r);
        return st;
    }
    *out = r;
    return BERTC_OK;
}

bertc_status bertc_task_eval_run(const bertc_model *m, const bertc_task_eval_params *pp, bertc_task_report **out,
                                 bertc_error *err) {
    if (!m || !pp || !pp->data || !out)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_task_eval_run: no model, data file or output");
    *out = NULL;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    bertc_status st;
    if (info.head == BERTC_HEAD_TOKEN_CLASSIFICATION) {
        const char **labels = calloc((size_t)info.n_labels + 1, sizeof *labels);
        if (!labels) return nomem(err);
        for (int k = 0; k < info.n_labels; k++) labels[k] = bertc_model_label(m, k);
        bertc_ner_data_params dp = {pp->format, pp->tokens_column, pp->tags_column, labels, info.n_labels};
        bertc_ner_dataset *d = NULL;
        st = bertc_ner_data_read(pp->data, &dp, &d, err);
        free(labels);
        if (!st) st = bertc_ner_eval(m, d, pp, out, err);
        bertc_ner_data_free(d);
        return st;
    }
    if (info.head == BERTC_HEAD_QUESTION_ANSWERING) {
        bertc_qa_dataset *d = NULL;
        st = bertc_qa_data_read(pp->data, pp->format, &d, err);
        if (!st) st = bertc_qa_eval(m, d, pp, out, err);
        bertc_qa_data_free(d);
        return st;
    }
    return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has a %s head: bertc_task_eval_run takes token-classification "
                      "and question-answering models (bertc_eval_run: sequence classification)",
                      info.source ? info.source : "the model", bertc_head_name(info.head));
}

/* ---- rendering -------------------------------------------------------------------------------------------- */

static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static const char *format_name(bertc_task_data_format f) {
    return f == BERTC_TASK_DATA_CONLL ? "conll" : f == BERTC_TASK_DATA_SQUAD ? "squad" : "jsonl";
}

static json_t *report_row(const bertc_seqeval_scores *s) {
    json_t *o = json_object();
    json_object_set_new(o, "precision", num(s->precision));
    json_object_set_new(o, "recall", num(s->recall));
    json_object_set_new(o, "f1-score", num(s->f1));
    json_object_set_new(o, "support", json_integer(s->support));
    return o;
}

static json_t *task_json(const bertc_task_report *r) {
    json_t *o = json_object(), *c = json_object(), *mt = json_object();
    json_object_set_new(o, "task", json_string(bertc_head_name(r->task)));
    json_object_set_new(o, "model", json_string(r->model));
    json_object_set_new(o, "data", json_string(r->data));
    json_object_set_new(o, "format", json_string(format_name(r->format)));
    if (r->task == BERTC_HEAD_TOKEN_CLASSIFICATION) {
        json_object_set_new(c, "sentences", json_integer((json_int_t)r->n));
        json_object_set_new(c, "words", json_integer((json_int_t)r->words_total));
        json_object_set_new(c, "truncated_words", json_integer((json_int_t)r->no_token_total));
        for (size_t k = 0; k < r->se->n_types; k++) {
            const bertc_seqeval_scores *s = &r->se->types[k];
            json_t *t = json_object();
            json_object_set_new(t, "precision", num(s->precision));
            json_object_set_new(t, "recall", num(s->recall));
            json_object_set_new(t, "f1", num(s->f1));
            json_object_set_new(t, "number", json_integer(s->support));
            json_object_set_new(mt, s->type, t);
        }
        json_object_set_new(mt, "overall_precision", num(r->se->micro.precision));
        json_object_set_new(mt, "overall_recall", num(r->se->micro.recall));
        json_object_set_new(mt, "overall_f1", num(r->se->micro.f1));
        json_object_set_new(mt, "overall_accuracy", num(bertc_task_report_accuracy(r)));
        json_object_set_new(o, "counts", c);
        json_object_set_new(o, "metrics", mt);
        json_t *cr = json_object();
        json_object_set_new(cr, "micro avg", report_row(&r->se->micro));
        json_object_set_new(cr, "macro avg", report_row(&r->se->macro));
        json_object_set_new(cr, "weighted avg", report_row(&r->se->weighted));
        json_object_set_new(o, "classification_report", cr);
    } else {
        const bertc_squad *s = r->sq;
        json_object_set_new(c, "questions", json_integer((json_int_t)r->n));
        json_object_set_new(c, "answerable", json_integer((json_int_t)(r->n - r->unanswerable)));
        json_object_set_new(c, "unanswerable", json_integer((json_int_t)r->unanswerable));
        json_object_set_new(c, "predicted_no_answer", json_integer((json_int_t)r->predicted_empty));
        json_object_set_new(o, "squad_version", json_string(r->version == 2 ? "2.0" : "1.1"));
        json_object_set_new(o, "handle_impossible_answer", json_boolean(r->impossible));
        if (r->version == 1) {
            json_object_set_new(mt, "exact_match", num(s->exact));
            json_object_set_new(mt, "f1", num(s->f1));
        } else {
            json_object_set_new(mt, "exact", num(s->exact));
            json_object_set_new(mt, "f1", num(s->f1));
            json_object_set_new(mt, "total", json_integer((json_int_t)s->total));
            if (s->has_ans_total) {
                json_object_set_new(mt, "HasAns_exact", num(s->has_ans_exact));
                json_object_set_new(mt, "HasAns_f1", num(s->has_ans_f1));
                json_object_set_new(mt, "HasAns_total", json_integer((json_int_t)s->has_ans_total));
            }
            if (s->no_ans_total) {
                json_object_set_new(mt, "NoAns_exact", num(s->no_ans_exact));
                json_object_set_new(mt, "NoAns_f1", num(s->no_ans_f1));
                json_object_set_new(mt, "NoAns_total", json_integer((json_int_t)s->no_ans_total));
            }
        }
        json_object_set_new(o, "counts", c);
        json_object_set_new(o, "metrics", mt);
    }
    return o;
}

static void terminal_ner(FILE *f, const bertc_task_report *r) {
    const bertc_seqeval *s = r->se;
    fprintf(f, "token classification: %zu sentences, %zu words", r->n, r->words_total);
    if (r->no_token_total) fprintf(f, " (%zu without a token, predicted O)", r->no_token_total);
    fputc('\n', f);
    int w = 8;
    for (size_t k = 0; k < s->n_types; k++) {
        int l = (int)n_codepoints(s->types[k].type);
        if (l > w && l < 40) w = l;
    }
    fprintf(f, "%-*s  precision  recall      f1  number\n", w, "type");
    for (size_t k = 0; k < s->n_types; k++) {
        const bertc_seqeval_scores *t = &s->types[k];
        int pad = w - (int)n_codepoints(t->type);
        fprintf(f, "%s%*s  %9.4f  %6.4f  %6.4f  %6ld\n", t->type, pad > 0 ? pad : 0, "", t->precision, t->recall, t->f1,
                t->support);
    }
    fprintf(f, "%-*s  %9.4f  %6.4f  %6.4f  %6ld\n", w, "overall", s->micro.precision, s->micro.recall, s->micro.f1,
            s->micro.support);
    fprintf(f, "accuracy %.4f (%zu of %zu words)\n", bertc_task_report_accuracy(r), r->correct, r->words_total);
}

static void terminal_qa(FILE *f, const bertc_task_report *r) {
    const bertc_squad *s = r->sq;
    fprintf(f, "question answering (SQuAD v%s): %zu questions", r->version == 2 ? "2.0" : "1.1", r->n);
    if (r->version == 2) fprintf(f, " (%zu with an answer, %zu without)", s->has_ans_total, s->no_ans_total);
    fprintf(f, "\n%-8s  %6s  %6s\n", "", "exact", "f1");
    fprintf(f, "%-8s  %6.2f  %6.2f\n", "overall", s->exact, s->f1);
    if (r->version == 2 && s->has_ans_total) fprintf(f, "%-8s  %6.2f  %6.2f\n", "HasAns", s->has_ans_exact, s->has_ans_f1);
    if (r->version == 2 && s->no_ans_total) fprintf(f, "%-8s  %6.2f  %6.2f\n", "NoAns", s->no_ans_exact, s->no_ans_f1);
    fprintf(f, "no answer predicted for %zu of %zu questions%s\n", r->predicted_empty, r->n,
            r->impossible ? "" : " (handle_impossible_answer off)");
}

static json_t *str_array(char *const *v, size_t n) {
    json_t *a = json_array();
    for (size_t k = 0; k < n; k++) json_array_append_new(a, json_string(v[k]));
    return a;
}

static bertc_status predictions(FILE *f, const bertc_task_report *r, bertc_error *err) {
    for (size_t i = 0; i < r->n; i++) {
        unsigned jf = jalloc_failures();
        json_t *o = json_object();
        if (r->task == BERTC_HEAD_TOKEN_CLASSIFICATION) {
            json_object_set_new(o, "line", json_integer(r->line[i]));
            json_object_set_new(o, "words", str_array(r->words[i], r->len[i]));
            json_object_set_new(o, "gold", str_array(r->gold[i], r->len[i]));
            json_object_set_new(o, "pred", str_array((char *const *)r->pred[i], r->len[i]));
            json_object_set_new(o, "no_token", json_integer((json_int_t)r->no_token[i]));
        } else {
            json_object_set_new(o, "id", json_string(r->ids[i]));
            if (r->line[i]) json_object_set_new(o, "line", json_integer(r->line[i]));
            json_object_set_new(o, "prediction", json_string(r->answer[i]));
            json_object_set_new(o, "score", num(r->score[i]));
            json_object_set_new(o, "answers", str_array(r->answers[i], r->n_answers[i]));
            json_object_set_new(o, "exact", num(r->sq->question_exact[i]));
            json_object_set_new(o, "f1", num(r->sq->question_f1[i]));
        }
        char *s = jdump(o, JSON_COMPACT | JSON_REAL_PRECISION(17), jf);
        json_decref(o);
        if (!s) return nomem(err);
        fputs(s, f);
        fputc('\n', f);
        free(s);
    }
    return BERTC_OK;
}

bertc_status bertc_task_report_render(const bertc_task_report *r, bertc_report_format fmt, char **out, size_t *len,
                                      bertc_error *err) {
    if (!r || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_task_report_render: no report or output");
    *out = NULL;
    if (len) *len = 0;
    if (fmt == BERTC_REPORT_JSON) {
        unsigned jf = jalloc_failures();
        return rpt_json(task_json(r), jf, out, len, err);
    }
    if (fmt != BERTC_REPORT_TERMINAL && fmt != BERTC_REPORT_PREDICTIONS)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG,
                          "a %s evaluation renders as JSON, terminal or predictions (format %d)",
                          bertc_head_name(r->task), (int)fmt);
    rpt_buf b;
    bertc_status s = rpt_open(&b, err);
    if (s) return s;
    if (fmt == BERTC_REPORT_PREDICTIONS) s = predictions(b.f, r, err);
    else if (r->task == BERTC_HEAD_TOKEN_CLASSIFICATION) terminal_ner(b.f, r);
    else terminal_qa(b.f, r);
    if (s) {
        char *t = NULL;
        rpt_close(&b, &t, NULL, NULL);
        free(t);
        return s;
    }
    return rpt_close(&b, out, len, err);
}

bertc_head bertc_task_report_task(const bertc_task_report *r) { return r ? r->task : BERTC_HEAD_NONE; }
const bertc_seqeval *bertc_task_report_seqeval(const bertc_task_report *r) { return r ? r->se : NULL; }
const bertc_squad *bertc_task_report_squad(const bertc_task_report *r) { return r ? r->sq : NULL; }

double bertc_task_report_accuracy(const bertc_task_report *r) {
    if (!r || r->task != BERTC_HEAD_TOKEN_CLASSIFICATION || !r->words_total) return NAN;
    return (double)r->correct / (double)r->words_total;
}

size_t bertc_task_report_words(const bertc_task_report *r, size_t *no_token) {
    if (no_token) *no_token = r ? r->no_token_total : 0;
    return r ? r->words_total : 0;
}

const char *const *bertc_task_report_tags(const bertc_task_report *r, size_t i, size_t *n) {
    if (n) *n = 0;
    if (!r || r->task != BERTC_HEAD_TOKEN_CLASSIFICATION || i >= r->n) return NULL;
    if (n) *n = r->len[i];
    return r->pred[i];
}

const char *bertc_task_report_answer(const bertc_task_report *r, size_t i, double *score) {
    if (!r || r->task != BERTC_HEAD_QUESTION_ANSWERING || i >= r->n) return NULL;
    if (score) *score = r->score[i];
    return r->answer[i];
}
