/*
 * forward.c — the public calls over the encoder's forward pass (model_forward, in the architecture's file
 * bert.c): hidden states and sequence-classification logits, the per-token heads (token classification, question
 * answering) and the masked-LM head.
 */
#include "model.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>


bertc_status bertc_forward(const bertc_model *m, const bertc_encoding *encs, size_t n, float *hidden_out,
                           float *logits_out, bertc_error *err) {
    if (!m || (!encs && n)) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_forward: NULL argument");
    if (logits_out && !m->has_head)
        return bertc_fail(err, BERTC_ERR_UNSUPPORTED, "%s has no classification head (%s)", m->source,
                          m->cfg.architecture[0] ? m->cfg.architecture : m->cfg.model_type);
    return model_forward(m, encs, n, hidden_out, NULL, logits_out, err);
}

bertc_status model_token_logits(const bertc_model *m, const bertc_encoding *encs, size_t n, float *out, bertc_error *err) {
    if (m->cfg.ops->token_logits) return m->cfg.ops->token_logits(m, encs, n, out, err);
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
    /* the transform's width: H, or ELECTRA's generator embedding_size (dense H -> E, LayerNorm and decoder over E) */
    const int H = m->cfg.hidden, E = m->mlm_dense.N;
    size_t M = 0;
    for (size_t i = 0; i < n; i++) M += encs[i].n;
    for (size_t r = 0; r < n_rows; r++)
        if (rows[2 * r] < 0 || (size_t)rows[2 * r] >= n || rows[2 * r + 1] < 0 || (size_t)rows[2 * r + 1] >= encs[rows[2 * r]].n)
            return bertc_fail(err, BERTC_ERR_INVALID_ARG, "bertc_mlm_logits: row %zu (input %d, position %d) is out of range",
                              r, rows[2 * r], rows[2 * r + 1]);
    float *hid = malloc((M ? M : 1) * (size_t)H * sizeof(float));
    float *x = malloc((n_rows ? n_rows : 1) * (size_t)H * sizeof(float)), *t = malloc((n_rows ? n_rows : 1) * (size_t)E * sizeof(float));
    size_t *off = malloc((n ? n : 1) * sizeof *off);
    bertc_status s = hid && x && t && off ? BERTC_OK : bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for %zu tokens", M);
    if (!s) s = model_forward(m, encs, n, hid, NULL, NULL, err);
    if (!s && n_rows) {
        for (size_t i = 0, o = 0; i < n; o += encs[i].n, i++) off[i] = o;
        for (size_t r = 0; r < n_rows; r++)
            memcpy(x + r * H, hid + (off[rows[2 * r]] + (size_t)rows[2 * r + 1]) * H, (size_t)H * sizeof(float));
        linear_forward(m->pool, t, x, &m->mlm_dense, (int)n_rows, m->mlm_act, NULL);
        layernorm(t, m->mlm_ln_g, m->mlm_ln_b, (int)n_rows, E, m->cfg.ln_eps);
        decode_job dj = {t, m->mlm_dec, m->mlm_bias, out, (int)n_rows, E, m->cfg.vocab_size};
        int nt = threadpool_size(m->pool) * 4;
        threadpool_run(m->pool, decode_task, &dj, nt < 1 ? 1 : nt);
    }
    free(hid);
    free(x);
    free(t);
    free(off);
    return s;
}
