/*
 * pipeline.c — the rest of tokenizer.json, for checkpoints whose tokenizer is not one of the two shapes encode.c
 * runs directly (BertNormalizer + BertPreTokenizer + WordPiece, ByteLevel + BPE):
 *   normalizers: BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, Nmt,
 *                Precompiled (SentencePiece's charsmap), Sequence;
 *   pre-tokenizers: BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace, Punctuation, Digits,
 *                   Split, CharDelimiterSplit, Sequence;
 *   model: Unigram (WordPiece and BPE run in encode.c on the pieces made here).
 * Every step keeps tokenizers' alignments (NormalizedString::transform: a character tagged "first" takes the
 * alignment of the next source character, an "added" one that of the source character before it), so offsets
 * come out as tokenizers reports them.
 */
#include "tokenizer.h"
#include "base/json.h"
#include "unicode.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ---- normalized strings ---- */

bool nb_push(nbuf *b, int32_t c, int32_t os, int32_t oe) {
    if (b->n == b->cap) {
        size_t nc = b->cap ? b->cap * 2 : 256;
        int32_t *x = realloc(b->cp, nc * sizeof *x);
        if (!x) return false;
        b->cp = x;
        x = realloc(b->os, nc * sizeof *x);
        if (!x) return false;
        b->os = x;
        x = realloc(b->oe, nc * sizeof *x);
        if (!x) return false;
        b->oe = x;
        b->cap = nc;
    }
    b->cp[b->n] = c;
    b->os[b->n] = os;
    b->oe[b->n] = oe;
    b->n++;
    return true;
}

void nb_free(nbuf *b) {
    free(b->cp);
    free(b->os);
    free(b->oe);
    memset(b, 0, sizeof *b);
}

/* A transformation stream: characters with tokenizers' change values (0 replaces the next source character,
 * > 0 is added, < 0 replaces one and removes that many more). */
typedef struct chstream {
    int32_t *cp, *chg;
    size_t n, cap;
} chstream;

static bool cs_push(chstream *s, int32_t c, int32_t chg) {
    if (s->n == s->cap) {
        size_t nc = s->cap ? s->cap * 2 : 256;
        int32_t *x = realloc(s->cp, nc * sizeof *x);
        if (!x) return false;
        s->cp = x;
        x = realloc(s->chg, nc * sizeof *x);
        if (!x) return false;
        s->chg = x;
        s->cap = nc;
    }
    s->cp[s->n] = c;
    s->chg[s->n] = chg;
    s->n++;
    return true;
}

static void cs_free(chstream *s) {
    free(s->cp);
    free(s->chg);
}

/* NormalizedString::transform of src by the stream into dst. */
static bool nb_apply(const nbuf *src, const chstream *st, nbuf *dst, int32_t seg) {
    dst->n = 0;
    size_t ptr = 0;
    for (size_t i = 0; i < st->n; i++) {
        int32_t os, oe, ch = st->chg[i];
        if (ch > 0) {
            if (ptr) {
                os = src->os[ptr - 1];
                oe = src->oe[ptr - 1];
            } else {
                os = oe = seg;
            }
        } else {
            size_t q = ptr < src->n ? ptr : (src->n ? src->n - 1 : 0);
            os = src->n ? src->os[q] : seg;
            oe = src->n ? src->oe[q] : seg;
            ptr += 1 + (size_t)(-ch);
        }
        if (!nb_push(dst, st->cp[i], os, oe)) return false;
    }
    return true;
}

/* unicode-normalization-alignments' decomposition stream of src: each decomposition's first character 0, the
 * rest 1, marks in canonical order (a stable sort by class between starters). */
static bool decompose_stream(const nbuf *src, int compat, chstream *out) {
    out->n = 0;
    size_t ready = 0;
    int32_t *cls = NULL;
    size_t ccap = 0;
    for (size_t j = 0; j < src->n; j++) {
        int32_t d[UNI_MAX_DECOMP];
        int k = uni_decompose(src->cp[j], compat, d);
        for (int i = 0; i < k; i++) {
            int cc = uni_ccc(d[i]);
            if (cc == 0) ready = out->n;
            if (!cs_push(out, d[i], i > 0)) goto oom;
            if (out->n > ccap) {
                size_t nc = out->cap;
                int32_t *x = realloc(cls, nc * sizeof *x);
                if (!x) goto oom;
                cls = x;
                ccap = nc;
            }
            cls[out->n - 1] = cc;
            for (size_t p = out->n - 1; p > ready && cls[p - 1] > cc; p--) {
                int32_t t0 = out->cp[p - 1], t1 = out->chg[p - 1], t2 = cls[p - 1];
                out->cp[p - 1] = out->cp[p];
                out->chg[p - 1] = out->chg[p];
                cls[p - 1] = cls[p];
                out->cp[p] = t0;
                out->chg[p] = t1;
                cls[p] = t2;
            }
        }
    }
    free(cls);
    return true;
oom:
    free(cls);
    return false;
}

/* unicode-normalization-alignments' Recompositions over a decomposition stream, change values carried as it
 * carries them (a composed pair: first + second - 1). */
static bool recompose_stream(const chstream *in, chstream *out) {
    out->n = 0;
    bool have = false;
    int32_t kc = 0, kch = 0;
    int last_ccc = -1;
    chstream buf = {0};
    bool ok = true;
    for (size_t i = 0; i < in->n && ok; i++) {
        int32_t ch = in->cp[i], change = in->chg[i];
        int cls = uni_ccc(ch);
        if (!have) {
            if (cls != 0) {
                ok = cs_push(out, ch, change);
                continue;
            }
            have = true;
            kc = ch;
            kch = change;
            continue;
        }
        if (last_ccc < 0) {
            int32_t r = uni_compose(kc, ch);
            if (r >= 0) {
                kc = r;
                kch = kch + change - 1;
                continue;
            }
            if (cls == 0) {
                ok = cs_push(out, kc, kch);
                kc = ch;
                kch = change;
                continue;
            }
            ok = cs_push(&buf, ch, change);
            last_ccc = cls;
        } else {
            if (last_ccc >= cls) {
                if (cls == 0) {
                    ok = cs_push(out, kc, kch);
                    for (size_t b = 0; b < buf.n && ok; b++) ok = cs_push(out, buf.cp[b], buf.chg[b]);
                    buf.n = 0;
                    kc = ch;
                    kch = change;
                    last_ccc = -1;
                    continue;
                }
                ok = cs_push(&buf, ch, change);
                last_ccc = cls;
                continue;
            }
            int32_t r = uni_compose(kc, ch);
            if (r >= 0) {
                kc = r;
                kch = kch + change - 1;
                continue;
            }
            ok = cs_push(&buf, ch, change);
            last_ccc = cls;
        }
    }
    if (ok && have) ok = cs_push(out, kc, kch);
    for (size_t b = 0; b < buf.n && ok; b++) ok = cs_push(out, buf.cp[b], buf.chg[b]);
    cs_free(&buf);
    return ok;
}

/* ---- SentencePiece's precompiled charsmap (spm_precompiled) ---- */

static bool pc_transform(const norm_op *op, const unsigned char *key, size_t klen, const char **norm, size_t *nlen) {
    const uint32_t *a = op->pc_trie;
    size_t na = op->pc_units, pos = 0;
    if (!na) return false;
    uint32_t unit = a[0];
    pos ^= (size_t)(unit >> 10) << ((unit & (1u << 9)) >> 6);
    for (size_t i = 0; i < klen; i++) {
        unsigned char c = key[i];
        if (c == 0) break;
        pos ^= c;
        if (pos >= na) return false;
        unit = a[pos];
        if ((unit & ((1u << 31) | 0xFFu)) != c) return false;
        pos ^= (size_t)(unit >> 10) << ((unit & (1u << 9)) >> 6);
        if ((unit >> 8) & 1) {
            if (pos >= na) return false;
            size_t v = a[pos] & ((1u << 31) - 1), e = v;
            if (v > op->pc_norm_len) return false;
            while (e < op->pc_norm_len && op->pc_norm[e]) e++;
            *norm = op->pc_norm + v;
            *nlen = e - v;
            return true; /* the first (shortest) match, as spm_precompiled takes results[0] */
        }
    }
    return false;
}

/* unicode-segmentation's extended grapheme clusters: is there a boundary between cps[i-1] and cps[i]?
 * ri: regional indicators before i in the current run; st: state for GB9c and GB11. */
typedef struct gstate {
    int ri;            /* regional indicators in a row ending at i-1 */
    bool pict_zwj;     /* ExtPict Extend* ZWJ ends at i-1 */
    bool pict_ext;     /* ExtPict Extend* ends at i-1 */
    int incb;          /* 0 none, 1 Consonant [Extend]* , 2 Consonant [Extend|Linker]* Linker [Extend|Linker]* */
} gstate;

static void gs_step(gstate *g, unsigned p) {
    unsigned c = UP_GCB(p);
    g->ri = c == GC_RI ? g->ri + 1 : 0;
    if (c == GC_EXTPICT) {
        g->pict_ext = true;
        g->pict_zwj = false;
    } else if (c == GC_EXTEND && g->pict_ext) {
        g->pict_zwj = false;
    } else if (c == GC_ZWJ && g->pict_ext) {
        g->pict_zwj = true;
        g->pict_ext = false;
    } else {
        g->pict_ext = g->pict_zwj = false;
    }
    if (c == GC_INCB_CONSONANT) g->incb = 1;
    else if (g->incb && (p & UP_INCB_LINKER)) g->incb = 2;
    else if (g->incb && (p & UP_INCB_EXTEND)) { /* stays */ }
    else g->incb = 0;
}

static bool g_break(const gstate *g, unsigned pa, unsigned pb) {
    unsigned a = UP_GCB(pa), b = UP_GCB(pb);
    if (a == GC_CR && b == GC_LF) return false;                                     /* GB3 */
    if (a == GC_CONTROL || a == GC_CR || a == GC_LF) return true;                    /* GB4 */
    if (b == GC_CONTROL || b == GC_CR || b == GC_LF) return true;                    /* GB5 */
    if (a == GC_L && (b == GC_L || b == GC_V || b == GC_LV || b == GC_LVT)) return false; /* GB6 */
    if ((a == GC_LV || a == GC_V) && (b == GC_V || b == GC_T)) return false;         /* GB7 */
    if ((a == GC_LVT || a == GC_T) && b == GC_T) return false;                       /* GB8 */
    if (b == GC_EXTEND || b == GC_ZWJ) return false;                                 /* GB9 */
    if (b == GC_SPACINGMARK) return false;                                           /* GB9a */
    if (a == GC_PREPEND) return false;                                               /* GB9b */
    if (b == GC_INCB_CONSONANT && g->incb == 2) return false;                        /* GB9c */
    if (g->pict_zwj && b == GC_EXTPICT) return false;                                /* GB11 */
    if (a == GC_RI && b == GC_RI && g->ri % 2 == 1) return false;                    /* GB12, GB13 */
    return true;
}

/* Precompiled::normalize: graphemes under 6 bytes are looked up whole, else (or when absent) character by
 * character; a replacement's change values as its replace() sets them. */
static bool precompiled_stream(const norm_op *op, const nbuf *src, chstream *st) {
    st->n = 0;
    size_t i = 0;
    while (i < src->n) {
        /* the grapheme [i, j) */
        gstate g = {0, false, false, 0};
        unsigned pprev = uni_props(src->cp[i]);
        gs_step(&g, pprev);
        size_t j = i + 1;
        while (j < src->n) {
            unsigned pj = uni_props(src->cp[j]);
            if (g_break(&g, pprev, pj)) break;
            gs_step(&g, pj);
            pprev = pj;
            j++;
        }
        unsigned char buf[64];
        size_t bl = 0;
        for (size_t k = i; k < j && bl + 4 <= sizeof buf; k++) bl += (size_t)utf8_encode(src->cp[k], (char *)buf + bl);
        const char *norm;
        size_t nl;
        bool whole = bl < 6 && pc_transform(op, buf, bl, &norm, &nl);
        for (size_t k = i; k < j; k++) {
            size_t old_count = whole ? j - i : 1;
            if (!whole) {
                char u[4];
                int l = utf8_encode(src->cp[k], u);
                if (!pc_transform(op, (const unsigned char *)u, (size_t)l, &norm, &nl)) {
                    if (!cs_push(st, src->cp[k], 0)) return false;
                    continue;
                }
            }
            size_t new_count = 0, first = st->n;
            for (size_t q = 0; q < nl;) {
                int32_t c;
                q += (size_t)utf8_decode((const unsigned char *)norm + q, &c);
                if (!cs_push(st, c, 0)) return false;
                new_count++;
            }
            long diff = (long)new_count - (long)old_count;
            if (diff > 0)
                for (size_t q = st->n; q > first && q > st->n - (size_t)diff; q--) st->chg[q - 1] = 1;
            else if (diff < 0 && st->n)
                st->chg[st->n - 1] += (int32_t)diff;
            if (whole) break;
        }
        i = j;
    }
    return true;
}

/* ---- normalizers ---- */

typedef struct nctx {
    nbuf tmp;
    chstream s1, s2;
} nctx;

static bool is_nmt_removed(int32_t c) {
    return (c >= 1 && c <= 8) || c == 0xB || (c >= 0xE && c <= 0x1F) || c == 0x7F || c == 0x8F || c == 0x9F;
}

static bool is_nmt_space(int32_t c) {
    return c == 9 || c == 0xA || c == 0xC || c == 0xD || c == 0x1680 || (c >= 0x200B && c <= 0x200F) ||
           c == 0x2028 || c == 0x2029 || c == 0x2581 || c == 0xFEFF || c == 0xFFFD;
}

static bool is_cjk_char(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

bool ml_emit(void *ctx, size_t s, size_t e) {
    match_list *m = ctx;
    if (m->n + 2 > m->cap) {
        size_t nc = m->cap ? m->cap * 2 : 32;
        size_t *x = realloc(m->a, nc * sizeof *x);
        if (!x) return false;
        m->a = x;
        m->cap = nc;
    }
    m->a[m->n++] = s;
    m->a[m->n++] = e;
    return true;
}

/* Filters and maps in place, each kept character keeping its alignment (NormalizedString::filter / map). */
static void nb_filter(nbuf *b, bool (*keep)(const void *, int32_t), const void *ctx) {
    size_t w = 0;
    for (size_t i = 0; i < b->n; i++)
        if (keep(ctx, b->cp[i])) {
            b->cp[w] = b->cp[i];
            b->os[w] = b->os[i];
            b->oe[w] = b->oe[i];
            w++;
        }
    b->n = w;
}

static bool keep_bert_clean(const void *ctx, int32_t c) {
    (void)ctx;
    if (c == '\t' || c == '\n' || c == '\r') return true;
    return !(c == 0 || c == 0xFFFD || (uni_props(c) & UP_OTHER));
}
static bool keep_not_mn(const void *ctx, int32_t c) { (void)ctx; return !(uni_props(c) & UP_MN); }
static bool keep_not_cm(const void *ctx, int32_t c) { (void)ctx; return !(uni_props(c) & UP_CM); }
static bool keep_nmt(const void *ctx, int32_t c) { (void)ctx; return !is_nmt_removed(c); }

static void nb_swap(nbuf *a, nbuf *b) {
    nbuf t = *a;
    *a = *b;
    *b = t;
}

static bool lower_stream(const nbuf *b, chstream *st) {
    st->n = 0;
    for (size_t i = 0; i < b->n; i++) {
        int32_t lo[3];
        int k = uni_lower(b->cp[i], lo);
        for (int q = 0; q < k; q++)
            if (!cs_push(st, lo[q], q > 0)) return false;
    }
    return true;
}

static bool prepend_str(nbuf *b, nctx *x, const char *s, size_t len) {
    if (!b->n || !len) return true;
    x->tmp.n = 0;
    for (size_t q = 0; q < len;) {
        int32_t c;
        q += (size_t)utf8_decode((const unsigned char *)s + q, &c);
        if (!nb_push(&x->tmp, c, b->os[0], b->oe[0])) return false;
    }
    for (size_t i = 0; i < b->n; i++)
        if (!nb_push(&x->tmp, b->cp[i], b->os[i], b->oe[i])) return false;
    nb_swap(b, &x->tmp);
    return true;
}

/* NormalizedString::replace: each match becomes the content, every character of it aligned to the match's last
 * character (the source character before the position after it). */
static bool replace_matches(nbuf *b, nctx *x, const match_list *m, const char *content, size_t clen, int32_t seg) {
    x->tmp.n = 0;
    size_t last = 0;
    for (size_t k = 0; k < m->n; k += 2) {
        size_t s = m->a[k], e = m->a[k + 1];
        for (size_t i = last; i < s; i++)
            if (!nb_push(&x->tmp, b->cp[i], b->os[i], b->oe[i])) return false;
        int32_t os = e ? b->os[e - 1] : seg, oe = e ? b->oe[e - 1] : seg;
        for (size_t q = 0; q < clen;) {
            int32_t c;
            q += (size_t)utf8_decode((const unsigned char *)content + q, &c);
            if (!nb_push(&x->tmp, c, os, oe)) return false;
        }
        last = e;
    }
    for (size_t i = last; i < b->n; i++)
        if (!nb_push(&x->tmp, b->cp[i], b->os[i], b->oe[i])) return false;
    nb_swap(b, &x->tmp);
    return true;
}

static bertc_status run_norm(const norm_op *op, nbuf *b, nctx *x, int32_t seg, bertc_error *err) {
    bool ok = true;
    switch (op->kind) {
    case NO_BERT:
        if (op->clean_text) {
            nb_filter(b, keep_bert_clean, NULL);
            for (size_t i = 0; i < b->n; i++)
                if (b->cp[i] == '\t' || b->cp[i] == '\n' || b->cp[i] == '\r' || (uni_props(b->cp[i]) & UP_RWS))
                    b->cp[i] = ' ';
        }
        if (op->chinese) {
            x->s1.n = 0;
            for (size_t i = 0; i < b->n && ok; i++) {
                if (is_cjk_char(b->cp[i])) ok = cs_push(&x->s1, ' ', 0) && cs_push(&x->s1, b->cp[i], 1) && cs_push(&x->s1, ' ', 1);
                else ok = cs_push(&x->s1, b->cp[i], 0);
            }
            if (ok && (ok = nb_apply(b, &x->s1, &x->tmp, seg))) nb_swap(b, &x->tmp);
        }
        if (ok && op->strip_accents) {
            if ((ok = decompose_stream(b, 0, &x->s1) && nb_apply(b, &x->s1, &x->tmp, seg))) nb_swap(b, &x->tmp);
            nb_filter(b, keep_not_mn, NULL);
        }
        if (ok && op->lowercase && (ok = lower_stream(b, &x->s1) && nb_apply(b, &x->s1, &x->tmp, seg)))
            nb_swap(b, &x->tmp);
        break;
    case NO_NFD:
    case NO_NFKD:
        if ((ok = decompose_stream(b, op->kind == NO_NFKD, &x->s1) && nb_apply(b, &x->s1, &x->tmp, seg)))
            nb_swap(b, &x->tmp);
        break;
    case NO_NFC:
    case NO_NFKC:
        if ((ok = decompose_stream(b, op->kind == NO_NFKC, &x->s1) && recompose_stream(&x->s1, &x->s2) &&
                  nb_apply(b, &x->s2, &x->tmp, seg)))
            nb_swap(b, &x->tmp);
        break;
    case NO_LOWER:
        if ((ok = lower_stream(b, &x->s1) && nb_apply(b, &x->s1, &x->tmp, seg))) nb_swap(b, &x->tmp);
        break;
    case NO_STRIP_ACCENTS:
        nb_filter(b, keep_not_cm, NULL);
        break;
    case NO_STRIP: {
        size_t s = 0, e = b->n;
        if (op->left)
            while (s < e && (uni_props(b->cp[s]) & UP_RWS)) s++;
        if (op->right)
            while (e > s && (uni_props(b->cp[e - 1]) & UP_RWS)) e--;
        if (s || e < b->n) {
            memmove(b->cp, b->cp + s, (e - s) * sizeof *b->cp);
            memmove(b->os, b->os + s, (e - s) * sizeof *b->os);
            memmove(b->oe, b->oe + s, (e - s) * sizeof *b->oe);
            b->n = e - s;
        }
        break;
    }
    case NO_REPLACE: {
        match_list m = {0};
        if (!b->n) break;
        const char *why;
        if (!tregex_find_all(op->re, b->cp, b->n, ml_emit, &m, &why)) {
            free(m.a);
            return bertc_fail(err, strcmp(why, "out of memory") ? BERTC_ERR_INPUT : BERTC_ERR_NOMEM,
                              "tokenizer: Replace normalizer: %s", why);
        }
        ok = replace_matches(b, x, &m, op->content, op->clen, seg);
        free(m.a);
        break;
    }
    case NO_PREPEND:
        ok = prepend_str(b, x, op->content, op->clen);
        break;
    case NO_NMT:
        nb_filter(b, keep_nmt, NULL);
        for (size_t i = 0; i < b->n; i++)
            if (is_nmt_space(b->cp[i])) b->cp[i] = ' ';
        break;
    case NO_PRECOMPILED:
        if ((ok = precompiled_stream(op, b, &x->s1) && nb_apply(b, &x->s1, &x->tmp, seg))) nb_swap(b, &x->tmp);
        break;
    }
    return ok ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory while tokenizing");
}

/* ---- pre-tokenizers: pieces of one normalized string ---- */

static bool pcs_add(pieces *p, const nbuf *src, size_t a, size_t b) {
    if (a >= b) return true; /* empty splits are dropped, as PreTokenizedString::split does */
    if (p->n + 2 > p->cap) {
        size_t nc = p->cap ? p->cap * 2 : 64;
        size_t *x = realloc(p->start, nc * sizeof *x);
        if (!x) return false;
        p->start = x;
        p->cap = nc;
    }
    if (!p->n) p->start[0] = p->cps.n;
    for (size_t i = a; i < b; i++)
        if (!nb_push(&p->cps, src->cp[i], src->os[i], src->oe[i])) return false;
    p->n++;
    p->start[p->n] = p->cps.n;
    return true;
}

void pieces_free(pieces *p) {
    nb_free(&p->cps);
    free(p->start);
    memset(p, 0, sizeof *p);
}

/* The splits of [0, n) for matches m (start, end pairs) under a delimiter behavior (NormalizedString::split).
 * invert: the matches are the kept parts. */
static bool split_by(pieces *out, const nbuf *src, size_t a, size_t b, const match_list *m, int behavior,
                     bool invert) {
    /* the alternating list of (range, is_match) over [a, b) */
    size_t cap = m->n + 4, k = 0;
    size_t *rs = malloc(cap * 2 * sizeof *rs);
    bool *im = malloc(cap * 2 * sizeof *im);
    if (!rs || !im) {
        free(rs);
        free(im);
        return false;
    }
    size_t prev = a, nr = 0;
    for (k = 0; k < m->n; k += 2) {
        size_t s = a + m->a[k], e = a + m->a[k + 1];
        if (prev != s) {
            rs[2 * nr] = prev;
            rs[2 * nr + 1] = s;
            im[nr++] = invert;
        }
        rs[2 * nr] = s;
        rs[2 * nr + 1] = e;
        im[nr++] = !invert;
        prev = e;
    }
    if (prev != b) {
        rs[2 * nr] = prev;
        rs[2 * nr + 1] = b;
        im[nr++] = invert;
    }
    /* fold by behavior into (range, removed) */
    size_t *os = malloc((nr + 1) * 2 * sizeof *os);
    bool *rm = malloc((nr + 1) * sizeof *rm);
    size_t no = 0;
    bool ok = os && rm;
    if (ok) {
        bool prevm = false;
        if (behavior == SB_MERGED_NEXT) {
            for (size_t q = nr; q-- > 0;) {
                if (im[q] && !prevm && no) os[2 * (no - 1)] = rs[2 * q];
                else {
                    os[2 * no] = rs[2 * q];
                    os[2 * no + 1] = rs[2 * q + 1];
                    rm[no++] = false;
                }
                prevm = im[q];
            }
            for (size_t q = 0; q < no / 2; q++) {
                size_t t0 = os[2 * q], t1 = os[2 * q + 1];
                os[2 * q] = os[2 * (no - 1 - q)];
                os[2 * q + 1] = os[2 * (no - 1 - q) + 1];
                os[2 * (no - 1 - q)] = t0;
                os[2 * (no - 1 - q) + 1] = t1;
            }
        } else {
            for (size_t q = 0; q < nr; q++) {
                bool merge = false;
                if (behavior == SB_CONTIGUOUS) merge = im[q] == prevm && no;
                else if (behavior == SB_MERGED_PREV) merge = im[q] && !prevm && no;
                if (merge) os[2 * (no - 1) + 1] = rs[2 * q + 1];
                else {
                    os[2 * no] = rs[2 * q];
                    os[2 * no + 1] = rs[2 * q + 1];
                    rm[no++] = behavior == SB_REMOVED && im[q];
                }
                prevm = im[q];
            }
        }
        for (size_t q = 0; q < no && ok; q++)
            if (!rm[q]) ok = pcs_add(out, src, os[2 * q], os[2 * q + 1]);
    }
    free(rs);
    free(im);
    free(os);
    free(rm);
    return ok;
}

/* matches of a character predicate: every matching character is its own match */
static bool char_matches(const nbuf *src, size_t a, size_t b, bool (*pred)(const void *, int32_t), const void *ctx,
                         match_list *m) {
    m->n = 0;
    for (size_t i = a; i < b; i++)
        if (pred(ctx, src->cp[i]) && !ml_emit(m, i - a, i - a + 1)) return false;
    return true;
}

static bool pred_ws(const void *c, int32_t x) { (void)c; return (uni_props(x) & UP_RWS) != 0; }
static bool pred_punct(const void *c, int32_t x) { (void)c; return (uni_props(x) & UP_PUNCT) != 0; }
static bool pred_num(const void *c, int32_t x) { (void)c; return (uni_props(x) & UP_NUM) != 0; }
static bool pred_char(const void *c, int32_t x) { return x == *(const int32_t *)c; }

/* Whitespace: the regex crate's \w+|[^\w\s]+ */
static bool whitespace_matches(const nbuf *src, size_t a, size_t b, match_list *m) {
    m->n = 0;
    size_t i = a;
    while (i < b) {
        unsigned p = uni_props(src->cp[i]);
        if (p & UP_W) {
            size_t j = i;
            while (j < b && (uni_props(src->cp[j]) & UP_W)) j++;
            if (!ml_emit(m, i - a, j - a)) return false;
            i = j;
        } else if (!(p & UP_RS)) {
            size_t j = i;
            while (j < b && !(uni_props(src->cp[j]) & (UP_W | UP_RS))) j++;
            if (!ml_emit(m, i - a, j - a)) return false;
            i = j;
        } else {
            i++;
        }
    }
    return true;
}

/* The end of the GPT-2 split pattern's match at i
 *   's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+
 * by hand over code points, with Oniguruma's classes (ByteLevel, here and in encode.c's direct path). */
static int gclass(int32_t c) {
    unsigned p = uni_props(c);
    return p & UP_OL ? 1 : p & UP_ON ? 2 : p & UP_OS ? 3 : 4;
}

size_t gpt2_match_end(const int32_t *cp, size_t n, size_t i) {
    int32_t c = cp[i];
    if (c == '\'' && i + 1 < n) {
        int32_t n1 = cp[i + 1], n2 = i + 2 < n ? cp[i + 2] : 0;
        if (n1 == 's' || n1 == 't' || n1 == 'm' || n1 == 'd') return i + 2;
        if ((n1 == 'r' && n2 == 'e') || (n1 == 'v' && n2 == 'e') || (n1 == 'l' && n2 == 'l')) return i + 3;
    }
    int run = gclass(c);
    size_t k = i;
    if (c == ' ' && i + 1 < n && gclass(cp[i + 1]) != 3) {
        run = gclass(cp[i + 1]);
        k = i + 1;
    }
    size_t e = k;
    while (e < n && gclass(cp[e]) == run) e++;
    /* \s+(?!\S): the whole run at the end of text, else all but its last char; \s+ for one char */
    if (run == 3 && e < n && e - i > 1) e--;
    return e;
}

static bool bytelevel_matches(const int32_t *cp, size_t n, match_list *m) {
    m->n = 0;
    for (size_t i = 0; i < n;) {
        size_t j = gpt2_match_end(cp, n, i);
        if (!ml_emit(m, i, j)) return false;
        i = j;
    }
    return true;
}

static bertc_status run_pre(const pre_op *op, pieces *in, pieces *out, int32_t unused, bertc_error *err) {
    (void)unused;
    out->n = 0;
    out->cps.n = 0;
    match_list m = {0};
    nbuf tmp = {0};
    bool ok = true;
    for (size_t k = 0; k < in->n && ok; k++) {
        size_t a = in->start[k], b = in->start[k + 1];
        const nbuf *src = &in->cps;
        switch (op->kind) {
        case PT_BERT: {
            pieces mid = {0};
            ok = char_matches(src, a, b, pred_ws, NULL, &m) && split_by(&mid, src, a, b, &m, SB_REMOVED, false);
            for (size_t q = 0; q < mid.n && ok; q++)
                ok = char_matches(&mid.cps, mid.start[q], mid.start[q + 1], pred_punct, NULL, &m) &&
                     split_by(out, &mid.cps, mid.start[q], mid.start[q + 1], &m, SB_ISOLATED, false);
            pieces_free(&mid);
            break;
        }
        case PT_WHITESPACE:
            ok = whitespace_matches(src, a, b, &m) && split_by(out, src, a, b, &m, SB_REMOVED, true);
            break;
        case PT_WSSPLIT:
            ok = char_matches(src, a, b, pred_ws, NULL, &m) && split_by(out, src, a, b, &m, SB_REMOVED, false);
            break;
        case PT_PUNCT:
            ok = char_matches(src, a, b, pred_punct, NULL, &m) && split_by(out, src, a, b, &m, op->behavior, false);
            break;
        case PT_DIGITS:
            ok = char_matches(src, a, b, pred_num, NULL, &m) &&
                 split_by(out, src, a, b, &m, op->individual ? SB_ISOLATED : SB_CONTIGUOUS, false);
            break;
        case PT_CHARDELIM:
            ok = char_matches(src, a, b, pred_char, &op->delim, &m) && split_by(out, src, a, b, &m, SB_REMOVED, false);
            break;
        case PT_SPLIT:
            m.n = 0;
            const char *why;
            if (!tregex_find_all(op->re, src->cp + a, b - a, ml_emit, &m, &why)) {
                free(m.a);
                nb_free(&tmp);
                return bertc_fail(err, strcmp(why, "out of memory") ? BERTC_ERR_INPUT : BERTC_ERR_NOMEM,
                                  "tokenizer: Split pre-tokenizer: %s", why);
            }
            ok = split_by(out, src, a, b, &m, op->behavior, op->invert);
            break;
        case PT_METASPACE:
        case PT_BYTELEVEL: {
            /* the piece as its own string: replace / prepend, then split */
            tmp.n = 0;
            bool meta = op->kind == PT_METASPACE;
            int32_t first = b > a ? src->cp[a] : 0;
            if (meta && first == ' ') first = op->repl;
            /* Metaspace "first": only a piece that starts the input (offsets_original().0 == 0) */
            bool prepend = meta ? (op->prepend == 1 || (op->prepend == 2 && src->os[a] == 0)) && first != op->repl
                                : op->add_prefix_space && first != ' ';
            if (prepend && b > a) ok = nb_push(&tmp, meta ? op->repl : ' ', src->os[a], src->oe[a]);
            for (size_t i = a; i < b && ok; i++)
                ok = nb_push(&tmp, meta && src->cp[i] == ' ' ? op->repl : src->cp[i], src->os[i], src->oe[i]);
            if (!ok) break;
            if (meta && op->split) {
                ok = char_matches(&tmp, 0, tmp.n, pred_char, &op->repl, &m) &&
                     split_by(out, &tmp, 0, tmp.n, &m, SB_MERGED_NEXT, false);
            } else if (!meta && op->use_regex) {
                ok = bytelevel_matches(tmp.cp, tmp.n, &m) && split_by(out, &tmp, 0, tmp.n, &m, SB_ISOLATED, false);
            } else {
                ok = pcs_add(out, &tmp, 0, tmp.n);
            }
            break;
        }
        }
    }
    free(m.a);
    nb_free(&tmp);
    return ok ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory while tokenizing");
}

/* Normalizes the segment's code points in place. */
bertc_status pipeline_normalize(const bertc_tokenizer *t, nbuf *seg, int32_t seg0, bertc_error *err) {
    nctx x;
    memset(&x, 0, sizeof x);
    bertc_status s = BERTC_OK;
    for (int i = 0; i < t->n_norm && !s; i++) s = run_norm(&t->norm[i], seg, &x, seg0, err);
    nb_free(&x.tmp);
    cs_free(&x.s1);
    cs_free(&x.s2);
    return s;
}

/* Splits seg[a, b) of a normalized string into pieces. */
bertc_status pipeline_pretokenize(const bertc_tokenizer *t, const nbuf *seg, size_t a, size_t b, pieces *out,
                                  bertc_error *err) {
    bertc_status s = BERTC_OK;
    pieces pa = {0}, pb = {0};
    if (!pcs_add(&pa, seg, a, b)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < t->n_pre && !s; i++) {
        s = run_pre(&t->pre[i], &pa, &pb, 0, err);
        pieces tp = pa;
        pa = pb;
        pb = tp;
    }
    pieces_free(&pb);
    if (s) {
        pieces_free(&pa);
        return s;
    }
    pieces_free(out);
    *out = pa;
    return BERTC_OK;
}

/* A fast-path tokenizer (BertNormalizer + BertPreTokenizer) as pipeline steps, for when it must run the pipeline
 * (added tokens matched after normalization). */
bertc_status pipeline_from_bert(bertc_tokenizer *t, bertc_error *err) {
    t->norm = calloc(1, sizeof *t->norm);
    t->pre = calloc(1, sizeof *t->pre);
    if (!t->norm || !t->pre) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->norm[0].kind = NO_BERT;
    t->norm[0].clean_text = t->clean_text;
    t->norm[0].chinese = t->chinese;
    t->norm[0].strip_accents = t->strip_accents;
    t->norm[0].lowercase = t->lowercase;
    t->n_norm = 1;
    t->pre[0].kind = PT_BERT;
    t->n_pre = 1;
    t->generic = true;
    return BERTC_OK;
}

/* ---- Unigram (models/unigram/model.rs encode_optimized, fuse_unk) ---- */

bool unigram_piece(const bertc_tokenizer *t, const nbuf *cps, size_t a, size_t b, unigram_scratch *u,
                   bool (*push)(void *, int32_t, size_t, size_t), void *ctx) {
    /* the piece's UTF-8 with, per byte, the index of its code point */
    size_t nb = 0;
    for (size_t i = a; i < b; i++) nb += (size_t)(cps->cp[i] < 0x80 ? 1 : cps->cp[i] < 0x800 ? 2 : cps->cp[i] < 0x10000 ? 3 : 4);
    if (nb + 1 > u->cap) {
        size_t nc = (nb + 1) * 2;
        char *s = realloc(u->s, nc);
        if (!s) return false;
        u->s = s;
        int32_t *x = realloc(u->cpi, nc * sizeof *x);
        if (!x) return false;
        u->cpi = x;
        double *sc = realloc(u->score, nc * sizeof *sc);
        if (!sc) return false;
        u->score = sc;
        x = realloc(u->from, nc * sizeof *x);
        if (!x) return false;
        u->from = x;
        x = realloc(u->id, nc * sizeof *x);
        if (!x) return false;
        u->id = x;
        u->cap = nc;
    }
    size_t o = 0;
    for (size_t i = a; i < b; i++) {
        int l = utf8_encode(cps->cp[i], u->s + o);
        for (int q = 0; q < l; q++) u->cpi[o + (size_t)q] = (int32_t)i;
        o += (size_t)l;
    }
    for (size_t i = 0; i <= nb; i++) u->from[i] = -1;
    u->score[0] = 0;
    double unk_score = t->min_score - 10.0;
    size_t maxk = t->vocab.max_key_len;
    for (size_t st = 0; st < nb;) {
        size_t ml = 1;
        unsigned char c0 = (unsigned char)u->s[st];
        if (c0 >= 0xF0) ml = 4;
        else if (c0 >= 0xE0) ml = 3;
        else if (c0 >= 0xC0) ml = 2;
        double base = u->score[st];
        bool single = false;
        uint32_t h = BERTC_FNV_INIT; /* the hash of [st, e), one byte more each step */
        for (size_t e = st + 1; e <= nb && e - st <= maxk; e++) {
            h = bertc_fnv_step(h, (unsigned char)u->s[e - 1]);
            if (e < nb && ((unsigned char)u->s[e] & 0xC0) == 0x80) continue;
            int32_t id = strmap_get_hashed(&t->vocab, u->s + st, e - st, bertc_hash_finish(h));
            if (id < 0) continue;
            double cand = t->scores[id] + base;
            if (u->from[e] < 0 || cand > u->score[e]) {
                u->score[e] = cand;
                u->from[e] = (int32_t)st;
                u->id[e] = id;
            }
            if (e - st == ml) single = true;
        }
        if (!single) {
            size_t e = st + ml;
            double cand = unk_score + base;
            if (u->from[e] < 0 || cand > u->score[e]) {
                u->score[e] = cand;
                u->from[e] = (int32_t)st;
                u->id[e] = t->unk_id;
            }
        }
        st += ml;
    }
    /* back from the end; the path is reversed into u->path (start byte, end byte, id) */
    size_t np = 0;
    for (size_t e = nb; e > 0;) {
        size_t st = (size_t)u->from[e];
        int32_t id = u->id[e];
        if (t->fuse_unk && id == t->unk_id && np && u->id[u->path[np - 1]] == t->unk_id &&
            (size_t)u->from[u->path[np - 1]] == e) {
            /* fused with the unknown piece after it: extend that one backwards */
            u->from[u->path[np - 1]] = (int32_t)st;
        } else {
            if (np == u->pcap) {
                size_t nc = u->pcap ? u->pcap * 2 : 64;
                size_t *x = realloc(u->path, nc * sizeof *x);
                if (!x) return false;
                u->path = x;
                u->pcap = nc;
            }
            u->path[np++] = e;
        }
        e = st;
    }
    for (size_t k = np; k-- > 0;) {
        size_t e = u->path[k], st = (size_t)u->from[e];
        int32_t id = u->id[e];
        if (id < 0) return false;
        if (!push(ctx, id, (size_t)cps->os[u->cpi[st]], (size_t)cps->oe[u->cpi[e - 1]])) return false;
    }
    return true;
}

void unigram_scratch_free(unigram_scratch *u) {
    free(u->s);
    free(u->cpi);
    free(u->score);
    free(u->from);
    free(u->id);
    free(u->path);
    memset(u, 0, sizeof *u);
}

/* ---- loading ---- */

static int b64val(int c) {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
}

static bertc_status parse_precompiled(norm_op *op, const json_t *n, bertc_error *err) {
    const char *b64 = jstr(n, "precompiled_charsmap");
    if (!b64) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Precompiled without precompiled_charsmap");
    size_t len = strlen(b64);
    uint8_t *raw = malloc(len / 4 * 3 + 4);
    if (!raw) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    size_t o = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (size_t i = 0; i < len; i++) {
        if (b64[i] == '=') break;
        int v = b64val((unsigned char)b64[i]);
        if (v < 0) {
            free(raw);
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: precompiled_charsmap is not base64");
        }
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            raw[o++] = (uint8_t)(acc >> bits);
        }
    }
    if (o < 4) {
        free(raw);
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: precompiled_charsmap too short");
    }
    uint32_t trie = (uint32_t)raw[0] | (uint32_t)raw[1] << 8 | (uint32_t)raw[2] << 16 | (uint32_t)raw[3] << 24;
    if ((size_t)trie > o - 4 || trie % 4) {
        free(raw);
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: precompiled_charsmap trie size %u is inconsistent", trie);
    }
    size_t nu = trie / 4;
    uint32_t *units = malloc((nu ? nu : 1) * sizeof *units);
    char *norm = malloc(o - 4 - trie + 1);
    if (!units || !norm) {
        free(raw);
        free(units);
        free(norm);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    for (size_t i = 0; i < nu; i++) {
        const uint8_t *q = raw + 4 + 4 * i;
        units[i] = (uint32_t)q[0] | (uint32_t)q[1] << 8 | (uint32_t)q[2] << 16 | (uint32_t)q[3] << 24;
    }
    memcpy(norm, raw + 4 + trie, o - 4 - trie);
    norm[o - 4 - trie] = 0;
    op->pc_norm_len = o - 4 - trie;
    free(raw);
    if (utf8_validate(norm, op->pc_norm_len) != op->pc_norm_len) {
        free(units);
        free(norm);
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: precompiled_charsmap strings are not UTF-8");
    }
    op->pc_trie = units;
    op->pc_units = nu;
    op->pc_norm = norm;
    return BERTC_OK;
}

static bertc_status compile_pattern(const json_t *pat, tregex **re, const char *what, bertc_error *err) {
    const char *lit = jstr(pat, "String"), *rx = jstr(pat, "Regex"), *why = NULL;
    if (!lit && !rx) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: %s without a String or Regex pattern", what);
    const char *p = lit ? lit : rx;
    *re = tregex_compile(p, strlen(p), lit != NULL, &why);
    if (!*re)
        return bertc_fail(err, why && !strcmp(why, "out of memory") ? BERTC_ERR_NOMEM : BERTC_ERR_UNSUPPORTED,
                          "tokenizer.json: %s pattern \"%.60s\": %s", what, p, why);
    return BERTC_OK;
}

static bertc_status add_norm(bertc_tokenizer *t, const json_t *n, bertc_error *err) {
    if (!n || json_is_null(n)) return BERTC_OK;
    const char *type = jstr(n, "type");
    if (!type) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: normalizer without type");
    if (!strcmp(type, "Sequence")) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(n, "normalizers"), i, e) {
            bertc_status s = add_norm(t, e, err);
            if (s) return s;
        }
        return BERTC_OK;
    }
    static const char *const names[] = {"", "BertNormalizer", "NFD", "NFKD", "NFC", "NFKC", "Lowercase", "StripAccents",
                                        "Strip", "Replace", "Prepend", "Precompiled", "Nmt"};
    int kind = 0;
    for (int k = 1; k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(type, names[k])) kind = k;
    if (!kind)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: normalizer %s is not supported (supported: "
                          "BertNormalizer, NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, Strip, Replace, Prepend, "
                          "Precompiled, Nmt, Sequence)", type);
    norm_op *a = realloc(t->norm, (size_t)(t->n_norm + 1) * sizeof *a);
    if (!a) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->norm = a;
    norm_op *op = &t->norm[t->n_norm++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    switch (kind) {
    case NO_BERT: {
        op->clean_text = jbool(n, "clean_text", 1);
        op->chinese = jbool(n, "handle_chinese_chars", 1);
        op->lowercase = jbool(n, "lowercase", 1);
        op->strip_accents = jbool(n, "strip_accents", op->lowercase);
        break;
    }
    case NO_STRIP:
        op->left = jbool(n, "strip_left", 1);
        op->right = jbool(n, "strip_right", 1);
        break;
    case NO_REPLACE:
    case NO_PREPEND: {
        const char *c = jstr(n, kind == NO_REPLACE ? "content" : "prepend");
        if (!c) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: %s without its string", type);
        op->content = strdup(c);
        if (!op->content) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        op->clen = strlen(c);
        if (kind == NO_REPLACE)
            return compile_pattern(json_object_get(n, "pattern"), &op->re, "Replace", err);
        break;
    }
    case NO_PRECOMPILED:
        return parse_precompiled(op, n, err);
    }
    return BERTC_OK;
}

static int behavior_of(const char *b) {
    if (!b || !strcmp(b, "Isolated")) return SB_ISOLATED;
    if (!strcmp(b, "Removed")) return SB_REMOVED;
    if (!strcmp(b, "MergedWithPrevious")) return SB_MERGED_PREV;
    if (!strcmp(b, "MergedWithNext")) return SB_MERGED_NEXT;
    if (!strcmp(b, "Contiguous")) return SB_CONTIGUOUS;
    return -1;
}

static bertc_status add_pre(bertc_tokenizer *t, const json_t *n, bertc_error *err) {
    if (!n || json_is_null(n)) return BERTC_OK;
    const char *type = jstr(n, "type");
    if (!type) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: pre_tokenizer without type");
    if (!strcmp(type, "Sequence")) {
        size_t i;
        const json_t *e;
        json_array_foreach(json_object_get(n, "pretokenizers"), i, e) {
            bertc_status s = add_pre(t, e, err);
            if (s) return s;
        }
        return BERTC_OK;
    }
    static const char *const names[] = {"", "BertPreTokenizer", "ByteLevel", "Whitespace", "WhitespaceSplit",
                                        "Metaspace", "Punctuation", "Digits", "Split", "CharDelimiterSplit"};
    int kind = 0;
    for (int k = 1; k < (int)(sizeof names / sizeof names[0]); k++)
        if (!strcmp(type, names[k])) kind = k;
    if (!kind)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: pre_tokenizer %s is not supported (supported: "
                          "BertPreTokenizer, ByteLevel, Whitespace, WhitespaceSplit, Metaspace, Punctuation, Digits, "
                          "Split, CharDelimiterSplit, Sequence)", type);
    pre_op *a = realloc(t->pre, (size_t)(t->n_pre + 1) * sizeof *a);
    if (!a) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->pre = a;
    pre_op *op = &t->pre[t->n_pre++];
    memset(op, 0, sizeof *op);
    op->kind = kind;
    op->behavior = SB_ISOLATED;
    switch (kind) {
    case PT_BYTELEVEL:
        op->add_prefix_space = jbool(n, "add_prefix_space", 1);
        op->use_regex = jbool(n, "use_regex", 1);
        t->byte_level = true;
        break;
    case PT_METASPACE: {
        const char *r = jstr(n, "replacement");
        if (!r || !*r) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Metaspace without replacement");
        utf8_decode((const unsigned char *)r, &op->repl);
        const char *ps = jstr(n, "prepend_scheme");
        if (ps) op->prepend = !strcmp(ps, "always") ? 1 : !strcmp(ps, "first") ? 2 : 0;
        else op->prepend = jbool(n, "add_prefix_space", 1) ? 1 : 0; /* older files */
        op->split = jbool(n, "split", 1);
        break;
    }
    case PT_PUNCT:
    case PT_SPLIT: {
        op->behavior = behavior_of(jstr(n, "behavior"));
        if (op->behavior < 0)
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: %s behavior %s is unknown", type, jstr(n, "behavior"));
        if (kind == PT_SPLIT) {
            op->invert = jbool(n, "invert", 0);
            return compile_pattern(json_object_get(n, "pattern"), &op->re, "Split", err);
        }
        break;
    }
    case PT_DIGITS:
        op->individual = jbool(n, "individual_digits", 0);
        break;
    case PT_CHARDELIM: {
        const char *d = jstr(n, "delimiter");
        if (!d || !*d) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: CharDelimiterSplit without delimiter");
        utf8_decode((const unsigned char *)d, &op->delim);
        break;
    }
    }
    return BERTC_OK;
}

bertc_status pipeline_parse(bertc_tokenizer *t, const json_t *normalizer, const json_t *pre, bertc_error *err) {
    bertc_status s = add_norm(t, normalizer, err);
    if (!s) s = add_pre(t, pre, err);
    return s;
}

bertc_status unigram_parse(bertc_tokenizer *t, const json_t *model, bertc_error *err) {
    const json_t *vocab = json_object_get(model, "vocab");
    if (!json_is_array(vocab)) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Unigram model without a vocab list");
    int n = (int)json_array_size(vocab);
    if (n <= 0) return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: empty Unigram vocab");
    if (jbool(model, "byte_fallback", 0))
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "tokenizer.json: Unigram with byte_fallback is not supported");
    t->vocab_size = n;
    t->id_to_tok = calloc((size_t)n, sizeof *t->id_to_tok);
    t->scores = malloc((size_t)n * sizeof *t->scores);
    if (!t->id_to_tok || !t->scores || !strmap_init(&t->vocab, (size_t)n))
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    t->min_score = INFINITY;
    size_t i;
    const json_t *e;
    json_array_foreach(vocab, i, e) {
        int32_t id = (int32_t)i;
        const json_t *p = json_array_get(e, 0), *sc = json_array_get(e, 1);
        const char *piece = json_string_value(p);
        if (!piece || !json_is_number(sc))
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Unigram vocab entry %d is not [piece, score]", id);
        t->id_to_tok[id] = strdup(piece);
        if (!t->id_to_tok[id]) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        /* a piece listed twice maps to its last id, as token_to_ids is built by insertion */
        if (!strmap_put(&t->vocab, piece, strlen(piece), id)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        t->scores[id] = json_number_value(sc);
        if (t->scores[id] < t->min_score) t->min_score = t->scores[id];
    }
    const json_t *unk = json_object_get(model, "unk_id");
    t->unk_id = -1;
    if (json_is_number(unk)) {
        double u = json_number_value(unk);
        if (!(u >= 0 && u < n))
            return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer.json: Unigram unk_id %g out of range", u);
        t->unk_id = (int32_t)u;
    }
    t->fuse_unk = true;
    return BERTC_OK;
}

void pipeline_free(bertc_tokenizer *t) {
    for (int i = 0; i < t->n_norm; i++) {
        free(t->norm[i].content);
        tregex_free(t->norm[i].re);
        free((void *)t->norm[i].pc_trie);
        free((void *)t->norm[i].pc_norm);
    }
    free(t->norm);
    for (int i = 0; i < t->n_pre; i++) tregex_free(t->pre[i].re);
    free(t->pre);
    free(t->scores);
}
