/*
 * ner.c — bertc_token_classify: transformers' TokenClassificationPipeline (pipelines/token_classification.py) over
 * the token-classification head. Per token, the numpy softmax of its logits (float32); special tokens are left out;
 * then the aggregation strategy:
 *  - none: one entity per token, its best label;
 *  - simple: the tokens' best labels, then runs of one type grouped (a B- starts a new group);
 *  - first / average / max: tokens joined into words first (a word-aware tokenizer — WordPiece's "##" prefix — says
 *    which tokens continue a word; others use the pipeline's heuristic: no space before the token), the word's label
 *    from its first token, the mean of its tokens' scores, or its best-scoring token, then grouped as simple.
 * Group scores are the mean of their members' scores; words are the tokens run through the tokenizer's decoder
 * (convert_tokens_to_string); labels in ignore_labels (default "O") are dropped last.
 */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

bertc_token_class_params bertc_token_class_default_params(void) {
    bertc_token_class_params p;
    memset(&p, 0, sizeof p);
    p.aggregation = BERTC_AGGREGATE_NONE;
    p.ignore_labels = NULL;
    p.n_ignore = 0;
    p.encode = bertc_encode_default_params();
    p.stride = 0;
    return p;
}

void bertc_token_class_result_free(bertc_token_class_result *r) {
    if (!r) return;
    for (size_t i = 0; r->entities && i < r->n; i++) free(r->entities[i].word);
    free(r->entities);
    memset(r, 0, sizeof *r);
}

/* a token (or a word) on its way through aggregation */
typedef struct pre_ent {
    const char *word; /* token string, or the text it covers (unknown tokens), or an aggregated word (owned) */
    size_t word_len;
    char *owned;
    const float *scores; /* L */
    int label;           /* argmax */
    float score;
    int index, start, end;
    bool subword;
} pre_ent;

static int argmax(const float *v, int n) {
    int b = 0;
    for (int i = 1; i < n; i++)
        if (v[i] > v[b]) b = i; /* numpy's argmax: the first of equal maxima */
    return b;
}

static size_t cp_count(const char *s, size_t n) {
    size_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)s[i] & 0xC0) != 0x80;
    return c;
}

/* get_tag: ("B", type) for B-x, ("I", type) for I-x, else ("I", the whole label) */
static const char *tag_of(const char *label, char *bi) {
    if ((label[0] == 'B' || label[0] == 'I') && label[1] == '-') {
        *bi = label[0];
        return label + 2;
    }
    *bi = 'I';
    return label;
}

static bool ignored(const bertc_token_class_params *p, const char *label) {
    if (!p->ignore_labels) return !strcmp(label, "O");
    for (size_t i = 0; i < p->n_ignore; i++)
        if (p->ignore_labels[i] && !strcmp(p->ignore_labels[i], label)) return true;
    return false;
}

/* convert_tokens_to_string over the words of ents[a, b) */
static bertc_status join_words(const bertc_tokenizer *tok, const pre_ent *ents, size_t a, size_t b, char **out,
                               bertc_error *err) {
    const char **w = malloc((b - a) * sizeof *w);
    size_t *l = malloc((b - a) * sizeof *l);
    bertc_status s = w && l ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = a; i < b && !s; i++) {
        w[i - a] = ents[i].word;
        l[i - a] = ents[i].word_len;
    }
    if (!s) s = tokenizer_decode_tokens(tok, w, l, b - a, out, NULL, err);
    free(w);
    free(l);
    return s;
}

static bertc_status push(bertc_token_class_result *r, size_t *cap, const bertc_token_entity *e, bertc_error *err) {
    if (r->n == *cap) {
        size_t nc = *cap ? *cap * 2 : 16;
        bertc_token_entity *ne = realloc(r->entities, nc * sizeof *ne);
        if (!ne) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        r->entities = ne;
        *cap = nc;
    }
    r->entities[r->n++] = *e;
    return BERTC_OK;
}

/* One encoding (the whole text, or one chunk of it) through the head and the aggregation; its entities are appended
 * to out (capacity *cap). */
static bertc_status classify_encoding(const bertc_model *m, const char *text, size_t len, const bertc_encoding *ep,
                                      const bertc_token_class_params *p, bertc_token_class_result *out, size_t *capp,
                                      bertc_error *err) {
    const bertc_tokenizer *tok = m->tok;
    const int L = m->cfg.n_labels;
    const bertc_encoding e = *ep;
    bertc_status s = BERTC_OK;
    /* the text's code points, to slice it as Python slices the sentence */
    size_t ncp = 0;
    int32_t *cps = malloc((len + 1) * sizeof *cps);
    size_t *cpb = malloc((len + 2) * sizeof *cpb); /* byte offset of each code point, and the end */
    float *logits = malloc((e.n ? e.n : 1) * (size_t)L * sizeof *logits);
    pre_ent *pe = calloc(e.n ? e.n : 1, sizeof *pe);
    size_t cap = *capp, np = 0;
    if (!cps || !cpb || !logits || !pe) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    for (size_t i = 0; i < len;) {
        cpb[ncp] = i;
        i += (size_t)utf8_decode((const unsigned char *)text + i, &cps[ncp]);
        ncp++;
    }
    cpb[ncp] = len;
    if ((s = model_token_logits(m, &e, 1, logits, err))) goto done;
    /* scores: numpy's softmax in float32 (max subtracted, exp, divided by the pairwise sum) */
    for (size_t t = 0; t < e.n; t++) np_softmax_f32(logits + t * (size_t)L, (size_t)L);
    /* gather_pre_entities */
    bool word_aware = tokenizer_marks_subwords(tok);
    int32_t unk = tokenizer_unk_id(tok);
    for (size_t t = 0; t < e.n; t++) {
        if (e.sequence[t] == 255) continue; /* the special tokens the template added (special_tokens_mask); [UNK] and added tokens of the text stay */
        pre_ent *q = &pe[np++];
        int32_t id = e.ids[t];
        q->word = bertc_tokenizer_id_to_token(tok, id);
        q->word_len = strlen(q->word);
        q->scores = logits + t * (size_t)L;
        q->index = (int)t;
        q->start = e.offsets[2 * t];
        q->end = e.offsets[2 * t + 1];
        int st = q->start < 0 ? 0 : q->start > (int)ncp ? (int)ncp : q->start;
        int en = q->end < st ? st : q->end > (int)ncp ? (int)ncp : q->end;
        if (word_aware) q->subword = cp_count(q->word, q->word_len) != (size_t)(en - st);
        else q->subword = st > 0 && cps[st - 1] != ' ' && (st >= (int)ncp || cps[st] != ' ');
        if (id == unk) { /* the text the unknown token stands for */
            q->word = text + cpb[st];
            q->word_len = cpb[en] - cpb[st];
            q->subword = false;
        }
        q->label = argmax(q->scores, L);
        q->score = q->scores[q->label];
    }
    size_t nw = np;
    if (p->aggregation >= BERTC_AGGREGATE_FIRST) {
        /* aggregate_words: a word is a token and the subword tokens after it */
        nw = 0;
        for (size_t a = 0; a < np && !s;) {
            size_t b = a + 1;
            while (b < np && pe[b].subword) b++;
            pre_ent w = pe[a];
            w.owned = NULL;
            if ((s = join_words(tok, pe, a, b, &w.owned, err))) break;
            w.word = w.owned;
            w.word_len = strlen(w.owned);
            w.end = pe[b - 1].end;
            w.index = -1;
            if (p->aggregation == BERTC_AGGREGATE_MAX) {
                size_t best = a; /* max(): the first of equal maxima */
                for (size_t i = a + 1; i < b; i++)
                    if (pe[i].score > pe[best].score) best = i;
                w.label = pe[best].label;
                w.score = pe[best].score;
            } else if (p->aggregation == BERTC_AGGREGATE_AVERAGE) {
                /* np.nanmean over axis 0: a float32 sum token after token, divided by the count */
                int bl = 0;
                float bv = 0;
                for (int k = 0; k < L; k++) {
                    float acc = 0;
                    for (size_t i = a; i < b; i++) acc += pe[i].scores[k];
                    float avg = (float)((double)acc / (double)(b - a));
                    if (k == 0 || avg > bv) bl = k, bv = avg;
                }
                w.label = bl;
                w.score = bv;
            }
            /* first: pe[a]'s own label and score */
            for (size_t i = a; i < b; i++) free(pe[i].owned), pe[i].owned = NULL;
            pe[nw++] = w;
            a = b;
        }
        np = nw;
    }
    if (s) goto done;
    if (p->aggregation == BERTC_AGGREGATE_NONE) {
        for (size_t i = 0; i < np && !s; i++) {
            const char *lab = m->cfg.labels[pe[i].label];
            if (ignored(p, lab)) continue;
            bertc_token_entity ent = {lab, pe[i].score, pe[i].index, NULL, pe[i].start, pe[i].end};
            ent.word = malloc(pe[i].word_len + 1);
            if (!ent.word) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(ent.word, pe[i].word, pe[i].word_len);
            ent.word[pe[i].word_len] = 0;
            if ((s = push(out, &cap, &ent, err))) free(ent.word);
        }
        goto done;
    }
    /* group_entities: runs of one tag, a B- starting a new run */
    for (size_t a = 0; a < np && !s;) {
        char bi, lbi;
        const char *last_tag = tag_of(m->cfg.labels[pe[a].label], &lbi);
        size_t b = a + 1;
        while (b < np) {
            const char *tg = tag_of(m->cfg.labels[pe[b].label], &bi);
            if (strcmp(tg, last_tag) != 0 || bi == 'B') break;
            last_tag = tg;
            b++;
        }
        /* group_sub_entities: the first member's label after its first "-"; the mean of the scores (float32 pairwise
         * sum over the count, as np.nanmean of the float32 scores) */
        const char *lab = m->cfg.labels[pe[a].label], *dash = strchr(lab, '-');
        const char *group = dash ? dash + 1 : lab;
        float *sc = malloc((b - a) * sizeof *sc);
        if (!sc) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t i = a; i < b; i++) sc[i - a] = pe[i].score;
        float mean = np_sum_f32(sc, b - a) / (float)(b - a);
        free(sc);
        if (!ignored(p, group)) {
            bertc_token_entity ent = {group, mean, -1, NULL, pe[a].start, pe[b - 1].end};
            if (!(s = join_words(tok, pe, a, b, &ent.word, err)) && (s = push(out, &cap, &ent, err))) free(ent.word);
        }
        a = b;
    }
done:
    *capp = cap;
    for (size_t i = 0; pe && i < np; i++) free(pe[i].owned);
    free(cps);
    free(cpb);
    free(logits);
    free(pe);
    return s;
}

/* aggregate_overlapping_entities: sorted by start (stably), an entity starting inside the previous one replaces it
 * when it is longer, or as long and more confident; the rest are dropped. */
static void merge_overlapping(bertc_token_class_result *r) {
    if (r->n < 2) return;
    for (size_t i = 1; i < r->n; i++) { /* a stable sort by start (chunks add entities nearly in order) */
        bertc_token_entity x = r->entities[i];
        size_t j = i;
        while (j > 0 && r->entities[j - 1].start > x.start) {
            r->entities[j] = r->entities[j - 1];
            j--;
        }
        r->entities[j] = x;
    }
    size_t o = 0;
    bertc_token_entity prev = r->entities[0];
    for (size_t i = 1; i < r->n; i++) {
        bertc_token_entity e = r->entities[i];
        if (prev.start <= e.start && e.start < prev.end) {
            int cl = e.end - e.start, pl = prev.end - prev.start;
            if (cl > pl || (cl == pl && e.score > prev.score)) {
                free(prev.word);
                prev = e;
            } else {
                free(e.word);
            }
        } else {
            r->entities[o++] = prev; /* o < i: nothing unread is overwritten */
            prev = e;
        }
    }
    r->entities[o++] = prev;
    r->n = o;
}

bertc_status bertc_token_classify(const bertc_model *m, const char *text, size_t len, const bertc_token_class_params *p,
                                  bertc_token_class_result *out, bertc_error *err) {
    if (!m || !text || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_token_classify: NULL argument");
    memset(out, 0, sizeof *out);
    bertc_token_class_params dp = bertc_token_class_default_params();
    if (!p) p = &dp;
    if (m->head != BERTC_HEAD_TOKEN_CLASSIFICATION)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no token-classification head (%s)", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    if (p->aggregation < BERTC_AGGREGATE_NONE || p->aggregation > BERTC_AGGREGATE_MAX)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "unknown aggregation strategy %d", (int)p->aggregation);
    if (p->n_ignore && !p->ignore_labels) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_token_classify: NULL ignore_labels");
    const bertc_tokenizer *tok = m->tok;
    int max_len = p->encode.max_length > 0 ? p->encode.max_length : tokenizer_default_max_length(tok);
    if (p->stride < 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "stride must not be negative (got %d)", p->stride);
    if (p->stride && p->stride >= max_len)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "`stride` must be less than `tokenizer.model_max_length` (%d)", max_len);
    if (p->stride && p->aggregation == BERTC_AGGREGATE_NONE)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "`stride` was provided to process all the text but aggregation_strategy "
                          "is none: choose simple, first, average or max");
    size_t cap = 0;
    bertc_encoding e;
    bertc_status s;
    if (!p->stride) {
        if ((s = bertc_tokenize(tok, text, len, NULL, 0, &p->encode, &e, err))) return s;
        s = classify_encoding(m, text, len, &e, p, out, &cap, err);
        bertc_encoding_free(&e);
        if (s) bertc_token_class_result_free(out);
        return s;
    }
    /* stride: the text in chunks of max_length tokens (special tokens included), each starting stride tokens before
     * the previous ended, as tokenizers' overflowing tokens are cut; entities of all chunks, overlaps resolved */
    bertc_encode_params ep = p->encode;
    ep.add_special_tokens = 0;
    ep.truncation = 0;
    ep.max_length = INT_MAX;
    if ((s = bertc_tokenize(tok, text, len, NULL, 0, &ep, &e, err))) return s;
    const bool specials = p->encode.add_special_tokens != 0;
    size_t n_added = specials ? tokenizer_added_count(tok, false) : 0;
    size_t keep = e.n, step, n_chunks;
    if (e.n + n_added > (size_t)max_len) {
        if ((size_t)max_len <= n_added) {
            bertc_encoding_free(&e);
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "max_length %d leaves no room beside the special tokens", max_len);
        }
        keep = (size_t)max_len - n_added;
        if ((size_t)p->stride >= keep) {
            bertc_encoding_free(&e);
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "stride %d must be less than the %zu tokens a chunk holds beside the "
                              "special tokens", p->stride, keep);
        }
    }
    n_chunks = tokenizer_windows(e.n, keep, (size_t)p->stride, &step);
    s = BERTC_OK;
    for (size_t w = 0; w < n_chunks && !s; w++) {
        size_t a = w * step, b = a + keep < e.n ? a + keep : e.n;
        bertc_encoding c;
        if ((s = tokenizer_emit_window(tok, specials, &e, a, b, NULL, 0, 0, &c, err))) break;
        s = classify_encoding(m, text, len, &c, p, out, &cap, err);
        bertc_encoding_free(&c);
    }
    bertc_encoding_free(&e);
    if (!s && n_chunks > 1) merge_overlapping(out);
    if (s) bertc_token_class_result_free(out);
    return s;
}
