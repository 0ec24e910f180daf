/*
 * layers.c — the training variants of the encoder's operations and their backward passes, as autograd computes
 * them: dropout (a counter-based mask drawn again in the backward pass instead of stored), LayerNorm keeping x-hat
 * and 1/std, activations apart from the GEMM, attention keeping its softmax probabilities, and dW = dy^T x on the
 * forward GEMM kernels. Every reduction runs in a fixed order over fixed chunks: the same bits whatever the number of
 * threads.
 */
#include "layers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void dropout_apply(float *x, size_t n, float p, uint64_t sk) {
    if (p <= 0) return;
    float scale = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) x[i] *= drop_factor(sk, i, p, scale);
}

/* ---- LayerNorm with the normalized values kept ---- */
typedef struct ln_fwd_job {
    float *y, *xhat, *rstd;
    const float *x, *g, *b;
    int M, C;
    float eps;
} ln_fwd_job;

static void ln_fwd_task(void *ctx, int task, int n_tasks) {
    ln_fwd_job *j = ctx;
    int m0 = (int)((long)j->M * task / n_tasks), m1 = (int)((long)j->M * (task + 1) / n_tasks);
    const int C = j->C;
    for (int m = m0; m < m1; m++) {
        const float *r = j->x + (size_t)m * C;
        float mean, rs = layernorm_stats(r, C, j->eps, &mean);
        j->rstd[m] = rs;
        float *xh = j->xhat + (size_t)m * C, *y = j->y + (size_t)m * C;
        for (int c = 0; c < C; c++) {
            xh[c] = (r[c] - mean) * rs;
            y[c] = xh[c] * j->g[c] + j->b[c];
        }
    }
}

void ln_forward(threadpool *tp, float *y, float *xhat, float *rstd, const float *x, const float *g, const float *b,
                       int M, int C, float eps) {
    ln_fwd_job j = {y, xhat, rstd, x, g, b, M, C, eps};
    threadpool_run(tp, ln_fwd_task, &j, M >= 16 ? 8 : 1);
}

typedef struct ln_bwd_job {
    float *dx;           /* out: M x C */
    const float *dy, *xhat, *rstd, *g;
    float *part;         /* LN_CHUNKS x 2C partial dg | db */
    int M, C;
} ln_bwd_job;

static void ln_bwd_task(void *ctx, int task, int n_tasks) {
    ln_bwd_job *j = ctx;
    int m0 = (int)((long)j->M * task / n_tasks), m1 = (int)((long)j->M * (task + 1) / n_tasks);
    const int C = j->C;
    float *pg = j->part + (size_t)task * 2 * C, *pb = pg + C;
    memset(pg, 0, 2 * (size_t)C * sizeof(float));
    for (int m = m0; m < m1; m++) {
        const float *dy = j->dy + (size_t)m * C, *xh = j->xhat + (size_t)m * C;
        float s1 = 0.0f, s2 = 0.0f;
        for (int c = 0; c < C; c++) {
            float d = dy[c] * j->g[c];
            s1 += d;
            s2 += d * xh[c];
            pg[c] += dy[c] * xh[c];
            pb[c] += dy[c];
        }
        s1 /= (float)C;
        s2 /= (float)C;
        float rs = j->rstd[m], *dx = j->dx + (size_t)m * C;
        for (int c = 0; c < C; c++) dx[c] = rs * (dy[c] * j->g[c] - s1 - xh[c] * s2);
    }
}

/* dx = LayerNorm backward of dy; dg += sum dy * xhat, db += sum dy (when not NULL). */
void ln_backward(threadpool *tp, float *dx, const float *dy, const float *xhat, const float *rstd, const float *g,
                        float *dg, float *db, int M, int C, float *part) {
    ln_bwd_job j = {dx, dy, xhat, rstd, g, part, M, C};
    int chunks = M >= LN_CHUNKS ? LN_CHUNKS : 1;
    threadpool_run(tp, ln_bwd_task, &j, chunks);
    if (!dg) return;
    for (int t = 0; t < chunks; t++)
        for (int c = 0; c < C; c++) {
            dg[c] += part[(size_t)t * 2 * C + c];
            db[c] += part[(size_t)t * 2 * C + C + c];
        }
}

/* ---- activations ---- */
typedef struct act_job {
    float *y;        /* forward: act(x); backward: dy * act'(x) in place of dy */
    const float *x;
    size_t n;
    enum epilogue a;
    bool backward;
} act_job;

/* split in fixed chunks: the vector GELU's tails fall at the same points whatever the thread count */
static void act_task(void *ctx, int task, int n_tasks) {
    act_job *j = ctx;
    size_t i0 = j->n * (size_t)task / (size_t)n_tasks, i1 = j->n * (size_t)(task + 1) / (size_t)n_tasks;
    if (j->backward) activation_backward(j->y + i0, j->x + i0, i1 - i0, j->a);
    else activation_forward(j->y + i0, j->x + i0, i1 - i0, j->a);
}

void act_run(threadpool *tp, float *y, const float *x, size_t n, enum epilogue a, bool backward) {
    act_job j = {y, x, n, a, backward};
    threadpool_run(tp, act_task, &j, n >= 4096 ? 16 : 1);
}

/* ---- linear layers ---- */


typedef struct colsum_job {
    float *db;
    const float *dy;
    int M, N;
} colsum_job;

static void colsum_task(void *ctx, int task, int n_tasks) {
    colsum_job *j = ctx;
    int c0 = (int)((long)j->N * task / n_tasks), c1 = (int)((long)j->N * (task + 1) / n_tasks);
    for (int m = 0; m < j->M; m++) {
        const float *r = j->dy + (size_t)m * j->N;
        for (int c = c0; c < c1; c++) j->db[c] += r[c];
    }
}

typedef struct tr_job {
    float *dst;       /* N x M */
    const float *src; /* M x N */
    int M, N;
} tr_job;

static void tr_task(void *ctx, int task, int n_tasks) {
    tr_job *j = ctx;
    int n0 = (int)((long)j->N * task / n_tasks), n1 = (int)((long)j->N * (task + 1) / n_tasks);
    for (int mb = 0; mb < j->M; mb += 32) {
        int me = mb + 32 < j->M ? mb + 32 : j->M;
        for (int n = n0; n < n1; n++)
            for (int mm = mb; mm < me; mm++) j->dst[(size_t)n * j->M + mm] = j->src[(size_t)mm * j->N + n];
    }
}

typedef struct xpack_job {
    float *dst;
    const float *x; /* M x K */
    int M, K;
} xpack_job;

/* x [M, K] as the packed "weights" of a GEMM with N' = K outputs over K' = M inputs (panel p, row m: x[m][16p..]) */
static void xpack_task(void *ctx, int task, int n_tasks) {
    xpack_job *j = ctx;
    int np = (j->K + GEMM_NR - 1) / GEMM_NR;
    int p0 = (int)((long)np * task / n_tasks), p1 = (int)((long)np * (task + 1) / n_tasks);
    for (int p = p0; p < p1; p++) {
        int j1 = j->K - p * GEMM_NR < GEMM_NR ? j->K - p * GEMM_NR : GEMM_NR;
        for (int mm = 0; mm < j->M; mm++) {
            float *d = j->dst + ((size_t)p * j->M + mm) * GEMM_NR;
            memcpy(d, j->x + (size_t)mm * j->K + p * GEMM_NR, (size_t)j1 * sizeof(float));
            for (int q = j1; q < GEMM_NR; q++) d[q] = 0.0f;
        }
    }
}

typedef struct add_job {
    float *dst;
    const float *src;
    size_t n;
} add_job;

static void add_task(void *ctx, int task, int n_tasks) {
    add_job *j = ctx;
    size_t i0 = j->n * (size_t)task / (size_t)n_tasks, i1 = j->n * (size_t)(task + 1) / (size_t)n_tasks;
    for (size_t i = i0; i < i1; i++) j->dst[i] += j->src[i];
}

void add_into(threadpool *tp, float *dst, const float *src, size_t n) {
    add_job j = {dst, src, n};
    threadpool_run(tp, add_task, &j, n >= 65536 ? 16 : 1);
}

/* x [M, K] as the bf16-compute "weights" of that GEMM (k pairs over M): wb[((p M2 + mm) NR + j) 2 + i] =
 * bf16(x[2 mm + i][16 p + j]), M2 = bf16_pairs(M), the pairs past M zeros */
static void xpack_bf16_task(void *ctx, int task, int n_tasks) {
    xpack_job *j = ctx;
    int np = (j->K + GEMM_NR - 1) / GEMM_NR, M2 = bf16_pairs(j->M), used = (j->M + 1) / 2;
    int p0 = (int)((long)np * task / n_tasks), p1 = (int)((long)np * (task + 1) / n_tasks);
    uint32_t *wb = (uint32_t *)j->dst;
    for (int p = p0; p < p1; p++) {
        int n = j->K - p * GEMM_NR < GEMM_NR ? j->K - p * GEMM_NR : GEMM_NR;
        memset(wb + ((size_t)p * M2 + used) * GEMM_NR, 0, (size_t)(M2 - used) * GEMM_NR * sizeof *wb);
        for (int mm = 0; mm < used; mm++) {
            uint32_t *d = wb + ((size_t)p * M2 + mm) * GEMM_NR;
            const float *r0 = j->x + (size_t)(2 * mm) * j->K + p * GEMM_NR;
            bf16_pair_rows(d, r0, 2 * mm + 1 < j->M ? r0 + j->K : NULL, n);
            for (int q = n; q < GEMM_NR; q++) d[q] = 0;
        }
    }
}


/* gW [N, K] += dy^T x, gb [N] += column sums of dy; dy [M, N], x [M, K]. */
void lin_dw(threadpool *tp, const dw_scratch *a, float *gW, float *gb, const float *dy, const float *x, int M, int N, int K) {
    tr_job tj = {a->dyt, dy, M, N};
    threadpool_run(tp, tr_task, &tj, N >= 64 ? 16 : 1);
    xpack_job xj = {a->xpack, x, M, K};
    int np = (K + GEMM_NR - 1) / GEMM_NR;
    threadpool_run(tp, a->bf16 ? xpack_bf16_task : xpack_task, &xj, np < 16 ? np : 16);
    packed_linear pl;
    memset(&pl, 0, sizeof pl);
    pl.N = K;
    pl.K = M;
    if (a->bf16) { /* the same buffer holds the bf16 pairs: np * bf16_pairs(M) * NR words (see acts_alloc) */
        pl.wb = (uint16_t *)a->xpack;
        pl.K2 = bf16_pairs(M);
        pl.wtype = WEIGHT_BF16;
    } else {
        pl.w = a->xpack;
        pl.wtype = WEIGHT_F32;
    }
    pl.bias = a->zeros;
    linear_forward(tp, a->dw, a->dyt, &pl, N, EPI_NONE, NULL);
    add_into(tp, gW, a->dw, (size_t)N * K);
    if (gb) {
        colsum_job cj = {gb, dy, M, N};
        threadpool_run(tp, colsum_task, &cj, N >= 64 ? 8 : 1);
    }
}

/* ---- attention ---- */
static void att_task(void *pctx, int task, int n_tasks) {
    (void)n_tasks;
    att_job *j = pctx;
    const int nh = j->heads, H = j->H, dh = H / nh, ld = 3 * H;
    int s = task / nh, h = task % nh, T = j->seq_len[s];
    size_t off = (size_t)j->seq_off[s];
    const float scale = 1.0f / sqrtf((float)dh);
    const float p = j->p, dscale = p > 0 ? 1.0f / (1.0f - p) : 1.0f;
    float *P = j->P + j->pofs[s] + (size_t)h * T * T;
    size_t pbase = (size_t)(P - j->P); /* element index of the dropout mask */
    const float *q = j->qkv + off * ld + h * dh, *k = q + H, *v = q + 2 * H;
    float *row = j->scratch + (size_t)task * (2 + (size_t)dh) * (size_t)j->max_T;
    float *tr = row + 2 * (size_t)j->max_T; /* K^T (forward) or V^T (backward) of this head: dh x T */
    const int RW = 2 * j->rel_R - 1; /* the relative bias's row width */
    if (!j->backward) {
        float *o = j->ctx + off * H + h * dh;
        const float *rel0 = j->rel ? j->rel + (size_t)h * RW + (j->rel_R - 1) : NULL; /* offset 0 of this head */
        for (int t = 0; t < T; t++)
            for (int d = 0; d < dh; d++) tr[(size_t)d * T + t] = k[(size_t)t * ld + d];
        for (int i = 0; i < T; i++) {
            float *pr = P + (size_t)i * T, mx = -INFINITY;
            const float *qi = q + (size_t)i * ld;
            for (int t = 0; t < T; t++) pr[t] = 0.0f;
            for (int d = 0; d < dh; d++) { /* each score summed over d in order, as a dot product would */
                const float qd = qi[d], *kd = tr + (size_t)d * T;
                for (int t = 0; t < T; t++) pr[t] += qd * kd[t];
            }
            if (rel0)
                for (int t = 0; t < T; t++) pr[t] = pr[t] * scale + rel0[t - i];
            else
                for (int t = 0; t < T; t++) pr[t] *= scale;
            for (int t = 0; t < T; t++)
                if (pr[t] > mx) mx = pr[t];
            float sum = 0.0f;
            for (int t = 0; t < T; t++) {
                pr[t] = expf(pr[t] - mx);
                sum += pr[t];
            }
            float inv = 1.0f / sum;
            for (int t = 0; t < T; t++) {
                pr[t] *= inv;
                row[t] = p > 0 ? pr[t] * drop_factor(j->sk, pbase + (size_t)i * T + t, p, dscale) : pr[t];
            }
            float *oi = o + (size_t)i * H;
            for (int d = 0; d < dh; d++) oi[d] = 0.0f;
            for (int t = 0; t < T; t++) {
                float w = row[t];
                const float *vt = v + (size_t)t * ld;
                for (int d = 0; d < dh; d++) oi[d] += w * vt[d];
            }
        }
        return;
    }
    /* backward */
    const float *dc = j->dctx + off * H + h * dh;
    float *dq = j->dqkv + off * ld + h * dh, *dk = dq + H, *dv = dq + 2 * H;
    for (int t = 0; t < T; t++)
        for (int d = 0; d < dh; d++) dq[(size_t)t * ld + d] = dk[(size_t)t * ld + d] = dv[(size_t)t * ld + d] = 0.0f;
    float *dp = row, *fac = row + j->max_T;
    float *drel0 = NULL; /* offset 0 of this task's row of the relative bias's gradient */
    if (j->drel) {
        float *dr = j->drel + ((size_t)s * nh + h) * RW;
        for (int r = 0; r < RW; r++) dr[r] = 0.0f;
        drel0 = dr + (j->rel_R - 1);
    }
    for (int t = 0; t < T; t++)
        for (int d = 0; d < dh; d++) tr[(size_t)d * T + t] = v[(size_t)t * ld + d];
    for (int i = 0; i < T; i++) {
        const float *pr = P + (size_t)i * T, *dci = dc + (size_t)i * H;
        float rowdot = 0.0f;
        for (int t = 0; t < T; t++) dp[t] = 0.0f;
        for (int d = 0; d < dh; d++) {
            const float g = dci[d], *vd = tr + (size_t)d * T;
            for (int t = 0; t < T; t++) dp[t] += g * vd[t];
        }
        for (int t = 0; t < T; t++) {
            fac[t] = p > 0 ? drop_factor(j->sk, pbase + (size_t)i * T + t, p, dscale) : 1.0f;
            dp[t] *= fac[t];
            rowdot += pr[t] * dp[t];
            /* dv_t += Pd_it dctx_i */
            float w = pr[t] * fac[t];
            float *dvt = dv + (size_t)t * ld;
            for (int d = 0; d < dh; d++) dvt[d] += w * dci[d];
        }
        float *dqi = dq + (size_t)i * ld;
        const float *qi = q + (size_t)i * ld;
        for (int t = 0; t < T; t++) {
            float gs = pr[t] * (dp[t] - rowdot), ds = gs * scale;
            if (drel0) drel0[t - i] += gs;
            const float *kt = k + (size_t)t * ld;
            float *dkt = dk + (size_t)t * ld;
            for (int d = 0; d < dh; d++) {
                dqi[d] += ds * kt[d];
                dkt[d] += ds * qi[d];
            }
        }
    }
}

/* ---- the step ---- */

void attention_kept(threadpool *tp, const att_job *j, int n_seq) {
    threadpool_run(tp, att_task, (void *)j, n_seq * j->heads);
}

static size_t acts_slice(size_t n) { return (n + 16) / 16 * 16; }
static size_t acts_hdr(size_t hdr) { return (hdr + 63) / 64 * 64; }

void *acts_block(void **slot, size_t hdr, const size_t *sz, int nsz) {
    size_t total = 0;
    for (int i = 0; i < nsz; i++) total += acts_slice(sz[i]);
    size_t *cap = *slot;
    if (!cap || *cap < total) {
        free(*slot);
        size_t want = total + total / 4;
        *slot = cap = aligned_alloc(64, acts_hdr(hdr) + (want * sizeof(float) + 63) / 64 * 64);
        if (!cap) return NULL;
        *cap = want;
    }
    return cap;
}

void acts_carve(void *block, size_t hdr, const size_t *sz, int nsz, float **const *dst, int ndst, void **rest) {
    float *p = (float *)((char *)block + acts_hdr(hdr));
    for (int i = 0; i < nsz; i++) {
        if (i < ndst) *dst[i] = p;
        else rest[i - ndst] = p;
        p += acts_slice(sz[i]);
    }
}
