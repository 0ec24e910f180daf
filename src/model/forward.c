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
