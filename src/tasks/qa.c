/*
 * qa.c — bertc_question_answer: transformers' QuestionAnsweringPipeline (pipelines/question_answering.py of
 * transformers 4.x, fast-tokenizer path) over the question-answering head.
 *  - Windows: the question and the context are paired question first and truncated "only_second" with a stride, as
 *    tokenizers' Encoding::truncate cuts the overflow: the context's tokens in windows of (max_seq_len - question -
 *    special tokens) tokens, each starting doc_stride tokens before the previous one ended, until one reaches the end.
 *  - Scores per window: start and end logits outside the context (the question, the special tokens except [CLS]) set to
 *    -10000, a float32 softmax each, the null score [CLS] x [CLS] kept aside for handle_impossible_answer, then [CLS]
 *    zeroed; span (i, j) scores start_i * end_j for i <= j < i + max_answer_len; the top_k spans whose ends are context
 *    tokens.
 *  - Answers (transformers 5.x, the last to have the pipeline: 5.2): per window the best top_k spans (2 top_k + 10 with
 *    align_to_words, since several spans may widen to the same words), each widened to whole words, in code points of
 *    the context; a span whose text equals an earlier answer's, ignoring case, adds its score to that answer; then the
 *    null answer when asked, everything sorted by score (stable), top_k kept.
 */
#include "model/model.h"

#include <limits.h>
#include <math.h>
#include <utf8proc.h>
#include <stdlib.h>
#include <string.h>

bertc_qa_params bertc_qa_default_params(void) {
    bertc_qa_params p;
    memset(&p, 0, sizeof p);
    p.top_k = 1;
    p.doc_stride = 0; /* 0: min(max_seq_len / 2, 128) */
    p.max_seq_len = 0; /* 0: min(the tokenizer's model_max_length, 384) */
    p.max_question_len = 64;
    p.max_answer_len = 15;
    p.handle_impossible_answer = 0;
    p.align_to_words = 1;
    return p;
}

void bertc_qa_result_free(bertc_qa_result *r) {
    if (!r) return;
    for (size_t i = 0; r->answers && i < r->n; i++) free(r->answers[i].answer);
    free(r->answers);
    memset(r, 0, sizeof *r);
}

/* Word index of each context token, as tokenizers' word ids number the pre-tokenizer's pieces: WordPiece starts a word
 * at every token without the continuing prefix; byte-level BPE at the GPT-2 pattern's pieces of the context;
 * Metaspace-style tokenizers at a token starting with U+2581. Others: every token is its own word. */
static bertc_status context_words(const bertc_tokenizer *t, const char *ctx, size_t clen, const bertc_encoding *c,
                                  int32_t *word, bertc_error *err) {
    enum tok_words rule = tokenizer_word_rule(t);
    if (rule == TOK_WORDS_PREFIX) {
        size_t plen;
        const char *prefix = tokenizer_continuing_prefix(t, &plen);
        int32_t w = -1, unk = tokenizer_unk_id(t);
        for (size_t i = 0; i < c->n; i++) {
            const char *s = bertc_tokenizer_id_to_token(t, c->ids[i]);
            if (i == 0 || strncmp(s, prefix, plen) != 0 || c->ids[i] == unk) w++;
            word[i] = w;
        }
        return BERTC_OK;
    }
    if (rule == TOK_WORDS_GPT2) {
        size_t n = 0, pre = tokenizer_adds_prefix_space(t) ? 1 : 0;
        int32_t *cp = malloc((clen + 2) * sizeof *cp), *piece = malloc((clen + 2) * sizeof *piece);
        if (!cp || !piece) {
            free(cp);
            free(piece);
            return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        }
        for (size_t i = 0; i < clen;) {
            int32_t ch;
            i += (size_t)utf8_decode((const unsigned char *)ctx + i, &ch);
            if (n == 0 && pre && ch == ' ') pre = 0; /* add_prefix_space adds none before a space */
            cp[pre + n++] = ch;
        }
        if (pre) cp[0] = ' ';
        size_t total = n + pre;
        int32_t pc = 0;
        for (size_t i = 0, j; i < total; i = j, pc++) {
            j = gpt2_match_end(cp, total, i);
            if (j <= i) j = i + 1;
            for (size_t k = i; k < j; k++) piece[k] = pc;
        }
        for (size_t i = 0; i < c->n; i++) {
            int s = c->offsets[2 * i], e = c->offsets[2 * i + 1];
            /* the token's last character; a whitespace token trimmed to nothing (trim_offsets) stood for the one just
             * before its (empty) offsets */
            int at = e > s ? e - 1 : s - 1;
            if (at < 0) at = 0;
            if ((size_t)at >= n) at = n ? (int)n - 1 : 0;
            word[i] = n ? piece[(size_t)at + pre] : (int32_t)i;
        }
        free(cp);
        free(piece);
        return BERTC_OK;
    }
    int32_t w = -1;
    for (size_t i = 0; i < c->n; i++) {
        const char *s = bertc_tokenizer_id_to_token(t, c->ids[i]);
        if (rule == TOK_WORDS_METASPACE) {
            if (i == 0 || !strncmp(s, "\xE2\x96\x81", 3)) w++;
        } else {
            w++;
        }
        word[i] = w;
    }
    return BERTC_OK;
}

/* Python's a.lower() == b.lower() for two UTF-8 strings, code point by code point (utf8proc's lower-case mapping) */
static bool same_lower(const char *a, const char *b) {
    const unsigned char *x = (const unsigned char *)a, *y = (const unsigned char *)b;
    while (*x && *y) {
        int32_t c1, c2;
        x += utf8_decode(x, &c1);
        y += utf8_decode(y, &c2);
        if (c1 != c2 && utf8proc_tolower(c1) != utf8proc_tolower(c2)) return false;
    }
    return !*x && !*y;
}

/* the context's code points [start, end) as a new string */
static char *span_text(const char *context, size_t clen, int start, int end) {
    size_t b0 = 0, bs = clen, be = clen;
    for (int cpi = 0;; cpi++) {
        if (cpi == start) bs = b0;
        if (cpi == end) {
            be = b0;
            break;
        }
        if (b0 >= clen) break;
        int32_t ch;
        b0 += (size_t)utf8_decode((const unsigned char *)context + b0, &ch);
    }
    if (bs > clen) bs = clen;
    if (be < bs) be = bs;
    char *t = malloc(be - bs + 1);
    if (!t) return NULL;
    memcpy(t, context + bs, be - bs);
    t[be - bs] = 0;
    return t;
}

typedef struct cand {
    float score;
    int start, end; /* token indices in the window */
} cand;

static int cmp_cand(const void *a, const void *b) {
    const cand *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? 1 : -1;
    int fx = x->start * 65536 + x->end, fy = y->start * 65536 + y->end;
    return (fx > fy) - (fx < fy);
}

bertc_status bertc_question_answer(const bertc_model *m, const char *question, size_t qlen, const char *context,
                                   size_t clen, const bertc_qa_params *p, bertc_qa_result *out, bertc_error *err) {
    if (!m || !question || !context || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_question_answer: NULL argument");
    memset(out, 0, sizeof *out);
    bertc_qa_params dp = bertc_qa_default_params();
    if (!p) p = &dp;
    if (m->head != BERTC_HEAD_QUESTION_ANSWERING)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no question-answering head (%s)", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    if (p->top_k < 1) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "top_k parameter should be >= 1 (got %d)", p->top_k);
    if (!qlen) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "`question` cannot be empty");
    if (!clen) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "`context` cannot be empty");
    if (p->max_answer_len < 1)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "max_answer_len parameter should be >= 1 (got %d)", p->max_answer_len);
    const bertc_tokenizer *t = m->tok;
    int cap_len = tokenizer_default_max_length(t);
    int max_seq = p->max_seq_len > 0 ? p->max_seq_len : (cap_len < 384 ? cap_len : 384);
    if (max_seq > cap_len)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "max_seq_len %d is more than the model's %d positions", max_seq, cap_len);
    int stride = p->doc_stride > 0 ? p->doc_stride : (max_seq / 2 < 128 ? max_seq / 2 : 128);
    if (p->doc_stride < 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "doc_stride must not be negative (got %d)", p->doc_stride);
    if (stride > max_seq)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "`doc_stride` (%d) is larger than `max_seq_len` (%d)", stride, max_seq);
    bertc_encode_params ep = bertc_encode_default_params();
    ep.add_special_tokens = 0;
    ep.truncation = 0;
    ep.max_length = INT_MAX;
    bertc_encoding q, c;
    bertc_status s = bertc_tokenize(t, question, qlen, NULL, 0, &ep, &q, err);
    if (s) return s;
    if ((s = bertc_tokenize(t, context, clen, NULL, 0, &ep, &c, err))) {
        bertc_encoding_free(&q);
        return s;
    }
    /* the pair template: [CLS] q [SEP] c [SEP] (BERT), <s> q </s></s> c </s> (RoBERTa), q c without one */
    size_t n_added = tokenizer_added_count(t, true);
    int32_t cls = tokenizer_pair_first_special(t);
    /* the windows over the context's tokens */
    size_t keep = c.n, n_win, step;
    size_t total = q.n + c.n + n_added;
    int32_t *word = malloc((c.n ? c.n : 1) * sizeof *word);
    bertc_encoding *win = NULL;
    float *logits = NULL, *st = NULL, *en = NULL;
    cand *cands = NULL;
    size_t n_ans = 0, cap_ans = 0;
    bertc_answer *ans = NULL;
    double min_null = 1000000;
    if (!word) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if (total > (size_t)max_seq) {
        size_t remove = total - (size_t)max_seq;
        if (c.n <= remove) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "the question (%zu tokens) leaves no room for the context in max_seq_len %d",
                           q.n, max_seq);
            goto done;
        }
        keep = c.n - remove;
        if ((size_t)stride >= keep) {
            s = bertc_fail(err, BERTC_ERR_INVALID_ARG, "doc_stride %d must be less than the %zu context tokens a window holds "
                           "(max_seq_len %d less the question and special tokens)", stride, keep, max_seq);
            goto done;
        }
    }
    n_win = tokenizer_windows(c.n, keep, (size_t)stride, &step);
    if ((s = context_words(t, context, clen, &c, word, err))) goto done;
    win = calloc(n_win, sizeof *win);
    if (!win) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    size_t M = 0;
    for (size_t w = 0; w < n_win; w++) {
        size_t a = w * step, b = a + keep < c.n ? a + keep : c.n;
        if ((s = tokenizer_emit_window(t, true, &q, 0, q.n, &c, a, b, &win[w], err))) goto done;
        M += win[w].n;
    }
    logits = malloc(M * 2 * sizeof *logits);
    st = malloc((size_t)max_seq * sizeof *st);
    en = malloc((size_t)max_seq * sizeof *en);
    if (!logits || !st || !en) {
        s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        goto done;
    }
    if ((s = model_token_logits(m, win, n_win, logits, err))) goto done;
    size_t off = 0;
    for (size_t w = 0; w < n_win && !s; off += win[w].n, w++) {
        const bertc_encoding *e = &win[w];
        size_t T = e->n, a = w * step;
        const float *lg = logits + off * 2;
        /* the context tokens and every [CLS] may hold the answer; the rest is masked out of the softmax */
        for (size_t i = 0; i < T; i++) {
            bool ok = e->sequence[i] == 1 || (cls >= 0 && e->ids[i] == cls);
            st[i] = ok ? lg[2 * i] : -10000.0f;
            en[i] = ok ? lg[2 * i + 1] : -10000.0f;
        }
        np_softmax_f32(st, T);
        np_softmax_f32(en, T);
        if (p->handle_impossible_answer) {
            float nul = st[0] * en[0];
            if ((double)nul < min_null) min_null = (double)nul;
        }
        st[0] = en[0] = 0.0f;
        /* spans: i <= j <= i + max_answer_len - 1; the best top_k of them (all T*T when fewer), then those whose start
         * and end are context tokens (or position 0) */
        size_t L = (size_t)p->max_answer_len, nc = 0, k = (size_t)p->top_k * (p->align_to_words ? 2 : 1) + (p->align_to_words ? 10 : 0);
        free(cands);
        cands = malloc(T * (L < T ? L : T) * sizeof *cands + sizeof *cands);
        if (!cands) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            break;
        }
        for (size_t i = 0; i < T; i++)
            for (size_t j = i; j < T && j - i < L; j++) {
                float sc = st[i] * en[j];
                if (sc > 0) cands[nc++] = (cand){sc, (int)i, (int)j};
            }
        qsort(cands, nc, sizeof *cands, cmp_cand);
        size_t take = nc < k ? nc : k;
        for (size_t r = 0; r < take; r++) {
            int si = cands[r].start, ei = cands[r].end;
            bool ok_s = si == 0 || e->sequence[si] == 1 || (cls >= 0 && e->ids[si] == cls);
            bool ok_e = ei == 0 || e->sequence[ei] == 1 || (cls >= 0 && e->ids[ei] == cls);
            if (!ok_s || !ok_e) continue;
            int cs, ce;
            if (p->align_to_words && e->sequence[si] == 1 && e->sequence[ei] == 1) {
                /* token_to_word then word_to_chars within this window: the word's first and last tokens here */
                /* the context token of window position x is a + (x - first context position) */
                size_t first = 0;
                while (first < T && e->sequence[first] != 1) first++;
                int32_t ws = word[a + (size_t)si - first], we = word[a + (size_t)ei - first];
                size_t x = (size_t)si, y = (size_t)ei;
                while (x > first && word[a + x - 1 - first] == ws) x--;
                while (y + 1 < T && e->sequence[y + 1] == 1 && word[a + y + 1 - first] == we) y++;
                cs = e->offsets[2 * x];
                ce = e->offsets[2 * y + 1];
            } else {
                cs = e->offsets[2 * si];
                ce = e->offsets[2 * ei + 1];
            }
            char *txt = span_text(context, clen, cs, ce);
            if (!txt) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            size_t same = 0;
            while (same < n_ans && !same_lower(ans[same].answer, txt)) same++;
            if (same < n_ans) { /* the same answer again (another span, another window): the scores add up */
                ans[same].score += (double)cands[r].score;
                free(txt);
                continue;
            }
            if (n_ans == cap_ans) {
                size_t nca = cap_ans ? cap_ans * 2 : 8;
                bertc_answer *na = realloc(ans, nca * sizeof *na);
                if (!na) {
                    free(txt);
                    s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                    break;
                }
                ans = na;
                cap_ans = nca;
            }
            ans[n_ans++] = (bertc_answer){(double)cands[r].score, cs, ce, txt};
        }
    }
    if (s) goto done;
    if (p->handle_impossible_answer) {
        bertc_answer *na = realloc(ans, (n_ans + 1) * sizeof *na);
        if (!na) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        ans = na;
        char *empty = calloc(1, 1);
        if (!empty) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            goto done;
        }
        ans[n_ans++] = (bertc_answer){min_null, 0, 0, empty};
    }
    /* sorted by score, highest first, stable (Python's sorted) */
    for (size_t i = 1; i < n_ans; i++) {
        bertc_answer x = ans[i];
        size_t j = i;
        while (j > 0 && ans[j - 1].score < x.score) {
            ans[j] = ans[j - 1];
            j--;
        }
        ans[j] = x;
    }
    for (size_t i = (size_t)p->top_k; i < n_ans; i++) free(ans[i].answer);
    if (n_ans > (size_t)p->top_k) n_ans = (size_t)p->top_k;
    out->n = n_ans;
    out->answers = ans;
    ans = NULL;
done:
    for (size_t i = 0; ans && i < n_ans; i++) free(ans[i].answer);
    free(ans);
    free(cands);
    free(logits);
    free(st);
    free(en);
    free(word);
    if (win)
        for (size_t w = 0; w < n_win; w++) bertc_encoding_free(&win[w]);
    free(win);
    bertc_encoding_free(&q);
    bertc_encoding_free(&c);
    return s;
}
