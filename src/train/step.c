/*
 * step.c — a training step: the encoder's forward pass keeping its activations (src/model/bert.c), the loss
 * transformers picks by problem_type (cross-entropy, mean; BCE-with-logits, mean over all outputs; MSE, mean) and
 * its gradient, then the encoder's backward pass; and the gradient's norm.
 *
 * Dropout masks are a counter-based hash of (step key, site, element), drawn again in the backward pass instead of
 * stored: the same bits whatever the thread count. Every reduction runs in a fixed order over fixed chunks, so
 * results are identical for a given seed whatever the number of threads.
 */
#include "tmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void tmodel_acts_free(tmodel *m) {
    if (m) model_train_acts_free(&m->tr);
}

double distill_row(const float *z, const float *t, int nl, int y, double T, double alpha, float *dl, double n) {
    double mx = z[0];
    for (int k = 1; k < nl; k++) mx = z[k] > mx ? z[k] : mx;
    double se = 0;
    for (int k = 0; k < nl; k++) se += exp(z[k] - mx);
    double zmx = mx / T, tmx = t[0] / T;
    for (int k = 1; k < nl; k++) tmx = t[k] / T > tmx ? t[k] / T : tmx;
    double zse = 0, tse = 0;
    for (int k = 0; k < nl; k++) {
        zse += exp(z[k] / T - zmx);
        tse += exp(t[k] / T - tmx);
    }
    double lzs = log(zse) + zmx, lts = log(tse) + tmx, kl = 0;
    for (int k = 0; k < nl; k++) {
        double lp = t[k] / T - lts, lq = z[k] / T - lzs, p = exp(lp);
        kl += p * (lp - lq);
        double ce_g = exp(z[k] - mx) / se - (k == y);
        dl[k] = (float)((alpha * ce_g + (1 - alpha) * T * (exp(lq) - p)) / n);
    }
    double ce = log(se) + mx - z[y];
    return alpha * ce + (1 - alpha) * T * T * kl;
}

bertc_status tmodel_step(tmodel *m, const bertc_encoding *encs, size_t n, const tbatch_labels *lab, bool train,
                         uint64_t key, float grad_scale, float *logits, double *loss, bertc_error *err) {
    const model_config *c = &m->cfg;
    const int nl = c->n_labels;
    m->tr.drop = m->drop;
    m->tr.bf16 = m->bf16;
    m->tr.frozen_embeddings = m->p[0].frozen;
    m->tr.dropout = train;
    m->tr.key = key;
    bertc_status s = model_forward(&m->enc, encs, n, NULL, NULL, logits, err);
    if (s) return s;
    /* loss and its gradient w.r.t. the logits (into dl, n x L) */
    float *lg = logits, *dl = m->tr.dlogits;
    double total = 0;
    bool have_labels = lab && (lab->ids || lab->vals);
    if (have_labels) {
        if (c->problem == BERTC_PROBLEM_SINGLE_LABEL) {
            for (size_t i = 0; i < n; i++) {
                const float *z = lg + i * nl;
                int y0 = lab->ids[i];
                if (y0 < 0 || y0 >= nl) return bertc_fail(err, BERTC_ERR_INPUT, "label id %d outside 0..%d", y0, nl - 1);
                double mx = z[0];
                for (int k = 1; k < nl; k++) mx = z[k] > mx ? z[k] : mx;
                double se = 0;
                for (int k = 0; k < nl; k++) se += exp(z[k] - mx);
                if (!lab->soft) {
                    total += log(se) + mx - z[y0];
                    for (int k = 0; k < nl; k++) dl[i * nl + k] = (float)((exp(z[k] - mx) / se - (k == y0)) / (double)n);
                } else {
                    total += distill_row(z, lab->soft + i * nl, nl, y0, lab->temperature, lab->alpha, dl + i * nl, (double)n);
                }
            }
            total /= (double)n;
        } else if (c->problem == BERTC_PROBLEM_MULTI_LABEL) {
            double cnt = (double)n * nl;
            for (size_t i = 0; i < n * (size_t)nl; i++) {
                double z = lg[i], y0 = lab->vals[i];
                total += (z > 0 ? z : 0) - z * y0 + log1p(exp(-fabs(z)));
                dl[i] = (float)((1.0 / (1.0 + exp(-z)) - y0) / cnt);
            }
            total /= cnt;
        } else {
            double cnt = (double)n * nl;
            for (size_t i = 0; i < n * (size_t)nl; i++) {
                double d = (double)lg[i] - lab->vals[i];
                total += d * d;
                dl[i] = (float)(2.0 * d / cnt);
            }
            total /= cnt;
        }
    }
    if (loss) *loss = total;
    if (!train) return BERTC_OK;
    if (!have_labels) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "training step without labels");
    if (!isfinite(total)) return BERTC_OK; /* the caller stops; no gradient from a non-finite loss */
    for (size_t i = 0; i < n * (size_t)nl; i++) dl[i] *= grad_scale;
    model_backward(&m->enc, encs, n, dl);
    return BERTC_OK;
}

/* The global L2 norm over fixed chunks of the flat gradient (the padding between tensors is zero), each summed in
 * double, the chunks added in order: the same value whatever the thread count. */
#define NORM_CHUNKS 64
typedef struct norm_job {
    const float *g;
    size_t n;
    double part[NORM_CHUNKS];
} norm_job;

static void norm_task(void *ctx, int task, int n_tasks) {
    norm_job *j = ctx;
    size_t i0 = j->n * (size_t)task / (size_t)n_tasks, i1 = j->n * (size_t)(task + 1) / (size_t)n_tasks;
    double s = 0;
    for (size_t i = i0; i < i1; i++) s += (double)j->g[i] * j->g[i];
    j->part[task] = s;
}

double tmodel_grad_norm(const tmodel *m) {
    norm_job j;
    j.g = m->g;
    j.n = m->total;
    threadpool_run(m->pool, norm_task, &j, NORM_CHUNKS);
    double s = 0;
    for (int i = 0; i < NORM_CHUNKS; i++) s += j.part[i];
    return sqrt(s);
}
