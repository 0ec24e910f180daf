/*
 * squad.c — extractive QA scores as the official SQuAD scripts compute them: evaluate-v1.1.py (exact_match, f1)
 * and evaluate-v2.0.py without a na_prob file (exact, f1, total and the HasAns / NoAns split).
 *
 * normalize_answer is the same in both: s.lower(), then every character of string.punctuation removed, then
 * re.sub(r'\b(a|an|the)\b', ' ', ...), then ' '.join(text.split()). Done here with Python's definitions:
 *  - str.lower: the simple lowercase mappings (utf8proc_tolower), plus SpecialCasing's U+0130 -> "i\u0307" and
 *    the Final_Sigma rule CPython applies to U+03A3 (sigma after a cased letter, case-ignorables skipped, and
 *    not before one, gives U+03C2);
 *  - \b between a word character (str.isalnum: letters L*, numbers N*; '_' is punctuation and already gone) and
 *    anything else, so an article is a whole run of word characters equal to a, an or the;
 *  - str.split(): Python's whitespace (Unicode Zs, the ASCII and U+001C..U+001F separators, U+0085, U+2028,
 *    U+2029), not U+200B nor U+FEFF.
 *
 * The differences between the scripts, kept: v1.1 takes the gold answers as given (an answer that normalizes to
 * "" matches an empty prediction with EM 1 but F1 0) and needs at least one; v2.0 drops gold answers that
 * normalize to "", scores a question left with none against "" only, and gives F1 int(gold_toks == pred_toks)
 * when either side has no token. v2.0's HasAns is whether the question has answers at all (before that
 * filtering). Sums run in question order, as the scripts' loops and Python 3.11's sum() do.
 */
#include "bertc_eval.h"
#include "base/internal.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

typedef struct cps {
    int32_t *v;
    size_t n, cap;
} cps;

static bool cps_push(cps *c, int32_t x) {
    if (c->n == c->cap) {
        size_t cap = c->cap ? 2 * c->cap : 64;
        int32_t *nv = realloc(c->v, cap * sizeof *nv);
        if (!nv) return false;
        c->v = nv;
        c->cap = cap;
    }
    c->v[c->n++] = x;
    return true;
}

static bool is_py_space(int32_t c) {
    if (c == ' ' || (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x1F) || c == 0x85) return true;
    if (c < 0xA0) return false;
    return c == 0xA0 || c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 ||
           c == 0x202F || c == 0x205F || c == 0x3000;
}

static bool is_word(int32_t c) {
    if (c < 0x80) return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO: case UTF8PROC_CATEGORY_ND: case UTF8PROC_CATEGORY_NL: case UTF8PROC_CATEGORY_NO:
        return true;
    default:
        return false;
    }
}

/* string.punctuation */
static bool is_py_punct(int32_t c) {
    return c > 0x20 && c < 0x7F && strchr("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~", (int)c);
}

/* Case_Ignorable: Mn, Me, Cf, Lm, Sk and the Word_Break MidLetter, MidNumLet and Single_Quote characters. */
static bool case_ignorable(int32_t c) {
    switch (c) {
    case 0x27: case 0x2E: case 0x3A: case 0xB7: case 0x387: case 0x55F: case 0x5F4: case 0x2018: case 0x2019:
    case 0x2024: case 0x2027: case 0xFE13: case 0xFE52: case 0xFE55: case 0xFF07: case 0xFF0E: case 0xFF1A:
        return true;
    }
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_MN: case UTF8PROC_CATEGORY_ME: case UTF8PROC_CATEGORY_CF: case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_SK:
        return true;
    default:
        return false;
    }
}

/* Cased (Lu, Ll, Lt, Other_Lowercase, Other_Uppercase), for the characters that are not case-ignorable (the
 * Final_Sigma rule skips those first). */
static bool cased(int32_t c) {
    switch (utf8proc_category(c)) {
    case UTF8PROC_CATEGORY_LU: case UTF8PROC_CATEGORY_LL: case UTF8PROC_CATEGORY_LT:
        return true;
    default:
        return c == 0xAA || c == 0xBA || (c >= 0x2160 && c <= 0x217F) || (c >= 0x24B6 && c <= 0x24E9) ||
               (c >= 0x1F130 && c <= 0x1F149) || (c >= 0x1F150 && c <= 0x1F169) || (c >= 0x1F170 && c <= 0x1F189);
    }
}

static int32_t sigma(const int32_t *s, size_t n, size_t i) {
    size_t j = i;
    while (j > 0 && case_ignorable(s[j - 1])) j--;
    if (j == 0 || !cased(s[j - 1])) return 0x3C3;
    for (j = i + 1; j < n && case_ignorable(s[j]); j++) {
    }
    return j == n || !cased(s[j]) ? 0x3C2 : 0x3C3;
}

static bool is_article(const int32_t *w, size_t n) {
    return (n == 1 && w[0] == 'a') || (n == 2 && w[0] == 'a' && w[1] == 'n') ||
           (n == 3 && w[0] == 't' && w[1] == 'h' && w[2] == 'e');
}

/* normalize_answer into out (UTF-8, NUL-terminated); the text must be valid UTF-8. */
static bool normalize(const char *text, size_t len, char **out, size_t *out_len) {
    cps in = {0}, low = {0}, np = {0};
    char *o = NULL;
    bool ok = false;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        i += (size_t)utf8_decode((const unsigned char *)text + i, &cp);
        if (!cps_push(&in, cp)) goto done;
    }
    for (size_t i = 0; i < in.n; i++) { /* lower */
        int32_t c = in.v[i];
        if (c == 0x130) {
            if (!cps_push(&low, 'i') || !cps_push(&low, 0x307)) goto done;
            continue;
        }
        c = c == 0x3A3 ? sigma(in.v, in.n, i) : c < 0x80 ? (c >= 'A' && c <= 'Z' ? c + 32 : c) : utf8proc_tolower(c);
        if (!cps_push(&low, c)) goto done;
    }
    for (size_t i = 0; i < low.n; i++) /* remove_punc */
        if (!is_py_punct(low.v[i]) && !cps_push(&np, low.v[i])) goto done;
    /* remove_articles: a run of word characters equal to an article becomes one space */
    in.n = 0;
    for (size_t i = 0; i < np.n;) {
        if (!is_word(np.v[i])) {
            if (!cps_push(&in, np.v[i++])) goto done;
            continue;
        }
        size_t j = i;
        while (j < np.n && is_word(np.v[j])) j++;
        if (is_article(np.v + i, j - i)) {
            if (!cps_push(&in, ' ')) goto done;
        } else
            for (size_t k = i; k < j; k++)
                if (!cps_push(&in, np.v[k])) goto done;
        i = j;
    }
    /* white_space_fix */
    o = malloc(in.n * 4 + 1);
    if (!o) goto done;
    size_t w = 0;
    bool pending = false;
    for (size_t i = 0; i < in.n; i++) {
        if (is_py_space(in.v[i])) {
            pending = w > 0;
            continue;
        }
        if (pending) o[w++] = ' ', pending = false;
        w += (size_t)utf8_encode(in.v[i], o + w);
    }
    o[w] = 0;
    *out = o, *out_len = w;
    o = NULL;
    ok = true;
done:
    free(o);
    free(in.v), free(low.v), free(np.v);
    return ok;
}

bertc_status bertc_squad_normalize(const char *s, size_t len, char **out, size_t *out_len, bertc_error *err) {
    if (!out || (!s && len)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL argument");
    *out = NULL;
    if (!s) s = "";
    if (utf8_validate(s, len) != len) return bertc_fail(err, BERTC_ERR_INPUT, "text is not valid UTF-8");
    size_t l;
    if (!normalize(s, len, out, &l)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (out_len) *out_len = l;
    return BERTC_OK;
}

/* A normalized answer and its tokens (split on ' '), sorted for the multiset intersection. */
typedef struct answer {
    char *norm;
    size_t len;
    char **tok;
    size_t n_tok;
} answer;

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

static void answer_free(answer *a) {
    free(a->norm);
    free(a->tok);
}

static bertc_status answer_make(const char *text, answer *a, size_t q, const char *what, bertc_error *err) {
    memset(a, 0, sizeof *a);
    if (!text) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "question %zu: NULL %s", q, what);
    size_t len = strlen(text);
    if (utf8_validate(text, len) != len)
        return bertc_fail(err, BERTC_ERR_INPUT, "question %zu: %s is not valid UTF-8", q, what);
    if (!normalize(text, len, &a->norm, &a->len)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    /* tokens: a copy of the text with the spaces turned into NULs; the copy follows the normalized string */
    char *buf = realloc(a->norm, 2 * a->len + 2);
    if (!buf) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    a->norm = buf;
    char *t = buf + a->len + 1;
    memcpy(t, buf, a->len + 1);
    size_t n = 0;
    for (size_t i = 0; i < a->len; i++) n += t[i] == ' ';
    if (a->len) n++;
    a->tok = malloc((n ? n : 1) * sizeof *a->tok);
    if (!a->tok) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (a->len) {
        a->tok[a->n_tok++] = t;
        for (size_t i = 0; i < a->len; i++)
            if (t[i] == ' ') t[i] = 0, a->tok[a->n_tok++] = t + i + 1;
    }
    if (a->n_tok > 1) qsort(a->tok, a->n_tok, sizeof *a->tok, cmp_str);
    return BERTC_OK;
}

static size_t common_tokens(const answer *x, const answer *y) {
    size_t i = 0, j = 0, c = 0;
    while (i < x->n_tok && j < y->n_tok) {
        int d = strcmp(x->tok[i], y->tok[j]);
        if (d == 0) c++, i++, j++;
        else if (d < 0) i++;
        else j++;
    }
    return c;
}

/* f1_score of v1.1 and compute_f1 of v2.0 (gold, pred). */
static double f1_of(const answer *gold, const answer *pred, bertc_squad_version v) {
    if (v == BERTC_SQUAD_V2 && (gold->n_tok == 0 || pred->n_tok == 0))
        return gold->n_tok == pred->n_tok; /* both empty lists */
    size_t same = common_tokens(gold, pred);
    if (same == 0) return 0;
    double precision = 1.0 * (double)same / (double)pred->n_tok;
    double recall = 1.0 * (double)same / (double)gold->n_tok;
    return 2 * precision * recall / (precision + recall);
}

void bertc_squad_free(bertc_squad *s) {
    if (!s) return;
    free(s->question_exact);
    free(s->question_f1);
    free(s);
}

bertc_status bertc_squad_compute(bertc_squad_version v, const bertc_squad_question *q, size_t n, bertc_squad **out,
                                 bertc_error *err) {
    if (!out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL output");
    *out = NULL;
    if (v != BERTC_SQUAD_V1 && v != BERTC_SQUAD_V2)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "unknown SQuAD version %d", (int)v);
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "no questions to evaluate");
    if (!q) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "NULL questions");
    bertc_squad *r = calloc(1, sizeof *r);
    if (!r || !(r->question_exact = calloc(n, sizeof *r->question_exact)) ||
        !(r->question_f1 = calloc(n, sizeof *r->question_f1))) {
        bertc_squad_free(r);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    r->version = v;
    r->total = n;
    bertc_status st = BERTC_OK;
    double em_sum = 0, f1_sum = 0, has_em = 0, has_f1 = 0, no_em = 0, no_f1 = 0;
    answer empty = {0};
    for (size_t i = 0; i < n && !st; i++) {
        if (v == BERTC_SQUAD_V1 && q[i].n_answers == 0) {
            st = bertc_fail(err, BERTC_ERR_INPUT, "question %zu has no answers (SQuAD v1.1 needs at least one)", i);
            break;
        }
        if (q[i].n_answers && !q[i].answers) {
            st = bertc_fail(err, BERTC_ERR_INVALID_ARG, "question %zu: NULL answers", i);
            break;
        }
        answer pred;
        if ((st = answer_make(q[i].prediction, &pred, i, "prediction", err))) {
            answer_free(&pred);
            break;
        }
        double em = 0, f1 = 0;
        size_t used = 0;
        for (size_t k = 0; k < q[i].n_answers; k++) {
            answer g;
            if ((st = answer_make(q[i].answers[k], &g, i, "answer", err))) {
                answer_free(&g);
                break;
            }
            if (v == BERTC_SQUAD_V2 && g.len == 0) { /* gold_answers keeps those that normalize to something */
                answer_free(&g);
                continue;
            }
            double e = g.len == pred.len && !memcmp(g.norm, pred.norm, g.len), f = f1_of(&g, &pred, v);
            if (used++ == 0) em = e, f1 = f; /* max over the gold answers */
            else em = e > em ? e : em, f1 = f > f1 ? f : f1;
            answer_free(&g);
        }
        if (!st && v == BERTC_SQUAD_V2 && used == 0) { /* unanswerable: the only correct answer is "" */
            em = pred.len == 0;
            f1 = f1_of(&empty, &pred, v);
        }
        answer_free(&pred);
        if (st) break;
        r->question_exact[i] = em, r->question_f1[i] = f1;
        em_sum += em, f1_sum += f1;
        if (q[i].n_answers) has_em += em, has_f1 += f1, r->has_ans_total++;
        else no_em += em, no_f1 += f1, r->no_ans_total++;
    }
    if (st) {
        bertc_squad_free(r);
        return st;
    }
    r->exact = 100.0 * em_sum / (double)n;
    r->f1 = 100.0 * f1_sum / (double)n;
    r->has_ans_exact = r->has_ans_f1 = r->no_ans_exact = r->no_ans_f1 = NAN;
    if (v == BERTC_SQUAD_V1) r->has_ans_total = r->no_ans_total = 0;
    else {
        if (r->has_ans_total) {
            r->has_ans_exact = 100.0 * has_em / (double)r->has_ans_total;
            r->has_ans_f1 = 100.0 * has_f1 / (double)r->has_ans_total;
        }
        if (r->no_ans_total) {
            r->no_ans_exact = 100.0 * no_em / (double)r->no_ans_total;
            r->no_ans_f1 = 100.0 * no_f1 / (double)r->no_ans_total;
        }
    }
    *out = r;
    return BERTC_OK;
}
