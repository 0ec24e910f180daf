/*
 * forward.c — the encoder pass and the heads, as transformers' modeling_distilbert / modeling_bert /
 * modeling_roberta compute them (post-LayerNorm layers, exact erf GELU), and the public classify / embed
 * calls built on it.
 *
 * Sequences of a batch are laid end to end, [sum(T), H], with no padding at all: linear layers run on all
 * tokens at once, attention runs per (sequence, head) over that sequence's own tokens. A batched run is
 * therefore the same arithmetic as single runs, bit for bit, and padded positions cost nothing.
 */
#include "model.h"

#include <math.h>
#include <utf8proc.h>
#include <stdlib.h>
#include <string.h>


typedef struct attn_job {
    float *ctx;
    const float *qkv;
    const int *seq_off, *seq_len;
    int n_seq, heads, H, dh, max_T;
    float *scratch;
    bool first_only; /* only the first query row of each sequence (the classifier's last layer) */
    int bf16_tier;   /* bf16 compute: the matmuls' tier (the AMX tiers run attention on tiles too); -1: fp32 */
} attn_job;

static void attn_task(void *p, int task, int n_tasks) {
    (void)n_tasks;
    attn_job *j = p;
    int s = task / j->heads, h = task % j->heads;
    size_t off = (size_t)j->seq_off[s];
    float *out = j->ctx + off * j->H, *scratch = j->scratch + (size_t)task * 4 * (j->max_T + 8);
    const float *qkv = j->qkv + off * 3 * j->H;
    int nq = j->first_only ? 1 : j->seq_len[s];
    if (j->bf16_tier >= 0) attention_head_bf16(out, qkv, j->seq_len[s], nq, j->H, h, j->dh, scratch, j->bf16_tier);
    else attention_head(out, qkv, j->seq_len[s], nq, j->H, h, j->dh, scratch);
}

bertc_status model_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out, float *emb_out,
                           float *logits_out, bertc_error *err) {
    const model_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate;
    size_t M = 0;
    int max_T = 1;
    for (size_t i = 0; i < n; i++) {
        if (encs[i].n == 0) return bertc_fail(err, BERTC_ERR_INPUT, "input %zu has no tokens", i);
        if (encs[i].n > (size_t)tokenizer_default_max_length(m->tok))
            return bertc_fail(err, BERTC_ERR_INPUT, "input %zu has %zu tokens, more than the model's %d positions", i,
                              encs[i].n, tokenizer_default_max_length(m->tok));
        M += encs[i].n;
        if ((int)encs[i].n > max_T) max_T = (int)encs[i].n;
        for (size_t t = 0; t < encs[i].n; t++) {
            if (encs[i].ids[t] < 0 || encs[i].ids[t] >= c->vocab_size)
                return bertc_fail(err, BERTC_ERR_INPUT, "token id %d outside the vocab (%d)", encs[i].ids[t], c->vocab_size);
            if (m->type && (encs[i].type_ids[t] < 0 || encs[i].type_ids[t] >= c->type_vocab_size))
                return bertc_fail(err, BERTC_ERR_INPUT, "token type id %d outside type_vocab_size %d", encs[i].type_ids[t],
                                  c->type_vocab_size);
        }
    }
    if (n == 0) return BERTC_OK;
    /* All activations come from one per-thread arena that grows to the largest batch seen and is reused: no
     * allocation (and no fresh pages to fault in) per call once warm. Regions are 64-byte aligned. */
    size_t sizes[8] = {n * sizeof(int), n * sizeof(int), M * (size_t)H * 4, M * (size_t)3 * H * 4, M * (size_t)H * 4,
                       M * (size_t)H * 4, M * (size_t)I * 4, n * (size_t)c->heads * 4 * (size_t)(max_T + 8) * 4};
    void *part[8];
    if (!scratch_take(SCRATCH_ACTIVATIONS, sizes, part, 8)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    int *seq_off = part[0], *seq_len = part[1];
    float *x = part[2], *qkv = part[3], *ctx = part[4], *x1 = part[5], *h = part[6], *scratch = part[7];
    bertc_status s = BERTC_OK;
    /* embeddings: word + position (+ token type), then LayerNorm */
    size_t off = 0;
    for (size_t i = 0; i < n; i++) {
        seq_off[i] = (int)off;
        seq_len[i] = (int)encs[i].n;
        int pos_count = 0;
        for (size_t t = 0; t < encs[i].n; t++) {
            int id = encs[i].ids[t], pos;
            if (c->arch == BERTC_ARCH_ROBERTA) {
                /* create_position_ids_from_input_ids: padding_idx + cumulative count of non-pad tokens */
                if (id != c->pad_token_id) pos = c->pad_token_id + ++pos_count;
                else pos = c->pad_token_id;
            } else {
                pos = (int)t;
            }
            float *r = x + (off + t) * H;
            const float *we = m->word + (size_t)id * H, *pe = m->pos + (size_t)pos * H;
            if (m->type) {
                const float *te = m->type + (size_t)encs[i].type_ids[t] * H;
                for (int k = 0; k < H; k++) r[k] = we[k] + te[k] + pe[k];
            } else {
                for (int k = 0; k < H; k++) r[k] = we[k] + pe[k];
            }
        }
        off += encs[i].n;
    }
    layernorm_pool(m->pool, x, m->emb_ln_g, m->emb_ln_b, (int)M, H, c->ln_eps);
    if (emb_out) memcpy(emb_out, x, M * (size_t)H * sizeof(float));
    attn_job aj = {ctx, qkv, seq_off, seq_len, (int)n, c->heads, H, H / c->heads, max_T, scratch, false,
                   m->compute_mode == BERTC_COMPUTE_BF16 && m->layer[0].qkv.wb ? kernels_bf16_tier() : -1};
    /* Only the first token of each sequence reaches the classifier: when no hidden states are asked for, the
     * last layer runs attention for every token (keys and values need them) and the rest on n rows. Row-wise
     * operations, so the numbers are the same as the full computation's. */
    bool cls_only = !hidden_out && logits_out && m->has_head;
    int rows = (int)M;
    for (int l = 0; l < c->layers; l++) {
        const layer_w *L = &m->layer[l];
        linear_forward(m->pool, qkv, x, &L->qkv, rows, EPI_NONE, NULL);
        aj.first_only = cls_only && l == c->layers - 1;
        threadpool_run(m->pool, attn_task, &aj, (int)n * c->heads);
        if (cls_only && l == c->layers - 1) {
            /* compact rows seq_off[i] -> i (seq_off[i] >= i and increasing: sources are never overwritten) */
            for (size_t i = 0; i < n; i++) {
                memmove(ctx + i * H, ctx + (size_t)seq_off[i] * H, (size_t)H * sizeof(float));
                memmove(x + i * H, x + (size_t)seq_off[i] * H, (size_t)H * sizeof(float));
            }
            rows = (int)n;
        }
        linear_forward(m->pool, x1, ctx, &L->out, rows, EPI_NONE, x);
        layernorm_pool(m->pool, x1, L->ln1_g, L->ln1_b, rows, H, c->ln_eps);
        linear_forward(m->pool, h, x1, &L->ffn1, rows, c->act, NULL);
        linear_forward(m->pool, x, h, &L->ffn2, rows, EPI_NONE, x1);
        layernorm_pool(m->pool, x, L->ln2_g, L->ln2_b, rows, H, c->ln_eps);
    }
    if (hidden_out) memcpy(hidden_out, x, M * (size_t)H * sizeof(float));
    if (logits_out && m->has_head) {
        /* first token of each sequence ([CLS] / <s>) → dense + act → out */
        float *first = ctx, *pooled = x1; /* reuse: n <= M rows */
        for (size_t i = 0; i < n; i++)
            memcpy(first + i * H, x + (cls_only ? i : (size_t)seq_off[i]) * H, (size_t)H * sizeof(float));
        linear_forward(m->pool, pooled, first, &m->head_dense, (int)n, m->head_act, NULL);
        linear_forward(m->pool, logits_out, pooled, &m->head_out, (int)n, EPI_NONE, NULL);
    }
    return s;
}

bertc_status bertc_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                           float *logits_out, bertc_error *err) {
    if (!m || (!encs && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_forward: NULL argument");
    if (logits_out && !m->has_head)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no classification head (%s)", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    return model_forward(m, encs, n, hidden_out, NULL, logits_out, err);
}

bertc_status model_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out, bertc_error *err) {
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    float *hid = malloc((M ? M : 1) * (size_t)m->cfg.hidden * sizeof(float));
    if (!hid) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    bertc_status s = model_forward(m, encs, n, hid, NULL, NULL, err);
    if (!s && M) linear_forward(m->pool, out, hid, &m->tok_out, (int)M, EPI_NONE, NULL);
    free(hid);
    return s;
}

bertc_status bertc_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out, bertc_error *err) {
    if (!m || (!encs && n) || !out) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_token_logits: NULL argument");
    if (m->head != BERTC_HEAD_TOKEN_CLASSIFICATION && m->head != BERTC_HEAD_QUESTION_ANSWERING)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no token-classification or question-answering head (%s)",
                          m->source, m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    return model_token_logits(m, encs, n, out, err);
}

typedef struct decode_job {
    const float *x; /* rows x H, after the transform */
    const float *dec, *bias;
    float *out;
    int rows, H, V;
} decode_job;

/* out[r, v] = bias[v] + x[r] . dec[v] over a slice of the vocabulary: the tied decoder is read in place (the word
 * embeddings), never packed into a second copy. */
static void decode_task(void *p, int task, int n_tasks) {
    const decode_job *j = p;
    int v0 = (int)((long long)j->V * task / n_tasks), v1 = (int)((long long)j->V * (task + 1) / n_tasks);
    for (int v = v0; v < v1; v++) {
        const float *w = j->dec + (size_t)v * j->H;
        for (int r = 0; r < j->rows; r++) {
            const float *x = j->x + (size_t)r * j->H;
            float acc[8] = {0};
            int k = 0;
            for (; k + 8 <= j->H; k += 8)
                for (int u = 0; u < 8; u++) acc[u] += x[k + u] * w[k + u];
            float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
            for (; k < j->H; k++) sum += x[k] * w[k];
            j->out[(size_t)r * j->V + v] = sum + j->bias[v];
        }
    }
}

bertc_status bertc_mlm_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, const int32_t *rows,
                              size_t n_rows, float *out, bertc_error *err) {
    if (!m || (!encs && n) || (!rows && n_rows) || (!out && n_rows))
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_mlm_logits: NULL argument");
    if (!m->has_mlm)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no masked-LM head (%s)", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    const int H = m->cfg.hidden;
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    for (size_t r = 0; r < n_rows; r++)
        if (rows[2 * r] < 0 || (size_t)rows[2 * r] >= n || rows[2 * r + 1] < 0 || (size_t)rows[2 * r + 1] >= encs[rows[2 * r]].n)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_mlm_logits: row %zu (input %d, position %d) is out of range",
                              r, rows[2 * r], rows[2 * r + 1]);
    float *hid = malloc((M ? M : 1) * (size_t)H * sizeof(float));
    float *x = malloc((n_rows ? n_rows : 1) * (size_t)H * sizeof(float)), *t = malloc((n_rows ? n_rows : 1) * (size_t)H * sizeof(float));
    size_t *off = malloc((n ? n : 1) * sizeof *off);
    bertc_status s = hid && x && t && off ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    if (!s) s = model_forward(m, encs, n, hid, NULL, NULL, err);
    if (!s && n_rows) {
        for (size_t i = 0, o = 0; i < n; o += encs[i].n, i++) off[i] = o;
        for (size_t r = 0; r < n_rows; r++)
            memcpy(x + r * H, hid + (off[rows[2 * r]] + (size_t)rows[2 * r + 1]) * H, (size_t)H * sizeof(float));
        linear_forward(m->pool, t, x, &m->mlm_dense, (int)n_rows, m->mlm_act, NULL);
        layernorm(t, m->mlm_ln_g, m->mlm_ln_b, (int)n_rows, H, m->cfg.ln_eps);
        decode_job dj = {t, m->mlm_dec, m->mlm_bias, out, (int)n_rows, H, m->cfg.vocab_size};
        int nt = threadpool_size(m->pool) * 4;
        threadpool_run(m->pool, decode_task, &dj, nt < 1 ? 1 : nt);
    }
    free(hid);
    free(x);
    free(t);
    free(off);
    return s;
}

bertc_classify_params bertc_classify_default_params(void) {
    bertc_classify_params p;
    p.encode = bertc_encode_default_params();
    p.function = BERTC_FUNCTION_DEFAULT;
    p.batch_size = 32;
    return p;
}

void bertc_classification_free(bertc_classification *out, size_t n) {
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].logits);
        free(out[i].scores);
        out[i].logits = out[i].scores = NULL;
    }
}

/* Encodes texts[i0..i1) into encs. */
static bertc_status encode_range(const bertc_model *m, const bertc_text *in, size_t i0, size_t i1,
                                 const bertc_encode_params *ep, bertc_encoding *encs, bertc_error *err) {
    for (size_t i = i0; i < i1; i++) {
        bertc_status s = bertc_tokenize(m->tok, in[i].text, in[i].len, in[i].pair, in[i].pair_len, ep, &encs[i - i0], err);
        if (s) {
            for (size_t k = i0; k < i; k++) bertc_encoding_free(&encs[k - i0]);
            if (err) {
                char msg[sizeof err->message];
                memcpy(msg, err->message, sizeof msg);
                bertc_fail(err, s, "input %zu: %s", i, msg);
            }
            return s;
        }
    }
    return BERTC_OK;
}

bertc_status bertc_classify(const bertc_model *m, const bertc_text *in, size_t n, const bertc_classify_params *p,
                            bertc_classification *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_classify: NULL argument");
    if (!m->has_head)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no classification head (%s): use embed", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    bertc_classify_params dp = bertc_classify_default_params();
    if (!p) p = &dp;
    size_t bs = p->batch_size > 0 ? (size_t)p->batch_size : 32;
    int L = m->cfg.n_labels;
    bertc_function fn = p->function;
    if (fn == BERTC_FUNCTION_DEFAULT) {
        /* the text-classification pipeline's rule (multi-label or one label: sigmoid), except that an explicit
         * problem_type "regression" returns the raw value */
        if (m->cfg.problem == BERTC_PROBLEM_REGRESSION && m->cfg.problem_explicit) fn = BERTC_FUNCTION_NONE;
        else if (m->cfg.problem == BERTC_PROBLEM_MULTI_LABEL || L == 1) fn = BERTC_FUNCTION_SIGMOID;
        else fn = BERTC_FUNCTION_SOFTMAX;
    }
    memset(out, 0, n * sizeof *out);
    bertc_encoding *encs = calloc(bs, sizeof *encs);
    float *logits = malloc(bs * (size_t)L * sizeof(float));
    if (!encs || !logits) {
        free(encs);
        free(logits);
        return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    }
    bertc_status s = BERTC_OK;
    for (size_t b0 = 0; b0 < n && !s; b0 += bs) {
        size_t b1 = b0 + bs < n ? b0 + bs : n;
        if ((s = encode_range(m, in, b0, b1, &p->encode, encs, err))) break;
        s = model_forward(m, encs, b1 - b0, NULL, NULL, logits, err);
        for (size_t i = b0; i < b1 && !s; i++) {
            bertc_classification *r = &out[i];
            const float *lg = logits + (i - b0) * L;
            r->n_labels = L;
            r->n_tokens = (int)encs[i - b0].n;
            r->logits = malloc((size_t)L * sizeof(float));
            r->scores = malloc((size_t)L * sizeof(float));
            if (!r->logits || !r->scores) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            memcpy(r->logits, lg, (size_t)L * sizeof(float));
            if (fn == BERTC_FUNCTION_SOFTMAX) {
                float mx = lg[0];
                for (int k = 1; k < L; k++) mx = lg[k] > mx ? lg[k] : mx;
                /* float32 step by step, as the transformers pipeline's numpy softmax: the same scores to the
                 * last bit more often, so ties (and so ROC AUC) come out as the pipeline's */
                float sum = 0;
                for (int k = 0; k < L; k++) sum += expf(lg[k] - mx);
                for (int k = 0; k < L; k++) r->scores[k] = expf(lg[k] - mx) / sum;
            } else if (fn == BERTC_FUNCTION_SIGMOID) {
                for (int k = 0; k < L; k++) r->scores[k] = 1.0f / (1.0f + expf(-lg[k]));
            } else {
                memcpy(r->scores, lg, (size_t)L * sizeof(float));
            }
            int best = 0;
            for (int k = 1; k < L; k++)
                if (r->scores[k] > r->scores[best]) best = k;
            r->label_id = best;
            r->score = r->scores[best];
        }
        for (size_t i = b0; i < b1; i++) bertc_encoding_free(&encs[i - b0]);
    }
    free(encs);
    free(logits);
    if (s) bertc_classification_free(out, n);
    return s;
}

void bertc_embedding_free(bertc_embedding *out, size_t n) {
    if (!out) return;
    for (size_t i = 0; i < n; i++) {
        free(out[i].data);
        out[i].data = NULL;
    }
}

/* One pooling mode over a sequence's hidden states src [T, H]; positions before s0 are left out (a prompt with
 * include_prompt false), as sentence-transformers masks them. dst gets H values. */
static void pool_one(float *dst, const float *src, int T, int H, int s0, bertc_pooling mode) {
    if (s0 >= T) s0 = 0;
    switch (mode) {
    case BERTC_POOL_CLS: /* the first pooled token: after the prompt when include_prompt is false (as ST masks it) */
        memcpy(dst, src + (size_t)s0 * H, (size_t)H * sizeof(float));
        return;
    case BERTC_POOL_LAST_TOKEN: memcpy(dst, src + (size_t)(T - 1) * H, (size_t)H * sizeof(float)); return;
    case BERTC_POOL_MAX:
        for (int k = 0; k < H; k++) {
            float mx = src[(size_t)s0 * H + k];
            for (int t = s0 + 1; t < T; t++) mx = src[(size_t)t * H + k] > mx ? src[(size_t)t * H + k] : mx;
            dst[k] = mx;
        }
        return;
    case BERTC_POOL_WEIGHTED_MEAN: {
        double wsum = 0;
        for (int t = s0; t < T; t++) wsum += t + 1;
        for (int k = 0; k < H; k++) {
            double acc = 0;
            for (int t = s0; t < T; t++) acc += (double)(t + 1) * src[(size_t)t * H + k];
            dst[k] = (float)(acc / wsum);
        }
        return;
    }
    default: { /* mean, mean_sqrt_len */
        int cnt = T - s0;
        double div = mode == BERTC_POOL_MEAN_SQRT_LEN ? sqrt((double)cnt) : (double)cnt;
        for (int k = 0; k < H; k++) {
            double acc = 0;
            for (int t = s0; t < T; t++) acc += src[(size_t)t * H + k];
            dst[k] = (float)(acc / div);
        }
        return;
    }
    }
}

/* The modes of a pooling request, in sentence-transformers' concatenation order; returns their count. */
static int pooling_modes(const bertc_model *m, bertc_pooling p, bertc_pooling *modes) {
    if (p != BERTC_POOL_DEFAULT) {
        modes[0] = p;
        return p == BERTC_POOL_NONE ? 0 : 1;
    }
    if (!m->st.present) return 0;
    for (int i = 0; i < m->st.n_modes; i++) modes[i] = m->st.mode_order[i];
    return m->st.n_modes;
}

/* The core of bertc_embed / bertc_embed_ex: texts already prompted and cased; s0[i] the first pooled position. */
static bertc_status embed_run(const bertc_model *m, const bertc_text *in, size_t n, const bertc_encode_params *ep,
                              bertc_pooling pooling, int normalize, int s0, bertc_embedding *out, bertc_error *err) {
    if (pooling < BERTC_POOL_NONE || pooling > BERTC_POOL_DEFAULT)
        return bertc_fail(err, BERTC_ERR_INVALID_ARG, "unknown pooling %d", (int)pooling);
    const size_t bs = 32;
    const int H = m->cfg.hidden;
    bertc_pooling modes[6];
    int nm = pooling_modes(m, pooling, modes);
    memset(out, 0, n * sizeof *out);
    bertc_encoding encs[32];
    bertc_status s = BERTC_OK;
    for (size_t b0 = 0; b0 < n && !s; b0 += bs) {
        size_t b1 = b0 + bs < n ? b0 + bs : n;
        if ((s = encode_range(m, in, b0, b1, ep, encs, err))) break;
        size_t M = 0;
        for (size_t i = b0; i < b1; i++) M += encs[i - b0].n;
        float *hid = malloc(M * (size_t)H * sizeof(float));
        if (!hid) s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
        else s = model_forward(m, encs, b1 - b0, hid, NULL, NULL, err);
        size_t off = 0;
        for (size_t i = b0; i < b1 && !s; i++) {
            int T = (int)encs[i - b0].n;
            bertc_embedding *e = &out[i];
            e->n_tokens = T;
            e->hidden = nm ? H * nm : H;
            e->rows = nm ? 1 : T;
            e->data = malloc((size_t)e->rows * e->hidden * sizeof(float));
            if (!e->data) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            const float *src = hid + off * H;
            if (!nm) memcpy(e->data, src, (size_t)T * H * sizeof(float));
            for (int k = 0; k < nm; k++) pool_one(e->data + (size_t)k * H, src, T, H, s0, modes[k]);
            if (normalize && nm) { /* sentence embeddings only: ST's Normalize leaves token embeddings raw */
                size_t d = (size_t)e->rows * e->hidden;
                for (int r = 0; r < e->rows; r++) {
                    float *v = e->data + (size_t)r * e->hidden;
                    double ss = 0;
                    for (int k = 0; k < e->hidden; k++) ss += (double)v[k] * v[k];
                    double nr = sqrt(ss) > 1e-12 ? sqrt(ss) : 1e-12;
                    for (int k = 0; k < e->hidden; k++) v[k] = (float)(v[k] / nr);
                }
                (void)d;
            }
            off += (size_t)T;
        }
        free(hid);
        for (size_t i = b0; i < b1; i++) bertc_encoding_free(&encs[i - b0]);
    }
    if (s) bertc_embedding_free(out, n);
    return s;
}

bertc_status bertc_embed(const bertc_model *m, const bertc_text *in, size_t n, const bertc_encode_params *ep,
                         bertc_pooling pooling, bertc_embedding *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_embed: NULL argument");
    bertc_encode_params dp = bertc_encode_default_params();
    return embed_run(m, in, n, ep ? ep : &dp, pooling, 0, 0, out, err);
}

bertc_embed_params bertc_embed_default_params(void) {
    bertc_embed_params p;
    p.encode = bertc_encode_default_params();
    p.pooling = BERTC_POOL_DEFAULT;
    p.normalize = -1;
    p.prompt = NULL;
    p.prompt_name = NULL;
    return p;
}

/* text lower-cased as Python's str.lower() does it for one-to-one mappings (utf8proc's simple lowercase) */
static char *lower_utf8(const char *s, size_t len, size_t *out_len) {
    char *d = malloc(len * 2 + 5);
    if (!d) return NULL;
    size_t o = 0;
    for (size_t i = 0; i < len;) {
        int32_t cp;
        int l = utf8_decode((const unsigned char *)s + i, &cp);
        o += (size_t)utf8_encode((int32_t)utf8proc_tolower(cp), d + o);
        i += (size_t)l;
    }
    d[o] = 0;
    *out_len = o;
    return d;
}

bertc_status bertc_embed_ex(const bertc_model *m, const bertc_text *in, size_t n, const bertc_embed_params *p,
                            bertc_embedding *out, bertc_error *err) {
    if (!m || (!in && n) || (!out && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_embed_ex: NULL argument");
    bertc_embed_params dp = bertc_embed_default_params();
    if (!p) p = &dp;
    const bertc_st_config *st = &m->st;
    bertc_encode_params ep = p->encode;
    if (ep.max_length == 0 && st->present && st->max_seq_length > 0) ep.max_length = st->max_seq_length;
    int normalize = p->normalize >= 0 ? p->normalize : st->present && st->normalize;
    /* the prompt: given, else named, else the folder's default */
    const char *prompt = p->prompt;
    const char *pname = p->prompt_name ? p->prompt_name : (!prompt ? st->default_prompt_name : NULL);
    if (!prompt && pname) {
        for (int i = 0; i < st->n_prompts && !prompt; i++)
            if (!strcmp(st->prompt_names[i], pname)) prompt = st->prompts[i];
        if (!prompt) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "no prompt named %.60s in config_sentence_transformers.json", pname);
    }
    size_t pl = prompt ? strlen(prompt) : 0;
    bool lower = st->present && st->do_lower_case;
    if (!pl && !lower) return embed_run(m, in, n, &ep, p->pooling, normalize, 0, out, err);
    /* prompted / lower-cased copies */
    bertc_text *tx = calloc(n ? n : 1, sizeof *tx);
    char **own = calloc(n ? 2 * n : 1, sizeof *own);
    bertc_status s = tx && own ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
    for (size_t i = 0; i < n && !s; i++) {
        size_t l = pl + in[i].len;
        char *t = malloc(l + 1);
        if (!t) {
            s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
            break;
        }
        memcpy(t, prompt ? prompt : "", pl);
        memcpy(t + pl, in[i].text, in[i].len);
        t[l] = 0;
        own[2 * i] = t;
        tx[i] = in[i];
        tx[i].text = t;
        tx[i].len = l;
        if (utf8_validate(t, l) != l) {
            s = bertc_fail(err, BERTC_ERR_INPUT, "input %zu: invalid UTF-8", i);
            break;
        }
        if (lower) {
            size_t ll;
            char *lt = lower_utf8(t, l, &ll);
            if (!lt) {
                s = bertc_fail(err, BERTC_ERR_NOMEM, "out of memory");
                break;
            }
            own[2 * i + 1] = lt;
            tx[i].text = lt;
            tx[i].len = ll;
            if (in[i].pair) {
                /* the pair is cased too (its own buffer) */
            }
        }
    }
    int s0 = 0;
    if (!s && pl && st->present && !st->include_prompt) {
        /* sentence-transformers: the prompt's token count less its final special token, counted from the start
         * (so the first special token is left out with the prompt) */
        bertc_encoding pe;
        size_t ll = 0;
        char *lp = lower ? lower_utf8(prompt, pl, &ll) : NULL;
        s = bertc_tokenize(m->tok, lp ? lp : prompt, lp ? ll : pl, NULL, 0, &ep, &pe, err);
        free(lp);
        if (!s) {
            s0 = pe.n > 0 ? (int)pe.n - 1 : 0;
            bertc_encoding_free(&pe);
        }
    }
    if (!s) s = embed_run(m, tx, n, &ep, p->pooling, normalize, s0, out, err);
    for (size_t i = 0; own && i < 2 * n; i++) free(own[i]);
    free(own);
    free(tx);
    return s;
}
