/*
 * leakage.c — test examples that also appear in train, exactly or after normalization (NFKC, case folding,
 * punctuation dropped, whitespace collapsed): "Great movie!" and "great  movie" are the same review.
 */
#include "bertc_data.h"
#include "base/internal.h"

#include <stdlib.h>
#include <string.h>
#include <utf8proc.h>

/* Normalized key of text (+ pair) into a malloc'ed buffer; NULL on OOM. */
static char *normalize(const bertc_example *e, size_t *out_len) {
    size_t cap = (e->len + e->pair_len) * 4 + 8, o = 0;
    char *buf = malloc(cap);
    if (!buf) return NULL;
    for (int part = 0; part < 2; part++) {
        const char *s = part ? e->pair : e->text;
        size_t len = part ? e->pair_len : e->len;
        if (part && !s) break;
        if (part) buf[o++] = '\x1f';
        utf8proc_uint8_t *mapped = NULL;
        utf8proc_ssize_t ml = utf8proc_map((const utf8proc_uint8_t *)s, (utf8proc_ssize_t)len, &mapped,
                                           UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_CASEFOLD | UTF8PROC_STABLE);
        if (ml < 0) { /* invalid UTF-8 cannot reach here (datasets are validated); keep the bytes */
            memcpy(buf + o, s, len);
            o += len;
            continue;
        }
        int space = 1; /* drop leading whitespace */
        for (utf8proc_ssize_t i = 0; i < ml;) {
            utf8proc_int32_t cp;
            utf8proc_ssize_t k = utf8proc_iterate(mapped + i, ml - i, &cp);
            if (k <= 0) break;
            i += k;
            utf8proc_category_t c = utf8proc_category(cp);
            if (c >= UTF8PROC_CATEGORY_PC && c <= UTF8PROC_CATEGORY_PO) continue; /* punctuation */
            if (c == UTF8PROC_CATEGORY_ZS || c == UTF8PROC_CATEGORY_ZL || c == UTF8PROC_CATEGORY_ZP ||
                c == UTF8PROC_CATEGORY_CC) {
                if (!space) buf[o++] = ' ';
                space = 1;
                continue;
            }
            if (o + 8 > cap) { /* compatibility mappings can grow text */
                char *nb = realloc(buf, cap * 2);
                if (!nb) {
                    free(buf), free(mapped);
                    return NULL;
                }
                buf = nb;
                cap *= 2;
            }
            o += (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)buf + o);
            space = 0;
        }
        while (o > 0 && buf[o - 1] == ' ') o--;
        free(mapped);
        if (o + 8 > cap) {
            char *nb = realloc(buf, cap * 2);
            if (!nb) {
                free(buf);
                return NULL;
            }
            buf = nb;
            cap *= 2;
        }
    }
    *out_len = o;
    return buf;
}

static char *exact_key(const bertc_example *e, size_t *len) {
    size_t n = e->len + (e->pair ? e->pair_len + 1 : 0);
    char *k = malloc(n + 1);
    if (!k) return NULL;
    memcpy(k, e->text, e->len);
    if (e->pair) {
        k[e->len] = '\x1f';
        memcpy(k + e->len + 1, e->pair, e->pair_len);
    }
    *len = n;
    return k;
}

bertc_status bertc_find_leakage(const bertc_dataset *train, const bertc_dataset *test, unsigned char *flags,
                                size_t *n_exact, size_t *n_normalized, bertc_error *err) {
    strmap ex, nz;
    *n_exact = *n_normalized = 0;
    if (!strmap_init(&ex, (uint32_t)train->n) || !strmap_init(&nz, (uint32_t)train->n)) {
        strmap_free(&ex);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    bertc_status s = BERTC_OK;
    for (size_t i = 0; i < train->n && !s; i++) {
        size_t l1, l2;
        char *a = exact_key(&train->ex[i], &l1), *b = normalize(&train->ex[i], &l2);
        if (!a || !b || !strmap_put(&ex, a, l1, 1) || !strmap_put(&nz, b, l2, 1))
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        free(a), free(b);
    }
    for (size_t i = 0; i < test->n && !s; i++) {
        size_t l1, l2;
        char *a = exact_key(&test->ex[i], &l1), *b = normalize(&test->ex[i], &l2);
        if (!a || !b) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        else if (strmap_get(&ex, a, l1) >= 0) flags[i] = 1, ++*n_exact;
        else if (strmap_get(&nz, b, l2) >= 0) flags[i] = 2, ++*n_normalized;
        else flags[i] = 0;
        free(a), free(b);
    }
    strmap_free(&ex);
    strmap_free(&nz);
    return s;
}
