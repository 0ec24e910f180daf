/*
 * seqeval.c — entity-level metrics of token classification as seqeval 1.2.2 computes them in its default mode:
 * get_entities (seqeval.metrics.sequence_labeling) with all its quirks, then per-type precision, recall, F1 and
 * support and the micro / macro / weighted averages of classification_report(output_dict=True).
 *
 * get_entities, transcribed:
 *  - the sentences are one sequence, each followed by "O", and the whole by one more "O";
 *  - a tag's "tag" is its first code point (suffix: the last), its type what follows the first '-' of the rest
 *    (suffix: what precedes the last '-'), the whole rest when it has no '-', "_" when that is empty
 *    ("O" has type "_", "B-PER" "PER", "BX-Y" "Y", "PER" is tag 'P' of type "ER");
 *  - a chunk ends at E / S, at B / I followed by B / S / O, and when a tag other than O / '.' is followed by
 *    another type; one starts at B / S, at E / I after E / S / O, and at any tag other than O / '.' whose type
 *    differs from the previous one. A tag that starts nothing leaves the previous start in place, so a chunk
 *    can begin where an earlier one did (seqeval's begin_offset is never reset).
 */
#include "bertc_eval.h"
#include "base/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bertc_seqeval_params bertc_seqeval_default_params(void) {
    bertc_seqeval_params p = {0, 0};
    return p;
}

typedef struct span {
    const char *type; /* not NUL-terminated */
    size_t type_len;
    size_t start, end;
} span;

typedef struct spans {
    span *v;
    size_t n, cap;
} spans;

static bool spans_push(spans *s, span x) {
    if (s->n == s->cap) {
        size_t cap = s->cap ? 2 * s->cap : 16;
        span *nv = realloc(s->v, cap * sizeof *nv);
        if (!nv) return false;
        s->v = nv;
        s->cap = cap;
    }
    s->v[s->n++] = x;
    return true;
}

/* A tag split as get_entities splits it. */
typedef struct parsed {
    int32_t tag;
    const char *type;
    size_t type_len;
} parsed;

static parsed parse_tag(const char *t, size_t len, int suffix) {
    parsed p;
    if (!suffix) {
        int32_t cp;
        int k = utf8_decode((const unsigned char *)t, &cp);
        p.tag = cp;
        const char *rest = t + k;
        size_t rl = len - (size_t)k;
        const char *dash = memchr(rest, '-', rl);
        if (dash) rl -= (size_t)(dash + 1 - rest), rest = dash + 1; /* split('-', 1)[-1] */
        p.type = rest, p.type_len = rl;
    } else {
        size_t k = len - 1;
        while (k > 0 && ((unsigned char)t[k] & 0xC0) == 0x80) k--; /* start of the last code point */
        int32_t cp;
        utf8_decode((const unsigned char *)t + k, &cp);
        p.tag = cp;
        size_t rl = k;
        for (size_t i = k; i > 0; i--)
            if (t[i - 1] == '-') { /* rsplit('-', 1)[0] */
                rl = i - 1;
                break;
            }
        p.type = t, p.type_len = rl;
    }
    if (p.type_len == 0) p.type = "_", p.type_len = 1;
    return p;
}

static bool same_type(const char *a, size_t al, const char *b, size_t bl) { return al == bl && !memcmp(a, b, al); }

static bool end_of_chunk(int32_t pt, int32_t t, bool type_differs) {
    if (pt == 'E' || pt == 'S') return true;
    if ((pt == 'B' || pt == 'I') && (t == 'B' || t == 'S' || t == 'O')) return true;
    return pt != 'O' && pt != '.' && type_differs;
}

static bool start_of_chunk(int32_t pt, int32_t t, bool type_differs) {
    if (t == 'B' || t == 'S') return true;
    if ((pt == 'E' || pt == 'S' || pt == 'O') && (t == 'E' || t == 'I')) return true;
    return t != 'O' && t != '.' && type_differs;
}

/* Checks the tags of one side (lengths given) and appends its entities to out. */
static bertc_status extract(size_t n, const char *const *const *tags, const size_t *len, int suffix,
                            const char *side, spans *out, bertc_error *err) {
    int32_t prev_tag = 'O';
    const char *prev_type = "";
    size_t prev_len = 0, begin = 0, i = 0;
    for (size_t s = 0; s <= n; s++) {
        size_t m = s < n ? len[s] + 1 : 1; /* each sentence + "O"; at the end one more "O" */
        if (s < n && len[s] && !tags[s])
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%ssentence %zu: NULL tags", side, s);
        for (size_t j = 0; j < m; j++, i++) {
            parsed p;
            if (s < n && j < len[s]) {
                const char *t = tags[s][j];
                if (!t)
                    return bertc_fail(err, BERTC_ERR_INVALID_ARG, "%ssentence %zu, token %zu: NULL tag", side, s, j);
                size_t tl = strlen(t);
                if (tl == 0)
                    return bertc_fail(err, BERTC_ERR_INPUT, "%ssentence %zu, token %zu: empty tag", side, s, j);
                if (utf8_validate(t, tl) != tl)
                    return bertc_fail(err, BERTC_ERR_INPUT, "%ssentence %zu, token %zu: tag is not valid UTF-8", side,
                                      s, j);
                p = parse_tag(t, tl, suffix);
            } else {
                p.tag = 'O', p.type = "_", p.type_len = 1;
            }
            bool differs = !same_type(prev_type, prev_len, p.type, p.type_len);
            if (end_of_chunk(prev_tag, p.tag, differs)) {
                span x = {prev_type, prev_len, begin, i - 1};
                if (!spans_push(out, x)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            }
            if (start_of_chunk(prev_tag, p.tag, differs)) begin = i;
            prev_tag = p.tag, prev_type = p.type, prev_len = p.type_len;
        }
    }
    return BERTC_OK;
}

static bertc_status check_args(size_t n, const char *const *const *tags, const size_t *len, const char *what,
                               bertc_error *err) {
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "no sentences to evaluate");
    if (!tags || !len) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL %s", what);
    return BERTC_OK;
}

static char *dup_n(const char *s, size_t n) {
    char *d = malloc(n + 1);
    if (d) memcpy(d, s, n), d[n] = 0;
    return d;
}

void bertc_seqeval_entities_free(bertc_seqeval_entity *e, size_t n) {
    if (!e) return;
    for (size_t i = 0; i < n; i++) free(e[i].type);
    free(e);
}

bertc_status bertc_seqeval_entities(size_t n, const char *const *const *tags, const size_t *len, int suffix,
                                    bertc_seqeval_entity **out, size_t *n_out, bertc_error *err) {
    if (!out || !n_out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL output");
    *out = NULL, *n_out = 0;
    bertc_status st = check_args(n, tags, len, "tags", err);
    if (st) return st;
    spans sp = {0};
    if ((st = extract(n, tags, len, suffix, "", &sp, err))) {
        free(sp.v);
        return st;
    }
    bertc_seqeval_entity *e = sp.n ? calloc(sp.n, sizeof *e) : NULL;
    if (sp.n && !e) {
        free(sp.v);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    for (size_t k = 0; k < sp.n; k++) {
        e[k].start = sp.v[k].start, e[k].end = sp.v[k].end;
        if (!(e[k].type = dup_n(sp.v[k].type, sp.v[k].type_len))) {
            bertc_seqeval_entities_free(e, k);
            free(sp.v);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
    }
    free(sp.v);
    *out = e, *n_out = sp.n;
    return BERTC_OK;
}

/* Python's str ordering: code points, i.e. UTF-8 bytes, a prefix first. */
static int cmp_type(const char *a, size_t al, const char *b, size_t bl) {
    int c = memcmp(a, b, al < bl ? al : bl);
    return c ? c : al < bl ? -1 : al > bl;
}

static int cmp_span(const void *pa, const void *pb) {
    const span *a = pa, *b = pb;
    int c = cmp_type(a->type, a->type_len, b->type, b->type_len);
    if (c) return c;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    return a->end < b->end ? -1 : a->end > b->end;
}

void bertc_seqeval_free(bertc_seqeval *s) {
    if (!s) return;
    for (size_t i = 0; i < s->n_types; i++) free((char *)s->types[i].type);
    free(s->types);
    free(s);
}

/* _prf_divide and the F-score of seqeval (beta = 1): ((1 + 1) * p * r) / (1 * p + r), denominator 0 -> 1. */
static void prf(bertc_seqeval_scores *x, double zd) {
    x->precision = x->predicted ? (double)x->correct / (double)x->predicted : zd;
    x->recall = x->support ? (double)x->correct / (double)x->support : zd;
    double denom = 1.0 * x->precision + x->recall;
    if (denom == 0) denom = 1;
    x->f1 = 2.0 * x->precision * x->recall / denom;
}

bertc_status bertc_seqeval_compute(size_t n, const char *const *const *gold, const size_t *gold_len,
                                   const char *const *const *pred, const size_t *pred_len,
                                   const bertc_seqeval_params *pp, bertc_seqeval **out, bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL output");
    *out = NULL;
    bertc_seqeval_params p = pp ? *pp : bertc_seqeval_default_params();
    if (p.zero_division != 0 && p.zero_division != 1)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "zero_division must be 0 or 1, not %d", p.zero_division);
    bertc_status st = check_args(n, gold, gold_len, "gold tags", err);
    if (!st) st = check_args(n, pred, pred_len, "predicted tags", err);
    if (st) return st;
    for (size_t s = 0; s < n; s++)
        if (gold_len[s] != pred_len[s])
            return bertc_fail(err, BERTC_ERR_INPUT, "sentence %zu: %zu gold tags but %zu predicted", s, gold_len[s],
                              pred_len[s]);
    spans g = {0}, q = {0};
    bertc_seqeval *r = NULL;
    if ((st = extract(n, gold, gold_len, p.suffix, "gold ", &g, err)) ||
        (st = extract(n, pred, pred_len, p.suffix, "predicted ", &q, err)))
        goto done;
    if (g.n > 1) qsort(g.v, g.n, sizeof *g.v, cmp_span);
    if (q.n > 1) qsort(q.v, q.n, sizeof *q.v, cmp_span);
    r = calloc(1, sizeof *r);
    /* at most g.n + q.n types */
    if (!r || !(r->types = calloc(g.n + q.n + 1, sizeof *r->types))) {
        st = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    /* Merge the two sorted lists: each type in order, its gold, predicted and common (start, end) pairs. */
    size_t a = 0, b = 0;
    while (a < g.n || b < q.n) {
        const span *lo = a < g.n && (b >= q.n || cmp_type(g.v[a].type, g.v[a].type_len, q.v[b].type,
                                                          q.v[b].type_len) <= 0)
                             ? &g.v[a]
                             : &q.v[b];
        const char *ty = lo->type;
        size_t tl = lo->type_len;
        bertc_seqeval_scores *x = &r->types[r->n_types];
        if (!(x->type = dup_n(ty, tl))) {
            st = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        r->n_types++;
        while (a < g.n || b < q.n) {
            bool ga = a < g.n && same_type(g.v[a].type, g.v[a].type_len, ty, tl);
            bool qb = b < q.n && same_type(q.v[b].type, q.v[b].type_len, ty, tl);
            if (!ga && !qb) break;
            int c = ga && qb ? cmp_span(&g.v[a], &q.v[b]) : ga ? -1 : 1;
            if (c <= 0) x->support++, a++;
            if (c >= 0) x->predicted++, b++;
            if (c == 0) x->correct++;
        }
    }
    double zd = p.zero_division;
    bertc_seqeval_scores *mi = &r->micro, *ma = &r->macro, *we = &r->weighted;
    double sp = 0, sr = 0, sf = 0, wp = 0, wr = 0, wf = 0;
    for (size_t k = 0; k < r->n_types; k++) {
        bertc_seqeval_scores *x = &r->types[k];
        prf(x, zd);
        mi->support += x->support, mi->predicted += x->predicted, mi->correct += x->correct;
        sp += x->precision, sr += x->recall, sf += x->f1;
        wp += x->precision * (double)x->support, wr += x->recall * (double)x->support;
        wf += x->f1 * (double)x->support;
    }
    prf(mi, zd);
    ma->support = we->support = mi->support;
    ma->predicted = we->predicted = mi->predicted;
    ma->correct = we->correct = mi->correct;
    double nt = (double)r->n_types;
    ma->precision = r->n_types ? sp / nt : NAN;
    ma->recall = r->n_types ? sr / nt : NAN;
    ma->f1 = r->n_types ? sf / nt : NAN;
    if (mi->support == 0) { /* seqeval's early return for weights summing to 0 */
        we->precision = we->f1 = mi->predicted == 0 ? zd : 0.0;
        we->recall = zd;
    } else {
        double w = (double)mi->support;
        we->precision = wp / w, we->recall = wr / w, we->f1 = wf / w;
    }
    *out = r;
    r = NULL;
done:
    bertc_seqeval_free(r);
    free(g.v);
    free(q.v);
    return st;
}
