/*
 * decode.c — ids back to text as tokenizers' Tokenizer::decode does it: each id's token (an added token's
 * content first), special ones left out when asked, then the decoder's chain over the list of token strings
 * (tokenizers/src/decoders: WordPiece, ByteLevel, Metaspace, BPEDecoder, Replace, Fuse, Strip, ByteFallback, Sequence),
 * then the pieces joined; without a decoder the tokens are joined by spaces.
 */
#include "tokenizer.h"
#include "unicode.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct strlist {
    char **s;
    size_t *len;
    size_t n, cap;
} strlist;

static bool sl_push(strlist *l, const char *s, size_t len) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 32;
        char **a = realloc(l->s, nc * sizeof *a);
        if (!a) return false;
        l->s = a;
        size_t *b = realloc(l->len, nc * sizeof *b);
        if (!b) return false;
        l->len = b;
        l->cap = nc;
    }
    char *c = malloc(len + 1);
    if (!c) return false;
    memcpy(c, s, len);
    c[len] = 0;
    l->s[l->n] = c;
    l->len[l->n] = len;
    l->n++;
    return true;
}

static void sl_free(strlist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
    free(l->len);
    memset(l, 0, sizeof *l);
}

/* A growing byte buffer. */
typedef struct sbuf {
    char *p;
    size_t n, cap;
    bool oom;
} sbuf;

static void sb_add(sbuf *b, const void *s, size_t len) {
    if (b->oom) return;
    if (b->n + len + 1 > b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 64;
        while (nc < b->n + len + 1) nc *= 2;
        char *x = realloc(b->p, nc);
        if (!x) {
            b->oom = true;
            return;
        }
        b->p = x;
        b->cap = nc;
    }
    memcpy(b->p + b->n, s, len);
    b->n += len;
    b->p[b->n] = 0;
}

/* Replaces token i of l by the buffer's bytes (taking them). */
static bool sl_set(strlist *l, size_t i, sbuf *b) {
    if (b->oom) return false;
    if (!b->p) sb_add(b, "", 0);
    if (b->oom) return false;
    free(l->s[i]);
    l->s[i] = b->p;
    l->len[i] = b->n;
    memset(b, 0, sizeof *b);
    return true;
}

/* GPT-2's bytes_to_unicode, inverted: the byte of a byte-level code point, or -1. */
static int byte_of_cp(int32_t cp) {
    if ((cp >= 33 && cp <= 126) || (cp >= 161 && cp <= 172) || (cp >= 174 && cp <= 255)) return (int)cp;
    if (cp < 256 || cp > 323) return -1;
    int n = 0;
    for (int b = 0; b < 256; b++) {
        if ((b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255)) continue;
        if (256 + n == cp) return b;
        n++;
    }
    return -1;
}

/* Rust's String::from_utf8_lossy: each maximal invalid prefix becomes U+FFFD. */
static void lossy(sbuf *out, const char *s, size_t n) {
    size_t k = 0;
    while (k < n) {
        size_t v = utf8_validate(s + k, n - k);
        sb_add(out, s + k, v);
        k += v;
        if (k >= n) break;
        sb_add(out, "\xEF\xBF\xBD", 3);
        /* the invalid sequence: a lead byte and the continuation bytes it can take */
        unsigned char c = (unsigned char)s[k];
        size_t need = c >= 0xF0 && c <= 0xF4 ? 3 : c >= 0xE0 && c <= 0xEF ? 2 : c >= 0xC2 && c <= 0xDF ? 1 : 0;
        k++;
        for (size_t q = 0; q < need && k < n && ((unsigned char)s[k] & 0xC0) == 0x80; q++) {
            /* the second byte's range limits of E0, ED, F0, F4 */
            unsigned char d = (unsigned char)s[k];
            if (q == 0 && ((c == 0xE0 && d < 0xA0) || (c == 0xED && d > 0x9F) || (c == 0xF0 && d < 0x90) ||
                           (c == 0xF4 && d > 0x8F)))
                break;
            k++;
        }
    }
}

static bool replace_all(sbuf *b, const char *s, size_t n, const char *from, const char *to) {
    size_t fl = strlen(from), tl = strlen(to);
    for (size_t k = 0; k < n;) {
        if (k + fl <= n && !memcmp(s + k, from, fl)) {
            sb_add(b, to, tl);
            k += fl;
        } else {
            sb_add(b, s + k, 1);
            k++;
        }
    }
    return !b->oom;
}

/* decoders/wordpiece.rs cleanup, on one token */
static bool wp_cleanup(strlist *l, size_t i) {
    static const char *const from[] = {" .", " ?", " !", " ,", " ' ", " n't", " 'm", " do not", " 's", " 've", " 're"};
    static const char *const to[] = {".", "?", "!", ",", "'", "n't", "'m", " don't", "'s", "'ve", "'re"};
    for (size_t r = 0; r < sizeof from / sizeof from[0]; r++) {
        if (!strstr(l->s[i], from[r])) continue;
        sbuf b = {0};
        if (!replace_all(&b, l->s[i], l->len[i], from[r], to[r]) || !sl_set(l, i, &b)) return false;
    }
    return true;
}

static bertc_status run_decoder(const bertc_tokenizer *t, const dec_op *d, strlist *l, bertc_error *err) {
    bool ok = true;
    switch (d->kind) {
    case DEC_WORDPIECE:
        for (size_t i = 0; i < l->n && ok; i++) {
            size_t pl = strlen(d->str);
            if (i != 0) {
                sbuf b = {0};
                if (pl && l->len[i] >= pl && !memcmp(l->s[i], d->str, pl)) sb_add(&b, l->s[i] + pl, l->len[i] - pl);
                else {
                    sb_add(&b, " ", 1);
                    sb_add(&b, l->s[i], l->len[i]);
                }
                ok = sl_set(l, i, &b);
            }
            if (ok && d->cleanup) ok = wp_cleanup(l, i);
        }
        break;
    case DEC_BYTELEVEL: {
        sbuf raw = {0}, txt = {0};
        for (size_t i = 0; i < l->n; i++) {
            /* a token with a character outside the byte alphabet is taken as it is written */
            size_t start = raw.n;
            bool all = true;
            for (size_t k = 0; k < l->len[i] && all;) {
                int32_t cp;
                k += (size_t)utf8_decode((const unsigned char *)l->s[i] + k, &cp);
                int b = byte_of_cp(cp);
                if (b < 0) all = false;
                else {
                    unsigned char c = (unsigned char)b;
                    sb_add(&raw, &c, 1);
                }
            }
            if (!all) {
                raw.n = start;
                sb_add(&raw, l->s[i], l->len[i]);
            }
        }
        if (!raw.oom) lossy(&txt, raw.p ? raw.p : "", raw.n);
        free(raw.p);
        for (size_t i = 0; i < l->n; i++) free(l->s[i]);
        l->n = 0;
        ok = !raw.oom && !txt.oom && sl_push(l, txt.p ? txt.p : "", txt.n);
        free(txt.p);
        break;
    }
    case DEC_METASPACE:
        for (size_t i = 0; i < l->n && ok; i++) {
            sbuf b = {0};
            for (size_t k = 0; k < l->len[i];) {
                int32_t cp;
                int cl = utf8_decode((const unsigned char *)l->s[i] + k, &cp);
                if (cp == d->repl) {
                    if (!(i == 0 && d->prepend != 0)) sb_add(&b, " ", 1);
                } else {
                    sb_add(&b, l->s[i] + k, (size_t)cl);
                }
                k += (size_t)cl;
            }
            ok = sl_set(l, i, &b);
        }
        break;
    case DEC_BPE_SUFFIX:
        for (size_t i = 0; i < l->n && ok; i++) {
            sbuf b = {0};
            ok = replace_all(&b, l->s[i], l->len[i], d->str, i + 1 == l->n ? "" : " ") && sl_set(l, i, &b);
        }
        break;
    case DEC_REPLACE:
        for (size_t i = 0; i < l->n && ok; i++) {
            /* the token's code points, the pattern's matches, the content in their place */
            size_t nc = 0;
            int32_t *cp = malloc((l->len[i] + 1) * sizeof *cp);
            size_t *bo = malloc((l->len[i] + 2) * sizeof *bo);
            match_list m = {0};
            if (!cp || !bo) ok = false;
            for (size_t k = 0; ok && k < l->len[i];) {
                bo[nc] = k;
                k += (size_t)utf8_decode((const unsigned char *)l->s[i] + k, &cp[nc]);
                nc++;
            }
            if (ok) bo[nc] = l->len[i];
            const char *why = NULL;
            if (ok && !tregex_find_all(d->re, cp, nc, ml_emit, &m, &why)) {
                free(cp);
                free(bo);
                free(m.a);
                return bertc_fail(err, strcmp(why, "out of memory") ? BERTC_ERR_INPUT : BERTC_ERR_NOMEM,
                                  "tokenizer: Replace decoder: %s", why);
            }
            sbuf b = {0};
            size_t last = 0;
            for (size_t q = 0; ok && q < m.n; q += 2) {
                sb_add(&b, l->s[i] + bo[last], bo[m.a[q]] - bo[last]);
                sb_add(&b, d->content, strlen(d->content));
                last = m.a[q + 1];
            }
            if (ok) {
                sb_add(&b, l->s[i] + bo[last], l->len[i] - bo[last]);
                ok = sl_set(l, i, &b);
            } else {
                free(b.p);
            }
            free(cp);
            free(bo);
            free(m.a);
        }
        break;
    case DEC_FUSE: {
        sbuf b = {0};
        for (size_t i = 0; i < l->n; i++) sb_add(&b, l->s[i], l->len[i]);
        for (size_t i = 0; i < l->n; i++) free(l->s[i]);
        l->n = 0;
        ok = !b.oom && sl_push(l, b.p ? b.p : "", b.n);
        free(b.p);
        break;
    }
    case DEC_STRIP:
        for (size_t i = 0; i < l->n && ok; i++) {
            size_t nch = 0;
            for (size_t k = 0; k < l->len[i]; k++) nch += ((unsigned char)l->s[i][k] & 0xC0) != 0x80;
            /* character boundaries */
            size_t *bo = malloc((nch + 1) * sizeof *bo);
            int32_t *cp = malloc((nch + 1) * sizeof *cp);
            if (!bo || !cp) {
                free(bo);
                free(cp);
                ok = false;
                break;
            }
            size_t c = 0;
            for (size_t k = 0; k < l->len[i]; c++) {
                bo[c] = k;
                k += (size_t)utf8_decode((const unsigned char *)l->s[i] + k, &cp[c]);
            }
            bo[nch] = l->len[i];
            size_t sc = 0, ec = nch;
            for (size_t q = 0; q < nch && q < (size_t)d->start && cp[q] == d->repl; q++) sc = q + 1;
            for (size_t q = 0; q < (size_t)d->stop && q < nch; q++) {
                size_t idx = nch - q - 1;
                if (cp[idx] != d->repl) break;
                ec = idx;
            }
            sbuf b = {0};
            if (sc < ec) sb_add(&b, l->s[i] + bo[sc], bo[ec] - bo[sc]);
            ok = sl_set(l, i, &b);
            free(bo);
            free(cp);
        }
        break;
    case DEC_BYTEFALLBACK: {
        strlist nl = {0};
        sbuf pend = {0};
        size_t np = 0;
        for (size_t i = 0; i <= l->n && ok; i++) {
            int byte = -1;
            if (i < l->n && l->len[i] == 6 && !memcmp(l->s[i], "<0x", 3) && l->s[i][5] == '>') {
                unsigned v;
                char hex[3] = {l->s[i][3], l->s[i][4], 0};
                char *end;
                v = (unsigned)strtoul(hex, &end, 16);
                if (*end == 0 && hex[0] != '+' && hex[0] != '-' && hex[0] != ' ') byte = (int)v;
            }
            if (byte >= 0) {
                unsigned char c = (unsigned char)byte;
                sb_add(&pend, &c, 1);
                np++;
                continue;
            }
            if (np) {
                if (pend.oom) ok = false; /* out of memory: never the replacement characters of a bad sequence */
                else if (utf8_validate(pend.p, pend.n) == pend.n) ok = sl_push(&nl, pend.p, pend.n);
                else
                    for (size_t q = 0; q < np && ok; q++) ok = sl_push(&nl, "\xEF\xBF\xBD", 3);
                pend.n = 0;
                np = 0;
            }
            if (i < l->n && ok) ok = sl_push(&nl, l->s[i], l->len[i]);
        }
        free(pend.p);
        sl_free(l);
        *l = nl;
        break;
    }
    }
    (void)t;
    return ok ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
}

static bertc_status decoder_check(const bertc_tokenizer *t, bertc_error *err) {
    if (t->dec_unsupported[0])
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: decoder %s is not supported (supported: WordPiece, "
                          "ByteLevel, Metaspace, BPEDecoder, Replace, Fuse, Strip, ByteFallback, Sequence)",
                          t->dec_unsupported);
    return BERTC_OK;
}

/* Runs the decoder chain over l (consumed) into *out. */
static bertc_status decode_list(const bertc_tokenizer *t, strlist *l, char **out, size_t *out_len, bertc_error *err) {
    bertc_status s = BERTC_OK;
    for (int k = 0; k < t->n_dec && !s && l->n; k++) s = run_decoder(t, &t->dec[k], l, err);
    sbuf b = {0};
    for (size_t i = 0; i < l->n && !s; i++) {
        if (i && !t->n_dec) sb_add(&b, " ", 1);
        sb_add(&b, l->s[i], l->len[i]);
    }
    sl_free(l);
    if (!s && !b.p) sb_add(&b, "", 0);
    if (!s && b.oom) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    if (s) {
        free(b.p);
        return s;
    }
    *out = b.p;
    if (out_len) *out_len = b.n;
    return BERTC_OK;
}

bertc_status tokenizer_decode_tokens(const bertc_tokenizer *t, const char *const *toks, const size_t *lens, size_t n,
                                     char **out, size_t *out_len, bertc_error *err) {
    bertc_status s = decoder_check(t, err);
    if (s) return s;
    strlist l = {0};
    for (size_t i = 0; i < n; i++)
        if (!sl_push(&l, toks[i], lens[i])) {
            sl_free(&l);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
    return decode_list(t, &l, out, out_len, err);
}

bertc_status bertc_decode(const bertc_tokenizer *t, const int32_t *ids, size_t n, int skip_special, char **out,
                          size_t *out_len, bertc_error *err) {
    if (!t || (!ids && n) || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_decode: NULL argument");
    bertc_status s = decoder_check(t, err);
    if (s) return s;
    strlist l = {0};
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= t->vocab_size || !t->id_to_tok[ids[i]]) {
            sl_free(&l);
            return bertc_fail(err, BERTC_ERR_INPUT, "token id %d is not in the vocabulary (%d)", ids[i], t->vocab_size);
        }
        if (skip_special && (t->tok_flags[ids[i]] & 2)) continue;
        const char *tok = t->id_to_tok[ids[i]];
        if (!sl_push(&l, tok, strlen(tok))) {
            sl_free(&l);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
    }
    return decode_list(t, &l, out, out_len, err);
}
