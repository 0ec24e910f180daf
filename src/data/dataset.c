/*
 * dataset.c — labeled datasets for evaluation: TSV (GLUE, no quoting), CSV (RFC 4180) and JSON lines, with a
 * header naming the columns. Every malformed row is reported as "FILE:LINE: why".
 */
#include "bertc_data.h"
#include "base/internal.h"
#include "base/json.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

bertc_dataset_params bertc_dataset_default_params(void) {
    bertc_dataset_params p = {BERTC_DATA_AUTO, NULL, NULL, NULL};
    return p;
}

void bertc_dataset_free(bertc_dataset *d) {
    if (!d) return;
    for (size_t i = 0; i < d->n; i++) {
        free((char *)d->ex[i].text);
        free((char *)d->ex[i].pair);
        free((char *)d->ex[i].label);
    }
    free(d->ex);
    free(d->name);
    free(d);
}

int bertc_label_lookup(const char *label, const char *const *names, int n_names) {
    if (!label || !*label) return -1;
    char *end;
    long v = strtol(label, &end, 10);
    if (*end == 0 && end != label) return v >= 0 && v < n_names ? (int)v : -1;
    for (int i = 0; i < n_names; i++)
        if (names[i] && !strcmp(names[i], label)) return i;
    for (int i = 0; i < n_names; i++)
        if (names[i] && !strcasecmp(names[i], label)) return i;
    return -1;
}

/* ---- rows of fields, common to TSV and CSV ---- */

typedef struct field {
    const char *s; /* points into the input, or into a scratch copy for unquoted CSV */
    size_t len;
} field;

typedef struct parser {
    const char *name;
    bertc_dataset *d;
    size_t cap;
    int text_col, pair_col, label_col;
    bertc_error *err;
} parser;

static bertc_status check_utf8(parser *ps, long line, const char *what, const char *s, size_t len) {
    size_t bad = utf8_validate(s, len);
    if (bad < len)
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: %s is not valid UTF-8 (byte %zu)", ps->name, line, what,
                          bad);
    return BERTC_OK;
}

static bertc_status add_example(parser *ps, long line, const char *text, size_t tl, const char *pair, size_t pl,
                                const char *label, size_t ll, int has_pair, int has_label) {
    bertc_status s;
    if ((s = check_utf8(ps, line, "text", text, tl))) return s;
    if (has_pair && (s = check_utf8(ps, line, "pair", pair, pl))) return s;
    if (has_label) {
        while (ll && (*label == ' ')) label++, ll--;
        while (ll && (label[ll - 1] == ' ' || label[ll - 1] == '\r')) ll--;
        if (ll == 0) return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: empty label", ps->name, line);
        if ((s = check_utf8(ps, line, "label", label, ll))) return s;
    }
    bertc_dataset *d = ps->d;
    if (d->n == ps->cap) {
        size_t nc = ps->cap ? ps->cap * 2 : 256;
        bertc_example *ne = realloc(d->ex, nc * sizeof *ne);
        if (!ne) return bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory");
        d->ex = ne;
        ps->cap = nc;
    }
    bertc_example *e = &d->ex[d->n];
    memset(e, 0, sizeof *e);
    e->line = line;
    e->text = mem_dup0(text, tl);
    e->len = tl;
    if (has_pair) e->pair = mem_dup0(pair, pl), e->pair_len = pl;
    if (has_label) e->label = mem_dup0(label, ll);
    d->n++;
    if (!e->text || (has_pair && !e->pair) || (has_label && !e->label))
        return bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory");
    return BERTC_OK;
}

static int find_col(const field *h, int nh, const char *name) {
    for (int i = 0; i < nh; i++)
        if (strlen(name) == h[i].len && !strncmp(h[i].s, name, h[i].len)) return i;
    return -1;
}

/* Without --text-column, the first of these that a file has (header or JSON key) is the text: the first
 * sentence of GLUE's pair tasks before the single-sentence names, so that QNLI's question / sentence is a pair. */
static const char *const default_text_columns[] = {"sentence1", "question", "premise", "sentence", "text", "content", "review"};
#define DEFAULT_TEXT_LIST "sentence1, question, premise, sentence, text, content, review"

/* ... and its pair, without --pair-column, when the file has that column too (TSV, CSV and JSON lines alike). */
static const char *default_pair_column(const char *text_col, size_t len) {
    static const char *const pairs[][2] = {
        {"sentence1", "sentence2"}, {"question", "sentence"}, {"premise", "hypothesis"}, {"text", "text_pair"}};
    for (size_t i = 0; i < sizeof pairs / sizeof *pairs; i++)
        if (strlen(pairs[i][0]) == len && !strncmp(text_col, pairs[i][0], len)) return pairs[i][1];
    return NULL;
}

/* Resolves the columns from the header row. */
static bertc_status resolve_columns(parser *ps, const field *h, int nh, const bertc_dataset_params *p) {
    const char *const *texts = default_text_columns;
    ps->text_col = ps->pair_col = ps->label_col = -1;
    if (p->text_column) {
        ps->text_col = find_col(h, nh, p->text_column);
        if (ps->text_col < 0)
            return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:1: no text column \"%s\" in the header", ps->name,
                              p->text_column);
    } else {
        for (size_t i = 0; i < sizeof default_text_columns / sizeof *texts && ps->text_col < 0; i++)
            ps->text_col = find_col(h, nh, texts[i]);
        if (ps->text_col < 0)
            return bertc_fail(ps->err, BERTC_ERR_INPUT,
                              "%s:1: no text column (looked for " DEFAULT_TEXT_LIST "); name it with --text-column",
                              ps->name);
    }
    if (p->pair_column) {
        ps->pair_col = find_col(h, nh, p->pair_column);
        if (ps->pair_col < 0)
            return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:1: no pair column \"%s\" in the header", ps->name,
                              p->pair_column);
    } else {
        const char *pc = default_pair_column(h[ps->text_col].s, h[ps->text_col].len);
        if (pc) ps->pair_col = find_col(h, nh, pc);
    }
    const char *lc = p->label_column ? p->label_column : "label";
    if (*lc) {
        ps->label_col = find_col(h, nh, lc);
        if (ps->label_col < 0)
            return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:1: no label column \"%s\" in the header%s", ps->name, lc,
                              p->label_column ? "" : " (name it with --label-column)");
    }
    return BERTC_OK;
}

static bertc_status add_row(parser *ps, long line, const field *f, int nf, int nh) {
    if (nf != nh)
        return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: %d field%s, the header has %d", ps->name, line, nf,
                          nf == 1 ? "" : "s", nh);
    const field *t = &f[ps->text_col];
    const field *pr = ps->pair_col >= 0 ? &f[ps->pair_col] : NULL;
    const field *lb = ps->label_col >= 0 ? &f[ps->label_col] : NULL;
    return add_example(ps, line, t->s, t->len, pr ? pr->s : NULL, pr ? pr->len : 0, lb ? lb->s : NULL,
                       lb ? lb->len : 0, pr != NULL, lb != NULL);
}

#define MAX_FIELDS 256

static bertc_status parse_tsv(parser *ps, const char *data, size_t len, const bertc_dataset_params *p) {
    field header[MAX_FIELDS], row[MAX_FIELDS];
    int nh = -1;
    long line = 0;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        line++;
        size_t le = e;
        if (le > i && data[le - 1] == '\r') le--;
        size_t next = e < len ? e + 1 : e;
        if (le == i) { /* blank line */
            i = next;
            continue;
        }
        if (memchr(data + i, 0, le - i))
            return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: line contains a NUL byte", ps->name, line);
        field *f = nh < 0 ? header : row;
        int nf = 0;
        size_t s = i;
        for (size_t k = i; k <= le; k++) {
            if (k == le || data[k] == '\t') {
                if (nf == MAX_FIELDS)
                    return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: more than %d fields", ps->name, line,
                                      MAX_FIELDS);
                f[nf].s = data + s;
                f[nf].len = k - s;
                nf++;
                s = k + 1;
            }
        }
        bertc_status st;
        if (nh < 0) {
            nh = nf;
            if ((st = resolve_columns(ps, header, nh, p))) return st;
        } else if ((st = add_row(ps, line, row, nf, nh))) {
            return st;
        }
        i = next;
    }
    if (nh < 0) return bertc_fail(ps->err, BERTC_ERR_INPUT, "%s: empty file (no header row)", ps->name);
    return BERTC_OK;
}

/* CSV fields with quotes are unescaped into scratch buffers owned by the caller's list. */
static bertc_status parse_csv(parser *ps, const char *data, size_t len, const bertc_dataset_params *p) {
    field header[MAX_FIELDS], row[MAX_FIELDS];
    char *scratch = malloc(len + 1); /* unescaped copies of quoted fields: never longer than the input */
    if (!scratch) return bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory");
    size_t sp = 0, hdr_sp = 0;
    int nh = -1;
    long line = 1;
    size_t i = 0;
    bertc_status st = BERTC_OK;
    while (i < len && !st) {
        long start_line = line;
        field *f = nh < 0 ? header : row;
        int nf = 0;
        if (data[i] == '\n' || (data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')) { /* blank line */
            i += data[i] == '\r' ? 2 : 1;
            line++;
            continue;
        }
        if (nh >= 0) sp = hdr_sp; /* row scratch is reused after the header's */
        for (;;) {
            if (nf == MAX_FIELDS) {
                st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: more than %d fields", ps->name, start_line,
                                MAX_FIELDS);
                break;
            }
            if (i < len && data[i] == '"') {
                size_t out = sp;
                i++;
                for (;;) {
                    if (i >= len) {
                        st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: unterminated quoted field", ps->name,
                                        start_line);
                        break;
                    }
                    if (data[i] == '"') {
                        if (i + 1 < len && data[i + 1] == '"') {
                            scratch[out++] = '"';
                            i += 2;
                            continue;
                        }
                        i++;
                        break;
                    }
                    if (data[i] == '\n') line++;
                    scratch[out++] = data[i++];
                }
                if (st) break;
                if (i < len && data[i] != ',' && data[i] != '\n' && data[i] != '\r') {
                    st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: text after a closing quote", ps->name, line);
                    break;
                }
                f[nf].s = scratch + sp;
                f[nf].len = out - sp;
                sp = out;
            } else {
                size_t s = i;
                while (i < len && data[i] != ',' && data[i] != '\n' && !(data[i] == '\r' && i + 1 < len && data[i + 1] == '\n')) {
                    if (data[i] == '"') {
                        st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: quote inside an unquoted field", ps->name,
                                        line);
                        break;
                    }
                    i++;
                }
                if (st) break;
                f[nf].s = data + s;
                f[nf].len = i - s;
            }
            if (memchr(f[nf].s, 0, f[nf].len)) {
                st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: field contains a NUL byte", ps->name, line);
                break;
            }
            nf++;
            if (i < len && data[i] == ',') {
                i++;
                continue;
            }
            if (i < len && data[i] == '\r') i++;
            if (i < len && data[i] == '\n') i++, line++;
            break;
        }
        if (st) break;
        if (nh < 0) {
            nh = nf;
            hdr_sp = sp;
            st = resolve_columns(ps, header, nh, p);
        } else {
            st = add_row(ps, start_line, row, nf, nh);
        }
    }
    if (!st && nh < 0) st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s: empty file (no header row)", ps->name);
    free(scratch);
    return st;
}

static bertc_status parse_jsonl(parser *ps, const char *data, size_t len, const bertc_dataset_params *p) {
    const char *tc = p->text_column, *pc = p->pair_column;
    const char *lc = p->label_column ? p->label_column : "label";
    long line = 0;
    size_t i = 0;
    while (i < len) {
        size_t e = i;
        while (e < len && data[e] != '\n') e++;
        line++;
        size_t next = e < len ? e + 1 : e;
        size_t k = i;
        while (k < e && (data[k] == ' ' || data[k] == '\t' || data[k] == '\r')) k++;
        if (k == e) {
            i = next;
            continue;
        }
        json_error_t je;
        int oom;
        json_t *j = jload(data + i, e - i, JSON_ALLOW_NUL, &je, &oom);
        if (oom) return bertc_fail(ps->err, BERTC_ERR_NOMEM, "out of memory reading %s", ps->name);
        if (!j || !json_is_object(j)) {
            bertc_status st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: not a JSON object (%s)", ps->name, line,
                                         j ? "another JSON value" : je.text);
            json_decref(j);
            return st;
        }
        json_t *t = NULL;
        if (tc) t = json_object_get(j, tc);
        else {
            for (size_t q = 0; q < sizeof default_text_columns / sizeof *default_text_columns && !t; q++)
                if ((t = json_object_get(j, default_text_columns[q]))) tc = default_text_columns[q];
        }
        const char *pcol = pc;
        if (!pcol && tc) pcol = default_pair_column(tc, strlen(tc));
        json_t *pr = pcol ? json_object_get(j, pcol) : NULL;
        json_t *lb = *lc ? json_object_get(j, lc) : NULL;
        const char *why = NULL;
        char lbuf[32];
        const char *ls = NULL;
        size_t ll = 0;
        if (!json_is_string(t)) why = tc ? "the text field is missing or not a string" : "no \"text\" field";
        else if (pr && !json_is_string(pr) && !json_is_null(pr)) why = "the pair field is not a string";
        else if (*lc && !lb) why = "no label field";
        else if (lb && json_is_string(lb)) ls = json_string_value(lb), ll = json_string_length(lb);
        else if (lb && json_is_integer(lb)) {
            ll = (size_t)snprintf(lbuf, sizeof lbuf, "%lld", (long long)json_integer_value(lb));
            ls = lbuf;
        } else if (lb && json_is_boolean(lb)) {
            ls = json_is_true(lb) ? "1" : "0";
            ll = 1;
        } else if (lb) why = "the label is neither a string nor an integer";
        bertc_status st = BERTC_OK;
        if (why) st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: %s", ps->name, line, why);
        else if (ls && memchr(ls, 0, ll)) st = bertc_fail(ps->err, BERTC_ERR_INPUT, "%s:%ld: label contains NUL", ps->name, line);
        else {
            int has_pair = pc != NULL || json_is_string(pr);
            const char *pv = json_is_string(pr) ? json_string_value(pr) : "";
            size_t pl = json_is_string(pr) ? json_string_length(pr) : 0;
            st = add_example(ps, line, json_string_value(t), json_string_length(t), pv, pl, ls, ll, has_pair,
                             *lc != 0);
        }
        json_decref(j);
        if (st) return st;
        i = next;
    }
    return BERTC_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

bertc_status bertc_dataset_parse(const char *data, size_t len, const char *name, const bertc_dataset_params *pp,
                                 bertc_dataset **out, bertc_error *err) {
    bertc_dataset_params p = pp ? *pp : bertc_dataset_default_params();
    *out = NULL;
    if (!name) name = "(data)";
    bertc_data_format fmt = p.format;
    if (fmt == BERTC_DATA_AUTO) {
        if (ends_with(name, ".tsv") || ends_with(name, ".tsv.txt")) fmt = BERTC_DATA_TSV;
        else if (ends_with(name, ".csv")) fmt = BERTC_DATA_CSV;
        else if (ends_with(name, ".jsonl") || ends_with(name, ".json") || ends_with(name, ".ndjson")) fmt = BERTC_DATA_JSONL;
        else {
            size_t k = 0;
            while (k < len && (data[k] == ' ' || data[k] == '\n' || data[k] == '\r' || data[k] == '\t')) k++;
            size_t e = k;
            while (e < len && data[e] != '\n') e++;
            if (k < len && data[k] == '{') fmt = BERTC_DATA_JSONL;
            else if (memchr(data + k, '\t', e - k)) fmt = BERTC_DATA_TSV;
            else fmt = BERTC_DATA_CSV;
        }
    }
    /* a UTF-8 byte order mark is skipped, as Python's utf-8-sig and pandas do */
    if (len >= 3 && !memcmp(data, "\xEF\xBB\xBF", 3)) data += 3, len -= 3;
    bertc_dataset *d = calloc(1, sizeof *d);
    if (!d || !(d->name = strdup(name))) {
        free(d);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    parser ps = {name, d, 0, -1, -1, -1, err};
    bertc_status s = fmt == BERTC_DATA_TSV   ? parse_tsv(&ps, data, len, &p)
                     : fmt == BERTC_DATA_CSV ? parse_csv(&ps, data, len, &p)
                                             : parse_jsonl(&ps, data, len, &p);
    if (!s && d->n == 0) s = bertc_fail(err, BERTC_ERR_INPUT, "%s: no examples", name);
    if (s) {
        bertc_dataset_free(d);
        return s;
    }
    *out = d;
    return BERTC_OK;
}

bertc_status bertc_dataset_read(const char *path, const bertc_dataset_params *p, bertc_dataset **out,
                                bertc_error *err) {
    char *data;
    size_t len;
    *out = NULL;
    bertc_status s = read_file(path, &data, &len, err);
    if (s) {
        char msg[sizeof err->message];
        snprintf(msg, sizeof msg, "%s", err ? err->message : path);
        return s == BERTC_ERR_NOMEM ? s : bertc_fail(err, BERTC_ERR_INPUT, "%s", msg);
    }
    s = bertc_dataset_parse(data, len, path, p, out, err);
    free(data);
    return s;
}
