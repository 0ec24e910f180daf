/*
 * encode.c — text → ids, exactly as Hugging Face's fast tokenizers do it:
 *   1. added/special tokens are cut out of the raw text first (leftmost-longest, lstrip/rstrip/single_word);
 *   2. WordPiece family: BertNormalizer (clean_text, CJK spacing, NFD + drop Mn, lowercase) and
 *      BertPreTokenizer (split on whitespace, isolate punctuation), then greedy longest-match WordPiece;
 *      byte-level family: the GPT-2 split pattern, then BPE merges by rank on raw bytes;
 *   3. truncation (longest_first for pairs) and the post-processor's special tokens.
 * Unicode properties come from utf8proc; ASCII takes a table path. Offsets are tracked as original byte
 * spans and reported as code point indices, like transformers' offset_mapping on a Python str.
 * Invalid UTF-8 is refused with its byte offset (never replaced): callers see exactly what was wrong.
 */
#include "tokenizer.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "unicode.h"

typedef struct toklist {
    int32_t *ids, *start, *end; /* byte offsets into the sequence's own text (characters once chars is set) */
    int32_t *words;             /* the word (pre-tokenizer split) of each token, as tokenizers' Encoding::word_ids */
    int32_t word;               /* the next split's index: tokenizers numbers the non-empty splits of a sequence */
    size_t n, cap;
    bool chars;
} toklist;

/* Keeps n tokens: the first n, or the last n when left (tokenizers' TruncationDirection::Left). */
static void tl_keep(toklist *l, size_t n, bool left) {
    if (n >= l->n) return;
    if (left) {
        size_t drop = l->n - n;
        memmove(l->ids, l->ids + drop, n * sizeof *l->ids);
        memmove(l->start, l->start + drop, n * sizeof *l->start);
        memmove(l->end, l->end + drop, n * sizeof *l->end);
        memmove(l->words, l->words + drop, n * sizeof *l->words);
    }
    l->n = n;
}

static bool tl_push(toklist *l, int32_t id, size_t s, size_t e) {
    if (l->n == l->cap) {
        size_t nc = l->cap ? l->cap * 2 : 64;
        int32_t *a = realloc(l->ids, nc * sizeof *a);
        if (!a) return false;
        l->ids = a;
        a = realloc(l->start, nc * sizeof *a);
        if (!a) return false;
        l->start = a;
        a = realloc(l->end, nc * sizeof *a);
        if (!a) return false;
        l->end = a;
        a = realloc(l->words, nc * sizeof *a);
        if (!a) return false;
        l->words = a;
        l->cap = nc;
    }
    l->ids[l->n] = id;
    l->start[l->n] = (int32_t)s;
    l->end[l->n] = (int32_t)e;
    l->words[l->n] = l->word;
    l->n++;
    return true;
}

static void tl_free(toklist *l) {
    free(l->ids);
    free(l->start);
    free(l->words);
    free(l->end);
}

/* ---- Unicode classes: the tables tokenizers itself uses (unicode.h) ---- */

static inline unsigned props(int32_t c) { return uni_props(c); }
static inline int utf8_len(int32_t c) { return c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4; }
static inline bool is_ws(int32_t c) { return (props(c) & UP_RWS) != 0; }
static inline bool is_cjk(int32_t c) {
    return (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x20000 && c <= 0x2A6DF) ||
           (c >= 0x2A700 && c <= 0x2B73F) || (c >= 0x2B740 && c <= 0x2B81F) || (c >= 0x2B920 && c <= 0x2CEAF) ||
           (c >= 0xF900 && c <= 0xFAFF) || (c >= 0x2F800 && c <= 0x2FA1F);
}

/* NFD (compat 0) or NFKD of src into dst, as unicode-normalization-alignments streams it and
 * NormalizedString::transform aligns it: each character of a decomposition is tagged "first" or "added"; marks
 * are put in canonical order (a stable sort by combining class between starters), and then, in output order, a
 * "first" character takes the alignment of the next source character and an "added" one that of the source
 * character before it. seg is the segment's start, the alignment of nothing. When drop_mn, nonspacing marks are
 * then removed (StripAccents), each kept character keeping its alignment. */
static bool nb_decompose(const nbuf *src, nbuf *dst, int compat, bool drop_mn, int32_t seg, uint8_t **tag,
                         size_t *tagcap) {
    dst->n = 0;
    size_t ready = 0; /* dst[ready..] are pending reordering */
    for (size_t j = 0; j < src->n; j++) {
        int32_t d[UNI_MAX_DECOMP];
        int k = uni_decompose(src->cp[j], compat, d);
        for (int i = 0; i < k; i++) {
            if (dst->n + 1 > *tagcap) {
                size_t nc = *tagcap ? *tagcap * 2 : 256;
                uint8_t *x = realloc(*tag, nc);
                if (!x) return false;
                *tag = x;
                *tagcap = nc;
            }
            int cc = uni_ccc(d[i]);
            if (cc == 0) ready = dst->n;
            /* insertion into the pending run, stable by class (os holds the class until alignment) */
            if (!nb_push(dst, d[i], cc, 0)) return false;
            (*tag)[dst->n - 1] = (uint8_t)(i > 0);
            size_t p = dst->n - 1;
            while (p > ready && dst->os[p - 1] > cc) {
                int32_t c0 = dst->cp[p - 1], k0 = dst->os[p - 1];
                uint8_t t0 = (*tag)[p - 1];
                dst->cp[p - 1] = dst->cp[p];
                dst->os[p - 1] = dst->os[p];
                (*tag)[p - 1] = (*tag)[p];
                dst->cp[p] = c0;
                dst->os[p] = k0;
                (*tag)[p] = t0;
                p--;
            }
        }
    }
    size_t ptr = 0, w = 0;
    for (size_t i = 0; i < dst->n; i++) {
        int32_t os, oe;
        if (!(*tag)[i]) {
            os = src->os[ptr];
            oe = src->oe[ptr];
            ptr++;
        } else if (ptr) {
            os = src->os[ptr - 1];
            oe = src->oe[ptr - 1];
        } else {
            os = oe = seg;
        }
        if (drop_mn && (props(dst->cp[i]) & UP_MN)) continue;
        dst->cp[w] = dst->cp[i];
        dst->os[w] = os;
        dst->oe[w] = oe;
        w++;
    }
    dst->n = w;
    return true;
}

/* ---- WordPiece ---- */

typedef struct wp_state {
    const bertc_tokenizer *t;
    toklist *out;
    char *wb;          /* word bytes (normalized UTF-8) */
    int32_t *wos, *woe; /* per byte of wb: original start/end of the char it belongs to */
    size_t wlen, wcap, nchars;
    nbuf na, nb; /* the normalizer's buffers */
    uint8_t *tag;
    size_t tagcap;
} wp_state;

static bool wp_reserve(wp_state *w, size_t extra) {
    if (w->wlen + extra <= w->wcap) return true;
    size_t nc = w->wcap ? w->wcap * 2 : 256;
    while (nc < w->wlen + extra) nc *= 2;
    char *b = realloc(w->wb, nc);
    if (!b) return false;
    w->wb = b;
    int32_t *a = realloc(w->wos, nc * sizeof *a);
    if (!a) return false;
    w->wos = a;
    a = realloc(w->woe, nc * sizeof *a);
    if (!a) return false;
    w->woe = a;
    w->wcap = nc;
    return true;
}

/* Greedy longest-match-first over the current word; the whole word becomes [UNK] when any piece fails. */
static bool wp_flush(wp_state *w) {
    const bertc_tokenizer *t = w->t;
    size_t n = w->wlen;
    if (n == 0) return true;
    size_t before = w->out->n;
    bool ok = true;
    if ((int)w->nchars > t->max_input_chars) {
        ok = false;
    } else {
        /* greedy longest match; the key (prefix + the rest of the word, up to the longest vocab entry) is built
         * once per start and its prefixes hashed in one pass */
        char key[512];
        uint32_t hs[512];
        size_t start = 0;
        size_t maxk = t->vocab.max_key_len;
        while (start < n) {
            size_t pl = start > 0 ? t->prefix_len : 0;
            size_t avail = n - start;
            if (pl + avail > sizeof key) avail = sizeof key - pl;
            if (pl + avail > maxk) avail = maxk > pl ? maxk - pl : 0;
            memcpy(key, t->prefix, pl);
            memcpy(key + pl, w->wb + start, avail);
            uint32_t h = BERTC_FNV_INIT;
            for (size_t q = 0; q < pl + avail; q++) hs[q] = h = bertc_fnv_step(h, (unsigned char)key[q]);
            size_t end = start + avail;
            while (end > start && end < n && ((unsigned char)w->wb[end] & 0xC0) == 0x80) end--;
            int32_t found = -1;
            while (end > start) {
                size_t klen = pl + (end - start);
                found = strmap_get_hashed(&t->vocab, key, klen, bertc_hash_finish(hs[klen - 1]));
                if (found >= 0) break;
                end--;
                while (end > start && ((unsigned char)w->wb[end] & 0xC0) == 0x80) end--;
            }
            if (found < 0) {
                ok = false;
                break;
            }
            if (!tl_push(w->out, found, (size_t)w->wos[start], (size_t)w->woe[end - 1])) return false;
            start = end;
        }
    }
    if (!ok) {
        w->out->n = before;
        if (!tl_push(w->out, t->unk_id, (size_t)w->wos[0], (size_t)w->woe[n - 1])) return false;
    }
    w->wlen = 0;
    w->nchars = 0;
    w->out->word++;
    return true;
}

static bool wp_add_char(wp_state *w, int32_t c, size_t os, size_t oe) {
    if (!wp_reserve(w, 4)) return false;
    int k = utf8_encode(c, w->wb + w->wlen);
    for (int i = 0; i < k; i++) {
        w->wos[w->wlen + (size_t)i] = (int32_t)os;
        w->woe[w->wlen + (size_t)i] = (int32_t)oe;
    }
    w->wlen += (size_t)k;
    w->nchars++;
    return true;
}

/* One normalized code point into BertPreTokenizer: whitespace ends a word, punctuation is a word. */
static bool wp_feed(wp_state *w, int32_t c, size_t os, size_t oe) {
    unsigned p = props(c);
    if (p & UP_RWS) return wp_flush(w);
    if (p & UP_PUNCT) {
        if (!wp_flush(w) || !wp_add_char(w, c, os, oe)) return false;
        return wp_flush(w);
    }
    return wp_add_char(w, c, os, oe);
}

/* Lowercase (Rust's char::to_lowercase, every character of it aligned to the source character), then feed. */
static bool wp_feed_lower(wp_state *w, const bertc_tokenizer *t, int32_t c, size_t os, size_t oe) {
    if (t->lowercase) {
        int32_t lo[3];
        int k = uni_lower(c, lo);
        for (int i = 0; i < k; i++)
            if (!wp_feed(w, lo[i], os, oe)) return false;
        return true;
    }
    return wp_feed(w, c, os, oe);
}

/* BertNormalizer in its order (clean_text, CJK spacing, NFD + drop Mn, lowercase), then BertPreTokenizer and
 * WordPiece. ASCII text without accents to strip goes straight through; otherwise the segment is normalized as
 * a whole, since NFD reorders marks across characters. */
static bool wordpiece_segment(const bertc_tokenizer *t, wp_state *w, const unsigned char *s, size_t a, size_t b) {
    bool ascii = true;
    for (size_t i = a; i < b && ascii; i++) ascii = s[i] < 0x80;
    bool nfd = t->bert_normalizer && t->strip_accents && !ascii;
    nbuf *A = &w->na;
    A->n = 0;
    size_t i = a;
    while (i < b) {
        int32_t c;
        size_t l;
        if (s[i] < 0x80) {
            c = s[i];
            l = 1;
        } else {
            l = (size_t)utf8_decode(s + i, &c);
        }
        size_t os = i, oe = i + l;
        i += l;
        if (t->bert_normalizer) {
            if (t->clean_text) {
                unsigned p = props(c);
                if (c == '\t' || c == '\n' || c == '\r') c = ' ';
                else if (c == 0 || c == 0xFFFD || (p & UP_OTHER)) continue;
                else if (p & UP_RWS) c = ' ';
            }
            bool pad = t->chinese && c >= 0x3400 && is_cjk(c);
            if (nfd) {
                if ((pad && !nb_push(A, ' ', (int32_t)os, (int32_t)oe)) || !nb_push(A, c, (int32_t)os, (int32_t)oe) ||
                    (pad && !nb_push(A, ' ', (int32_t)os, (int32_t)oe)))
                    return false;
                continue;
            }
            if (pad) {
                if (!wp_flush(w) || !wp_feed_lower(w, t, c, os, oe) || !wp_flush(w)) return false;
                continue;
            }
            if (!wp_feed_lower(w, t, c, os, oe)) return false;
        } else if (!wp_feed(w, c, os, oe)) {
            return false;
        }
    }
    if (nfd) {
        if (!nb_decompose(A, &w->nb, 0, true, (int32_t)a, &w->tag, &w->tagcap)) return false;
        for (size_t k = 0; k < w->nb.n; k++)
            if (!wp_feed_lower(w, t, w->nb.cp[k], (size_t)w->nb.os[k], (size_t)w->nb.oe[k])) return false;
    }
    return wp_flush(w);
}

/* ---- byte-level BPE ---- */

/* a candidate merge of tokenizers' Word::merge_all queue: rank << 32 | position, and the merged id */
typedef struct bpe_cand {
    uint64_t key;
    int32_t id;
} bpe_cand;

typedef struct bpe_scratch {
    int32_t *sym, *ss, *se;
    uint32_t *prev, *next; /* the symbol list while merging (BPE_NONE: none) */
    bpe_cand *heap;        /* 3 per symbol: the first pairs, then at most two per merge */
    size_t cap;
    nbuf cps; /* the segment's code points, the prefix space included */
    bool no_byte; /* the last failure was a byte without a token (else: out of memory) */
} bpe_scratch;

#define BPE_NONE UINT32_MAX

/* room for n symbols in the BPE scratch */
static bool bpe_reserve(bpe_scratch *sc, size_t n) {
    if (n <= sc->cap) return true;
    if (n >= ((size_t)1 << 31) / 2) return false; /* positions are 32 bits */
    size_t nc = n * 2;
    bpe_cand *h = realloc(sc->heap, 3 * nc * sizeof *h);
    if (!h) return false;
    sc->heap = h;
    int32_t *x = realloc(sc->sym, nc * sizeof *x);
    if (!x) return false;
    sc->sym = x;
    x = realloc(sc->ss, nc * sizeof *x);
    if (!x) return false;
    sc->ss = x;
    x = realloc(sc->se, nc * sizeof *x);
    if (!x) return false;
    sc->se = x;
    uint32_t *u = realloc(sc->prev, nc * sizeof *u);
    if (!u) return false;
    sc->prev = u;
    u = realloc(sc->next, nc * sizeof *u);
    if (!u) return false;
    sc->next = u;
    sc->cap = nc;
    return true;
}

static inline uint64_t pair_rank(const bertc_tokenizer *t, int32_t a, int32_t b) {
    uint64_t v;
    return pairmap_get(&t->merges, ((uint64_t)(uint32_t)a << 32) | (uint32_t)b, &v) ? v : UINT64_MAX;
}

/* a min-heap on key (rank, then position) */
static void heap_push(bpe_cand *h, size_t *n, uint64_t key, int32_t id) {
    size_t i = (*n)++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (h[p].key <= key) break;
        h[i] = h[p];
        i = p;
    }
    h[i].key = key;
    h[i].id = id;
}

static bpe_cand heap_pop(bpe_cand *h, size_t *n) {
    bpe_cand top = h[0], last = h[--*n];
    size_t i = 0, m = *n;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= m) break;
        if (c + 1 < m && h[c + 1].key < h[c].key) c++;
        if (last.key <= h[c].key) break;
        h[i] = h[c];
        i = c;
    }
    if (m) h[i] = last;
    return top;
}

/* a candidate for the pair starting at symbol i, when the merges have it */
static inline void bpe_candidate(const bertc_tokenizer *t, bpe_scratch *sc, size_t *hn, uint32_t i, uint32_t j) {
    uint64_t v = pair_rank(t, sc->sym[i], sc->sym[j]);
    if (v != UINT64_MAX) heap_push(sc->heap, hn, (v >> 32) << 32 | i, (int32_t)(uint32_t)v);
}

/* Merges sc's n symbols as tokenizers' Word::merge_all does (without dropout): a queue of candidate merges by
 * (rank, position); a popped candidate whose left symbol is gone, is last, or whose pair no longer merges into the
 * candidate's id is skipped; a merge queues the pairs it forms with its neighbours. O(n log n) in the symbols.
 * ss/se follow the symbols. Returns the new count. */
static size_t bpe_merge(const bertc_tokenizer *t, bpe_scratch *sc, size_t n) {
    if (n < 2) return n;
    int32_t *sym = sc->sym;
    uint32_t *prev = sc->prev, *next = sc->next;
    size_t hn = 0;
    for (size_t i = 0; i < n; i++) {
        prev[i] = i ? (uint32_t)(i - 1) : BPE_NONE;
        next[i] = i + 1 < n ? (uint32_t)(i + 1) : BPE_NONE;
    }
    for (size_t i = 0; i + 1 < n; i++) bpe_candidate(t, sc, &hn, (uint32_t)i, (uint32_t)(i + 1));
    /* a removed symbol: sym -1 is never a token's id, and prev/next of it are not read again */
    while (hn) {
        bpe_cand top = heap_pop(sc->heap, &hn);
        uint32_t pos = (uint32_t)top.key, right = next[pos];
        if (sym[pos] < 0 || right == BPE_NONE) continue;
        uint64_t v = pair_rank(t, sym[pos], sym[right]);
        if (v == UINT64_MAX || (int32_t)(uint32_t)v != top.id) continue;
        sym[pos] = top.id;
        sc->se[pos] = sc->se[right];
        next[pos] = next[right];
        sym[right] = -1;
        if (next[right] != BPE_NONE) prev[next[right]] = pos;
        if (prev[pos] != BPE_NONE) bpe_candidate(t, sc, &hn, prev[pos], pos);
        if (next[pos] != BPE_NONE) bpe_candidate(t, sc, &hn, pos, next[pos]);
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (sym[i] < 0) continue;
        sym[k] = sym[i];
        sc->ss[k] = sc->ss[i];
        sc->se[k] = sc->se[i];
        k++;
    }
    return k;
}

/* BPE over the UTF-8 bytes of code points [ci, cj) of sc->cps, each byte aligned to its character's span. */
static bool bpe_piece(const bertc_tokenizer *t, bpe_scratch *sc, size_t ci, size_t cj, toklist *out) {
    const nbuf *cp = &sc->cps;
    size_t n = 0;
    for (size_t i = ci; i < cj; i++) n += (size_t)utf8_len(cp->cp[i]);
    if (n == 0) return true;
    if (!bpe_reserve(sc, n)) return false;
    size_t k = 0;
    unsigned char key[BPE_CACHE_KEY];
    for (size_t i = ci; i < cj; i++) {
        char u[4];
        int l = utf8_encode(cp->cp[i], u);
        for (int q = 0; q < l; q++, k++) {
            if (k < sizeof key) key[k] = (unsigned char)u[q];
            sc->sym[k] = t->byte_id[(unsigned char)u[q]];
            sc->ss[k] = cp->os[i];
            sc->se[k] = cp->oe[i];
            if (sc->sym[k] < 0) { /* reported by the caller as a byte without a token */
                sc->no_byte = true;
                return false;
            }
        }
    }
    if (t->ignore_merges && n <= sizeof key) {
        int32_t id = strmap_get(&t->vocab, (const char *)key, n);
        if (id >= 0) return tl_push(out, id, (size_t)sc->ss[0], (size_t)sc->se[n - 1]);
    }
    /* a piece seen before: its tokens from the cache, offsets from this piece's bytes */
    bool cacheable = t->bcache && n <= BPE_CACHE_KEY;
    uint32_t h = 0;
    if (cacheable) {
        h = bertc_hash((const char *)key, n);
        int32_t ids[BPE_CACHE_TOKENS];
        uint8_t ends[BPE_CACHE_TOKENS];
        int nt = bpe_cache_get(t->bcache, h, key, n, ids, ends);
        if (nt > 0) {
            size_t st = 0;
            for (int q = 0; q < nt; q++) {
                if (!tl_push(out, ids[q], (size_t)sc->ss[st], (size_t)sc->se[ends[q] - 1])) return false;
                st = ends[q];
            }
            return true;
        }
    }
    n = bpe_merge(t, sc, n);
    if (cacheable && n <= BPE_CACHE_TOKENS) {
        /* the byte ends of the tokens: each symbol's bytes counted from its vocab entry */
        uint8_t ends[BPE_CACHE_TOKENS];
        size_t e = 0;
        bool ok = true;
        for (size_t i = 0; i < n && ok; i++) {
            size_t bl = t->tok_bytes ? t->tok_bytes[sc->sym[i]] : 0;
            if (!bl) ok = false;
            e += bl;
            ends[i] = (uint8_t)e;
        }
        if (ok && e == (size_t)ends[n - 1] && e <= BPE_CACHE_KEY) bpe_cache_put(t->bcache, h, key, e, sc->sym, ends, (int)n);
    }
    for (size_t i = 0; i < n; i++)
        if (!tl_push(out, sc->sym[i], (size_t)sc->ss[i], (size_t)sc->se[i])) return false;
    return true;
}

/* BPE over characters (models/bpe merge_word): each character a symbol (the subword prefix before all but the
 * first, the word suffix after the last), unknown ones as byte-fallback tokens <0xXX> or the unk token (runs
 * fused when fuse_unk), then merges by rank. Offsets are the characters' spans. */
/* BytesToCharOffsetConverter over the sequence: the character holding byte b, or -1 past the end */
static int32_t byte_char(const unsigned char *s, size_t len, size_t b) {
    if (b >= len) return -1;
    int32_t c = -1;
    for (size_t i = 0; i <= b; i++) c += (s[i] & 0xC0) != 0x80;
    return c;
}

static bool bpe_chars_piece(const bertc_tokenizer *t, bpe_scratch *sc, const nbuf *cps, size_t a, size_t b,
                            toklist *out, bool *unk_missing, const unsigned char *text, size_t text_len) {
    /* a character's byte fallback covers the prefix and suffix too */
    size_t cap = (b - a) * (4 + strlen(t->bpe_prefix) + strlen(t->bpe_suffix)) + 1;
    if (!bpe_reserve(sc, cap)) return false;
    if (t->ignore_merges) {
        char w[1024];
        size_t wl = 0;
        for (size_t i = a; i < b && wl + 4 < sizeof w; i++) wl += (size_t)utf8_encode(cps->cp[i], w + wl);
        int32_t id = strmap_get(&t->vocab, w, wl);
        if (id >= 0) return tl_push(out, id, (size_t)cps->os[a], (size_t)cps->oe[b - 1]);
    }
    /* the symbols in tokenizers' order with their byte lengths (ss holds the length until spans are set): a
     * pending unknown run is added only when a known character or the end comes, byte-fallback tokens are not
     * waited for, and a fallback covers the prefix's and suffix's bytes too */
    size_t n = 0, pl = strlen(t->bpe_prefix), xl = strlen(t->bpe_suffix);
    int32_t pend_len = 0;
    bool pending = false;
    for (size_t i = a; i < b; i++) {
        char key[48];
        size_t kl = 0;
        if (i > a) {
            memcpy(key, t->bpe_prefix, pl);
            kl = pl;
        }
        char u[4];
        int ul = utf8_encode(cps->cp[i], u);
        memcpy(key + kl, u, (size_t)ul);
        kl += (size_t)ul;
        if (i + 1 == b) {
            memcpy(key + kl, t->bpe_suffix, xl);
            kl += xl;
        }
        int32_t id = strmap_get(&t->vocab, key, kl);
        if (id >= 0) {
            if (pending) {
                sc->sym[n] = t->unk_id;
                sc->ss[n++] = pend_len;
                pending = false;
            }
            sc->sym[n] = id;
            sc->ss[n++] = ul;
            continue;
        }
        if (t->bpe_byte_fallback) {
            int32_t ids[48];
            bool all = true;
            for (size_t q = 0; q < kl && all; q++) {
                char bk[8];
                snprintf(bk, sizeof bk, "<0x%02X>", (unsigned char)key[q]);
                ids[q] = strmap_get(&t->vocab, bk, 6);
                all = ids[q] >= 0;
            }
            if (all) {
                for (size_t q = 0; q < kl; q++) {
                    sc->sym[n] = ids[q];
                    sc->ss[n++] = 1;
                }
                continue;
            }
        }
        if (!t->has_unk_token) continue; /* no unk token: the character is dropped, as tokenizers drops it */
        if (t->unk_id < 0) {
            *unk_missing = true;
            return false;
        }
        if (pending && t->fuse_unk) {
            pend_len += ul;
        } else {
            if (pending) {
                sc->sym[n] = t->unk_id;
                sc->ss[n++] = pend_len;
            }
            pending = true;
            pend_len = ul;
        }
    }
    if (pending) {
        sc->sym[n] = t->unk_id;
        sc->ss[n++] = pend_len;
    }
    /* the symbols' byte ranges in the piece, counted from their lengths as Word's offsets are */
    size_t pos = 0;
    for (size_t k = 0; k < n; k++) {
        size_t len = (size_t)sc->ss[k];
        sc->ss[k] = (int32_t)pos;
        sc->se[k] = (int32_t)(pos + len);
        pos += len;
    }
    n = bpe_merge(t, sc, n);
    /* byte ranges to the original spans of the characters holding their first and last bytes */
    size_t nbytes = 0;
    for (size_t i = a; i < b; i++) nbytes += (size_t)utf8_len(cps->cp[i]);
    size_t ci = a, cb = 0; /* the character holding byte rs: token starts only grow, so the walk goes on */
    for (size_t k = 0; k < n; k++) {
        size_t rs = (size_t)sc->ss[k], re = (size_t)sc->se[k];
        if (re > nbytes) {
            /* a byte fallback that covers the word suffix runs past the piece: tokenizers cannot align it and
             * keeps the piece-relative byte offsets, read as offsets into the sequence (in characters where they
             * fall inside it); stored as character offsets, the start negated */
            int32_t cs = byte_char(text, text_len, rs), ce;
            if (cs >= 0) {
                ce = byte_char(text, text_len, re);
                if (ce < 0) {
                    int32_t last = byte_char(text, text_len, re - 1);
                    ce = (last >= 0 ? last : cs + 1) + 1;
                }
            } else {
                cs = (int32_t)rs;
                ce = (int32_t)re;
            }
            if (!tl_push(out, sc->sym[k], 0, 0)) return false;
            out->start[out->n - 1] = -cs - 1;
            out->end[out->n - 1] = ce;
            continue;
        }
        while (ci + 1 < b && cb + (size_t)utf8_len(cps->cp[ci]) <= rs) cb += (size_t)utf8_len(cps->cp[ci++]);
        size_t cj = ci, cjb = cb;
        while (cj + 1 < b && cjb + (size_t)utf8_len(cps->cp[cj]) < re) cjb += (size_t)utf8_len(cps->cp[cj++]);
        if (!tl_push(out, sc->sym[k], (size_t)cps->os[ci], (size_t)cps->oe[cj])) return false;
    }
    return true;
}

/* ByteLevel: the prefix space (aligned to the first character, as NormalizedString::prepend does), then the
 * GPT-2 pattern  's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+  by hand over code
 * points, then BPE on each match's bytes. */
static bool bpe_segment(const bertc_tokenizer *t, bpe_scratch *sc, const unsigned char *s, size_t a, size_t b,
                        toklist *out) {
    nbuf *A = &sc->cps;
    A->n = 0;
    sc->no_byte = false;
    if (a >= b) return true;
    for (size_t i = a; i < b;) {
        int32_t c;
        size_t l = (size_t)utf8_decode(s + i, &c);
        if (i == a && t->add_prefix_space && c != ' ' && !nb_push(A, ' ', (int32_t)i, (int32_t)(i + l))) return false;
        if (!nb_push(A, c, (int32_t)i, (int32_t)(i + l))) return false;
        i += l;
    }
    for (size_t i = 0, j; i < A->n; i = j) {
        j = gpt2_match_end(A->cp, A->n, i);
        if (!bpe_piece(t, sc, i, j, out)) return false;
        out->word++;
    }
    return true;
}

/* ---- added tokens and whole sequences ---- */

static int32_t cp_before(const unsigned char *s, size_t i, size_t *at) {
    size_t k = i - 1;
    while (k > 0 && (s[k] & 0xC0) == 0x80) k--;
    int32_t c;
    utf8_decode(s + k, &c);
    *at = k;
    return c;
}

/* regex's \w$ on s[..i] and ^\w on s[i..len] (added tokens' single_word) */
static bool word_char_before(const unsigned char *s, size_t i) {
    size_t k;
    return i > 0 && (props(cp_before(s, i, &k)) & UP_W);
}

static bool word_char_at(const unsigned char *s, size_t i, size_t len) {
    if (i >= len) return false;
    int32_t c;
    utf8_decode(s + i, &c);
    return (props(c) & UP_W) != 0;
}

typedef struct enc_scratch {
    wp_state wp;
    bpe_scratch bpe;
    nbuf seg;
    pieces pcs;
    unigram_scratch uni;
    bertc_error err; /* the pipeline's own failure (a pattern's step budget), when it has one */
    bool failed;
    const unsigned char *text; /* the sequence being encoded (for offsets tokenizers cannot align) */
    size_t text_len;
} enc_scratch;

static bool push_token(void *ctx, int32_t id, size_t s, size_t e) { return tl_push(ctx, id, s, e); }

/* The pieces of seg[a, b) through the model. */
static bool model_pieces(const bertc_tokenizer *t, enc_scratch *sc, size_t a, size_t b, toklist *out) {
    if (a >= b) return true;
    if (pipeline_pretokenize(t, &sc->seg, a, b, &sc->pcs, &sc->err)) {
        sc->failed = true;
        return false;
    }
    const pieces *p = &sc->pcs;
    for (size_t k = 0; k < p->n; k++) {
        size_t ps = p->start[k], pe = p->start[k + 1];
        if (ps == pe) continue; /* tokenizers drops empty splits */
        if (t->kind == TOK_WORDPIECE) {
            sc->wp.t = t;
            sc->wp.out = out;
            for (size_t i = ps; i < pe; i++)
                if (!wp_add_char(&sc->wp, p->cps.cp[i], (size_t)p->cps.os[i], (size_t)p->cps.oe[i])) return false;
            if (!wp_flush(&sc->wp)) return false;
        } else if (t->kind == TOK_BPE && t->bpe_chars) {
            bool unk_missing = false;
            if (!bpe_chars_piece(t, &sc->bpe, &p->cps, ps, pe, out, &unk_missing, sc->text, sc->text_len)) {
                if (unk_missing) {
                    bertc_fail(&sc->err, BERTC_ERR_INPUT, "tokenizer: an unknown character and BPE's unk_token is not "
                               "in the vocab");
                    sc->failed = true;
                }
                return false;
            }
        } else if (t->kind == TOK_BPE) {
            nbuf *c = &sc->bpe.cps;
            c->n = 0;
            for (size_t i = ps; i < pe; i++)
                if (!nb_push(c, p->cps.cp[i], p->cps.os[i], p->cps.oe[i])) return false;
            if (!bpe_piece(t, &sc->bpe, 0, c->n, out)) return false;
        } else if (!unigram_piece(t, &p->cps, ps, pe, &sc->uni, push_token, out)) {
            if (t->unk_id < 0) {
                bertc_fail(&sc->err, BERTC_ERR_INPUT, "tokenizer: an unknown piece and the Unigram model has no unk_id");
                sc->failed = true;
            }
            return false;
        }
        if (t->kind != TOK_WORDPIECE) out->word++; /* the next split (wp_flush counts WordPiece's words) */
    }
    return true;
}

/* The pipeline (pipeline.c) normalizes; added tokens with normalized=true are then cut out of the normalized
 * text (their normalized content, leftmost-longest, single_word / lstrip / rstrip judged on the normalized text,
 * as AddedVocabulary's normalized trie does); the rest is pre-tokenized and goes through the model. */
static bool generic_segment(const bertc_tokenizer *t, enc_scratch *sc, const unsigned char *s, size_t a, size_t b,
                            toklist *out) {
    nbuf *g = &sc->seg;
    g->n = 0;
    for (size_t i = a; i < b;) {
        int32_t c;
        size_t l = (size_t)utf8_decode(s + i, &c);
        if (!nb_push(g, c, (int32_t)i, (int32_t)(i + l))) return false;
        i += l;
    }
    if (pipeline_normalize(t, g, (int32_t)a, &sc->err)) {
        sc->failed = true;
        return false;
    }
    size_t gap = 0, pos = 0;
    while (t->n_norm_added && pos < g->n) {
        int best = -1;
        for (int k = 0; k < t->n_added; k++) {
            const added_token *at = &t->added[k];
            if (!at->ncp || at->nn > g->n - pos || (best >= 0 && at->nn <= t->added[best].nn)) continue;
            if (!memcmp(g->cp + pos, at->ncp, at->nn * sizeof *at->ncp)) best = k;
        }
        if (best < 0) {
            pos++;
            continue;
        }
        const added_token *at = &t->added[best];
        size_t ms = pos, me = pos + at->nn;
        if (at->single_word && ((ms > 0 && (props(g->cp[ms - 1]) & UP_W)) || (me < g->n && (props(g->cp[me]) & UP_W)))) {
            pos = me;
            continue;
        }
        if (at->lstrip)
            while (ms > gap && (props(g->cp[ms - 1]) & UP_RS)) ms--;
        if (at->rstrip)
            while (me < g->n && (props(g->cp[me]) & UP_RS)) me++;
        if (!model_pieces(t, sc, gap, ms, out)) return false;
        if (!tl_push(out, at->id, (size_t)g->os[ms], (size_t)g->oe[me - 1])) return false;
        out->word++;
        gap = pos = me;
    }
    return model_pieces(t, sc, gap, g->n, out);
}

static bool model_segment(const bertc_tokenizer *t, enc_scratch *sc, const unsigned char *s, size_t a, size_t b,
                          toklist *out) {
    if (a >= b) return true;
    if (t->generic) return generic_segment(t, sc, s, a, b, out);
    if (t->kind == TOK_WORDPIECE) {
        sc->wp.t = t;
        sc->wp.out = out;
        return wordpiece_segment(t, &sc->wp, s, a, b);
    }
    return bpe_segment(t, &sc->bpe, s, a, b, out);
}

static bertc_status segment_failure(const bertc_tokenizer *t, const enc_scratch *sc, bertc_error *err) {
    if (sc->failed) {
        if (err) *err = sc->err;
        return sc->err.status ? sc->err.status : BERTC_ERR_INPUT;
    }
    if (t->kind == TOK_BPE && sc->bpe.no_byte)
        return bertc_fail(err, BERTC_ERR_FORMAT, "tokenizer: a byte has no token in the vocab");
    return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory while tokenizing");
}

/* Added tokens are cut out of the raw text first, as AddedVocabulary::find_matches does with its leftmost-longest
 * automaton: the leftmost match wins and the longest at that position; matching resumes after it even when
 * single_word then discards it. lstrip / rstrip take the regex \s around it into the token's span. */
static bertc_status encode_one(const bertc_tokenizer *t, enc_scratch *sc, const char *text, size_t len, toklist *out,
                               bertc_error *err) {
    size_t bad = utf8_validate(text, len);
    if (bad != len) return bertc_fail(err, BERTC_ERR_INPUT, "invalid UTF-8 at byte %zu", bad);
    const unsigned char *s = (const unsigned char *)text;
    sc->text = s;
    sc->text_len = len;
    size_t seg = 0, i = 0;
    while (i < len) {
        if (!t->added_first_byte[s[i]]) {
            i++;
            continue;
        }
        int best = -1;
        for (int k = 0; k < t->n_added; k++) {
            const added_token *at = &t->added[k];
            if (at->ncp) continue; /* matched after normalization */
            if (at->len <= len - i && memcmp(s + i, at->content, at->len) == 0 &&
                (best < 0 || at->len > t->added[best].len))
                best = k;
        }
        if (best < 0) {
            i++;
            continue;
        }
        const added_token *at = &t->added[best];
        size_t ms = i, me = i + at->len;
        if (at->single_word && (word_char_before(s, ms) || word_char_at(s, me, len))) {
            i = me;
            continue;
        }
        if (at->lstrip) {
            size_t k;
            while (ms > seg && (props(cp_before(s, ms, &k)) & UP_RS)) ms = k;
        }
        if (at->rstrip) {
            while (me < len) {
                int32_t c;
                int l = utf8_decode(s + me, &c);
                if (!(props(c) & UP_RS)) break;
                me += (size_t)l;
            }
        }
        if (!model_segment(t, sc, s, seg, ms, out)) return segment_failure(t, sc, err);
        if (!tl_push(out, at->id, ms, me)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory while tokenizing");
        out->word++;
        seg = i = me;
    }
    if (!model_segment(t, sc, s, seg, len, out)) return segment_failure(t, sc, err);
    return BERTC_OK;
}

bertc_encode_params bertc_encode_default_params(void) {
    bertc_encode_params p = {1, 1, 0, -1, BERTC_TRUNCATE_DEFAULT};
    return p;
}

void bertc_encoding_free(bertc_encoding *e) {
    if (!e) return;
    free(e->ids);
    free(e->type_ids);
    free(e->attention_mask);
    free(e->offsets);
    free(e->special);
    free(e->sequence);
    free(e->word_ids);
    memset(e, 0, sizeof *e);
}

/* tab[i] = number of code points that start before byte i: a start offset's char index, or an exclusive
 * end offset's char index. */
static int32_t *char_index_table(const char *s, size_t len) {
    int32_t *tab = malloc((len + 1) * sizeof *tab);
    if (!tab) return NULL;
    int32_t c = 0;
    for (size_t i = 0; i < len; i++) {
        tab[i] = c;
        if (((unsigned char)s[i] & 0xC0) != 0x80) c++;
    }
    tab[len] = c;
    return tab;
}

/* Leading and trailing 'Ġ' or whitespace characters of a token's value. */
void token_space_counts(const char *v, size_t l, int *lead, int *trail) {
    *lead = *trail = 0;
    size_t i = 0;
    while (i < l) {
        int32_t c;
        int k = utf8_decode((const unsigned char *)v + i, &c);
        if (c != 0x120 && !is_ws(c)) break;
        (*lead)++;
        i += (size_t)k;
    }
    if (i == l) {
        *trail = *lead;
        return;
    }
    size_t e = l;
    while (e > i) {
        size_t k = e - 1;
        while (k > i && ((unsigned char)v[k] & 0xC0) == 0x80) k--;
        int32_t c;
        utf8_decode((const unsigned char *)v + k, &c);
        if (c != 0x120 && !is_ws(c)) break;
        (*trail)++;
        e = k;
    }
}

/* The ByteLevel / RobertaProcessing post-processor's trim_offsets (byte_level.rs process_offsets), on the kept
 * tokens after truncation, in characters. The value of an added token is the text it took, stripped spaces
 * included; that of a BPE token its byte-level form. Offsets come back as character indices: the caller's table
 * is then not applied again (ct NULL). */
static void trim_offsets(const bertc_tokenizer *t, toklist *l, const char *text, const int32_t *ct) {
    for (size_t q = 0; q < l->n; q++) {
        int lead, trail;
        int32_t id = l->ids[q];
        if (t->tok_flags[id] & 1) token_space_counts(text + l->start[q], (size_t)(l->end[q] - l->start[q]), &lead, &trail);
        else {
            lead = t->tok_lead[id];
            trail = t->tok_trail[id];
        }
        int32_t os = l->start[q] < 0 ? -l->start[q] - 1 : ct[l->start[q]], oe = l->start[q] < 0 ? l->end[q] : ct[l->end[q]];
        if (lead > 0) {
            if ((q == 0 || os == 0) && t->post_prefix && lead == 1) lead = 0;
            os = os + lead < oe ? os + lead : oe;
        }
        if (trail > 0 && oe >= trail) oe = oe - trail > os ? oe - trail : os;
        l->start[q] = os;
        l->end[q] = oe;
    }
    l->chars = true;
}

bertc_status bertc_tokenize(const bertc_tokenizer *t, const char *text, size_t text_len, const char *pair,
                            size_t pair_len, const bertc_encode_params *p, bertc_encoding *out, bertc_error *err) {
    if (!t || !out || (!text && text_len)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_tokenize: NULL argument");
    memset(out, 0, sizeof *out);
    bertc_encode_params dp = bertc_encode_default_params();
    if (!p) p = &dp;
    if (!text) text = "";
    /* an empty pair is a pair, as the tokenizers crate encodes it ([CLS] A [SEP] [SEP]) and transformers' batched
     * calls do; a single call to transformers' tokenizer with text_pair="" (falsy) has none: its callers (the
     * pipelines, the Python tokenizer's single call) pass NULL for it */
    toklist A = {0}, B = {0};
    enc_scratch sc;
    memset(&sc, 0, sizeof sc);
    int32_t *ctA = NULL, *ctB = NULL;
    bertc_status s = encode_one(t, &sc, text, text_len, &A, err);
    if (!s && pair) s = encode_one(t, &sc, pair, pair_len, &B, err);
    if (s) goto done;

    bool specials = p->add_special_tokens && t->has_post;
    const tmpl_item *tm = pair ? t->tpair : t->tsingle;
    int n_tm = pair ? t->n_tpair : t->n_tsingle;
    size_t n_added = 0;
    if (specials)
        for (int q = 0; q < n_tm; q++) n_added += (size_t)(tm[q].seq < 0 ? tm[q].n_ids : 0);
    int max_len = p->max_length > 0 ? p->max_length : tokenizer_default_max_length(t);
    size_t total = A.n + B.n + n_added;
    if (total > (size_t)max_len) {
        if (!p->truncation) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "input is %zu tokens, longer than the maximum %d (truncation is off)",
                           total, max_len);
            goto done;
        }
        if ((size_t)max_len < n_added) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "max_length %d is shorter than the %zu special tokens", max_len, n_added);
            goto done;
        }
        size_t room = (size_t)max_len - n_added;
        bool left = p->truncate_left < 0 ? t->trunc_left : p->truncate_left != 0;
        int strat = p->truncation_strategy ? p->truncation_strategy : t->trunc_strategy;
        if (strat == BERTC_TRUNCATE_ONLY_FIRST || strat == BERTC_TRUNCATE_ONLY_SECOND) {
            /* tokenizers: only that sequence loses tokens, and it must be longer than what goes */
            toklist *tg = strat == BERTC_TRUNCATE_ONLY_FIRST ? &A : &B;
            size_t remove = A.n + B.n - room;
            if (strat == BERTC_TRUNCATE_ONLY_SECOND && !pair) {
                s = bertc_fail(err, BERTC_ERR_INPUT, "truncation only_second needs a second sequence");
                goto done;
            }
            if (tg->n <= remove) {
                s = bertc_fail(err, BERTC_ERR_INPUT, "truncation %s: the sequence is %zu tokens, too short to lose %zu",
                               strat == BERTC_TRUNCATE_ONLY_FIRST ? "only_first" : "only_second", tg->n, remove);
                goto done;
            }
            tl_keep(tg, tg->n - remove, left);
        } else if (!pair) {
            tl_keep(&A, room, left);
        } else {
            /* tokenizers' LongestFirst (utils/truncation.rs): the shorter keeps its length up to half, the longer takes
             * the rest; when both are longer than half, each gets half (the second the odd one) */
            size_t n1 = A.n, n2 = B.n;
            bool swap = n1 > n2;
            if (swap) { size_t tmp = n1; n1 = n2; n2 = tmp; }
            if (n1 > room) n2 = n1;
            else n2 = n1 > room - n1 ? n1 : room - n1;
            if (n1 + n2 > room) {
                n1 = room / 2;
                n2 = n1 + room % 2;
            }
            if (swap) { size_t tmp = n1; n1 = n2; n2 = tmp; }
            if (A.n > n1) tl_keep(&A, n1, left);
            if (B.n > n2) tl_keep(&B, n2, left);
        }
    }
    size_t n = A.n + B.n;
    if (t->has_post && (specials || t->post_template)) {
        /* what the template emits: a sequence may appear in it once, twice or not at all */
        n = 0;
        for (int q = 0; q < n_tm; q++)
            n += tm[q].seq < 0 ? (specials ? (size_t)tm[q].n_ids : 0) : tm[q].seq == 0 ? A.n : pair ? B.n : 0;
    }
    out->n = n;
    out->ids = malloc((n ? n : 1) * sizeof *out->ids);
    out->type_ids = malloc((n ? n : 1) * sizeof *out->type_ids);
    out->attention_mask = malloc((n ? n : 1) * sizeof *out->attention_mask);
    out->offsets = malloc((n ? n : 1) * 2 * sizeof *out->offsets);
    out->special = malloc(n ? n : 1);
    out->sequence = malloc(n ? n : 1);
    out->word_ids = malloc((n ? n : 1) * sizeof *out->word_ids);
    ctA = char_index_table(text, text_len);
    ctB = pair ? char_index_table(pair, pair_len) : NULL;
    if (!out->ids || !out->type_ids || !out->attention_mask || !out->offsets || !out->special || !out->sequence ||
        !out->word_ids || !ctA ||
        (pair && !ctB)) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory while tokenizing");
        goto done;
    }
    size_t k = 0;
#define EMIT(id_, type_, s_, e_, sp_, seq_, word_)                                                                    \
    do {                                                                                                             \
        out->word_ids[k] = (word_);                                                                                  \
        out->ids[k] = (id_);                                                                                         \
        out->type_ids[k] = (type_);                                                                                  \
        out->attention_mask[k] = 1;                                                                                  \
        out->offsets[2 * k] = (s_);                                                                                  \
        out->offsets[2 * k + 1] = (e_);                                                                              \
        out->special[k] = (sp_);                                                                                     \
        out->sequence[k] = (seq_);                                                                                   \
        k++;                                                                                                         \
    } while (0)
    if (t->post_trim) {
        trim_offsets(t, &A, text, ctA);
        if (pair) trim_offsets(t, &B, pair, ctB);
    }
/* character offsets; a negative start marks offsets already in characters (start -c-1) */
#define CHR(L, ct, f)                                                                                                \
    ((L).chars ? (L).f[i] : (L).start[i] < 0 ? (&(L).f[i] == &(L).start[i] ? -(L).start[i] - 1 : (L).end[i])         \
                                             : (ct)[(L).f[i]])
    if (t->has_post && (specials || t->post_template)) {
        /* the template: special tokens when asked for, and its type ids for the sequences */
        for (int q = 0; q < n_tm; q++) {
            const tmpl_item *it = &tm[q];
            if (it->seq < 0) {
                if (specials)
                    for (int j = 0; j < it->n_ids; j++) EMIT(it->ids[j], it->type_id, 0, 0, 1, 255, -1);
            } else if (it->seq == 0) {
                for (size_t i = 0; i < A.n; i++) EMIT(A.ids[i], it->type_id, CHR(A, ctA, start), CHR(A, ctA, end), 0, 0, A.words[i]);
            } else if (pair) {
                for (size_t i = 0; i < B.n; i++) EMIT(B.ids[i], it->type_id, CHR(B, ctB, start), CHR(B, ctB, end), 0, 1, B.words[i]);
            }
        }
    } else {
        for (size_t i = 0; i < A.n; i++) EMIT(A.ids[i], 0, CHR(A, ctA, start), CHR(A, ctA, end), 0, 0, A.words[i]);
        if (pair)
            for (size_t i = 0; i < B.n; i++) EMIT(B.ids[i], 1, CHR(B, ctB, start), CHR(B, ctB, end), 0, 1, B.words[i]);
    }
#undef EMIT
#undef CHR
    /* added tokens inside the text are special too when flagged so */
    for (size_t i = 0; i < n; i++)
        if (t->tok_flags[out->ids[i]] & 2) out->special[i] = 1;
done:
    if (s) bertc_encoding_free(out);
    free(ctA);
    free(ctB);
    tl_free(&A);
    tl_free(&B);
    free(sc.wp.wb);
    free(sc.wp.wos);
    free(sc.wp.woe);
    nb_free(&sc.wp.na);
    nb_free(&sc.wp.nb);
    free(sc.wp.tag);
    free(sc.bpe.sym);
    free(sc.bpe.ss);
    free(sc.bpe.se);
    nb_free(&sc.bpe.cps);
    nb_free(&sc.seg);
    pieces_free(&sc.pcs);
    unigram_scratch_free(&sc.uni);
    free(sc.bpe.heap);
    free(sc.bpe.prev);
    free(sc.bpe.next);
    return s;
}

size_t tokenizer_windows(size_t n, size_t keep, size_t stride, size_t *step) {
    if (keep >= n) {
        *step = keep ? keep : 1;
        return 1;
    }
    *step = keep - stride;
    size_t w = 0;
    for (size_t a = 0;; a += *step) {
        w++;
        if (a + keep >= n) break;
    }
    return w;
}

size_t tokenizer_added_count(const bertc_tokenizer *t, bool pair) {
    if (!t->has_post) return 0;
    const tmpl_item *tm = pair ? t->tpair : t->tsingle;
    int n_tm = pair ? t->n_tpair : t->n_tsingle;
    size_t n = 0;
    for (int k = 0; k < n_tm; k++) n += tm[k].seq < 0 ? (size_t)tm[k].n_ids : 0;
    return n;
}

bertc_status tokenizer_emit_window(const bertc_tokenizer *t, bool specials, const bertc_encoding *a, size_t a0, size_t a1,
                                   const bertc_encoding *b, size_t b0, size_t b1, bertc_encoding *out, bertc_error *err) {
    memset(out, 0, sizeof *out);
    const tmpl_item *tm = t->has_post && specials ? (b ? t->tpair : t->tsingle) : NULL;
    int n_tm = tm ? (b ? t->n_tpair : t->n_tsingle) : 0;
    size_t n = (a1 - a0) + (b ? b1 - b0 : 0) + (tm ? tokenizer_added_count(t, b != NULL) : 0);
    out->ids = malloc((n ? n : 1) * sizeof *out->ids);
    out->type_ids = malloc((n ? n : 1) * sizeof *out->type_ids);
    out->attention_mask = malloc((n ? n : 1) * sizeof *out->attention_mask);
    out->offsets = malloc((n ? n : 1) * 2 * sizeof *out->offsets);
    out->special = malloc(n ? n : 1);
    out->sequence = malloc(n ? n : 1);
    out->word_ids = malloc((n ? n : 1) * sizeof *out->word_ids);
    if (!out->ids || !out->type_ids || !out->attention_mask || !out->offsets || !out->special || !out->sequence ||
        !out->word_ids) {
        bertc_encoding_free(out);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    size_t k = 0;
#define EMIT_FROM(e_, i_, type_, seq_)                                                                                \
    do {                                                                                                             \
        out->ids[k] = (e_)->ids[i_], out->type_ids[k] = (type_), out->attention_mask[k] = 1;                         \
        out->offsets[2 * k] = (e_)->offsets[2 * (i_)], out->offsets[2 * k + 1] = (e_)->offsets[2 * (i_) + 1];        \
        out->word_ids[k] = (e_)->word_ids ? (e_)->word_ids[i_] : -1;                                                 \
        out->special[k] = (e_)->special[i_], out->sequence[k] = (seq_), k++;                                         \
    } while (0)
    if (n_tm) {
        for (int it = 0; it < n_tm; it++) {
            if (tm[it].seq < 0) {
                for (int j = 0; j < tm[it].n_ids; j++) {
                    out->ids[k] = tm[it].ids[j], out->type_ids[k] = tm[it].type_id, out->attention_mask[k] = 1;
                    out->offsets[2 * k] = out->offsets[2 * k + 1] = 0, out->special[k] = 1, out->sequence[k] = 255;
                    out->word_ids[k++] = -1;
                }
            } else if (tm[it].seq == 0) {
                for (size_t i = a0; i < a1; i++) EMIT_FROM(a, i, tm[it].type_id, 0);
            } else if (b) {
                for (size_t i = b0; i < b1; i++) EMIT_FROM(b, i, tm[it].type_id, 1);
            }
        }
    } else {
        for (size_t i = a0; i < a1; i++) EMIT_FROM(a, i, 0, 0);
        for (size_t i = b0; b && i < b1; i++) EMIT_FROM(b, i, 1, 1);
    }
#undef EMIT_FROM
    out->n = k;
    return BERTC_OK;
}
