/*
 * backprop.c — the training forward pass (keeping what the backward pass needs) and the backward pass of
 * every operation of DistilBERT, BERT and RoBERTa and their sequence-classification heads, as autograd
 * computes them for transformers' modules:
 *   embeddings (word + token type + position, RoBERTa's padding-offset positions) → LayerNorm → dropout;
 *   per layer: fused QKV linear → attention per (sequence, head) over the sequence's own tokens (no padding is
 *   ever computed), softmax, dropout on the probabilities → output linear → dropout → + residual → LayerNorm →
 *   FFN (exact or tanh GELU, or ReLU) → dropout → + residual → LayerNorm;
 *   heads: DistilBERT pre_classifier + ReLU → dropout → classifier; BERT tanh pooler → dropout → classifier;
 *   RoBERTa dropout → dense → tanh → dropout → out_proj.
 * Losses: cross-entropy (mean), BCE-with-logits (mean over all outputs), MSE (mean), as transformers picks
 * them by problem_type.
 *
 * Dropout masks are a counter-based hash of (step key, site, element), drawn again in the backward pass
 * instead of stored: the same bits whatever the thread count. Every reduction runs in a fixed order over
 * fixed chunks, so results are identical for a given seed whatever the number of threads.
 * Linear layers use the forward GEMM kernels: y = x W^T with W packed, dx = dy W with W^T packed, and
 * dW = dy^T x with x packed as the "weights" of a GEMM over the token dimension.
 */
#include "tmodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct tacts {
    size_t M_cap, n_cap, P_cap;
    /* kept per layer */
    float *xs;     /* (layers + 1) x M x H: layer inputs / outputs (xs[0] = embeddings after dropout) */
    float *qkv;    /* layers x M x 3H */
    float *P;      /* layers x P_cap: softmax probabilities (before dropout) */
    float *ctx;    /* layers x M x H */
    float *xhat1, *x1, *xhat2; /* layers x M x H */
    float *rstd1, *rstd2;      /* layers x M */
    float *hpre;   /* layers x M x I */
    float *xhat_e, *rstd_e;    /* embeddings LayerNorm */
    /* head */
    float *cls, *hpre_head, *hact, *hdrop; /* n x H */
    /* work */
    float *h, *dh;             /* M x I */
    float *d0, *d1, *d2, *d3;  /* M x H */
    float *dqkv;               /* M x 3H */
    float *dyt;                /* max(3H, I) x M */
    float *dw;                 /* max(3H*H, I*H, L*H) */
    float *xpack;              /* packed x for dW: ceil(max(H, I) / 16) * 16 x M */
    float *zeros;              /* bias of the dW GEMM */
    float *att_scratch;        /* per task: 2 * max_T */
    size_t att_scratch_n;
    int *seq_off, *seq_len;
    int *pos_id, *type_id; /* per token: the position and token type the embeddings used (the backward pass reuses them) */
    size_t *pofs;
} tacts;

static void acts_free(tacts *a) {
    if (!a) return;
    float **f[] = {&a->xs, &a->qkv, &a->P, &a->ctx, &a->xhat1, &a->x1, &a->xhat2, &a->rstd1, &a->rstd2, &a->hpre,
                   &a->xhat_e, &a->rstd_e, &a->cls, &a->hpre_head, &a->hact, &a->hdrop, &a->h, &a->dh, &a->d0,
                   &a->d1, &a->d2, &a->d3, &a->dqkv, &a->dyt, &a->dw, &a->xpack, &a->zeros, &a->att_scratch};
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        free(*f[i]);
        *f[i] = NULL;
    }
    free(a->seq_off);
    free(a->seq_len);
    free(a->pofs);
    free(a->pos_id);
    free(a->type_id);
    a->seq_off = a->seq_len = a->pos_id = a->type_id = NULL;
    a->pofs = NULL;
    a->M_cap = a->n_cap = a->P_cap = 0;
}

void tmodel_acts_free(tmodel *m) {
    if (m && m->acts) {
        acts_free(m->acts);
        free(m->acts);
        m->acts = NULL;
    }
}

static float *falloc(size_t n) { return aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64 + 64); }

static bool acts_reserve(tmodel *m, size_t M, size_t n, size_t P, int max_T) {
    if (!m->acts && !(m->acts = calloc(1, sizeof(tacts)))) return false;
    tacts *a = m->acts;
    const size_t H = (size_t)m->cfg.hidden, I = (size_t)m->cfg.intermediate, Ly = (size_t)m->cfg.layers;
    const size_t L = (size_t)m->cfg.n_labels;
    size_t tasks = n * (size_t)m->cfg.heads, per_task = (2 + (size_t)(m->cfg.hidden / m->cfg.heads)) * (size_t)max_T;
    if (M <= a->M_cap && n <= a->n_cap && P <= a->P_cap && tasks * per_task <= a->att_scratch_n) return true;
    M = M > a->M_cap ? M + M / 4 : a->M_cap;
    n = n > a->n_cap ? n + n / 4 : a->n_cap;
    P = P > a->P_cap ? P + P / 4 : a->P_cap;
    size_t att = tasks * per_task;
    att = att > a->att_scratch_n ? att + att / 4 : a->att_scratch_n;
    acts_free(a);
    size_t maxN = 3 * H > I ? 3 * H : I, panels = ((H > I ? H : I) + GEMM_NR - 1) / GEMM_NR * GEMM_NR;
    size_t wmax = 3 * H * H > I * H ? 3 * H * H : I * H;
    if (L * H > wmax) wmax = L * H;
    a->xs = falloc((Ly + 1) * M * H);
    a->qkv = falloc(Ly * M * 3 * H);
    a->P = falloc(Ly * P);
    a->ctx = falloc(Ly * M * H);
    a->xhat1 = falloc(Ly * M * H);
    a->x1 = falloc(Ly * M * H);
    a->xhat2 = falloc(Ly * M * H);
    a->rstd1 = falloc(Ly * M);
    a->rstd2 = falloc(Ly * M);
    a->hpre = falloc(Ly * M * I);
    a->xhat_e = falloc(M * H);
    a->rstd_e = falloc(M);
    a->cls = falloc(n * H);
    a->hpre_head = falloc(n * H);
    a->hact = falloc(n * H);
    a->hdrop = falloc(n * H);
    a->h = falloc(M * I);
    a->dh = falloc(M * I);
    a->d0 = falloc(M * H);
    a->d1 = falloc(M * H);
    a->d2 = falloc(M * H);
    a->d3 = falloc(M * H);
    a->dqkv = falloc(M * 3 * H);
    a->dyt = falloc(maxN * M);
    a->dw = falloc(wmax);
    a->xpack = falloc(panels * (M > (size_t)bf16_pairs((int)M) ? M : (size_t)bf16_pairs((int)M))); /* fp32 or bf16 pairs */
    a->zeros = falloc(panels);
    a->att_scratch = falloc(att);
    a->seq_off = malloc(n * sizeof(int));
    a->seq_len = malloc(n * sizeof(int));
    a->pofs = malloc(n * sizeof(size_t));
    a->pos_id = malloc(M * sizeof(int));
    a->type_id = malloc(M * sizeof(int));
    float *all[] = {a->xs, a->qkv, a->P, a->ctx, a->xhat1, a->x1, a->xhat2, a->rstd1, a->rstd2, a->hpre, a->xhat_e,
                    a->rstd_e, a->cls, a->hpre_head, a->hact, a->hdrop, a->h, a->dh, a->d0, a->d1, a->d2, a->d3,
                    a->dqkv, a->dyt, a->dw, a->xpack, a->zeros, a->att_scratch};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (!all[i]) {
            acts_free(a);
            return false;
        }
    if (!a->seq_off || !a->seq_len || !a->pofs || !a->pos_id || !a->type_id) {
        acts_free(a);
        return false;
    }
    memset(a->zeros, 0, panels * sizeof(float));
    a->M_cap = M;
    a->n_cap = n;
    a->P_cap = P;
    a->att_scratch_n = att;
    return true;
}

/* ---- dropout ---- */
enum { SITE_EMB = 1, SITE_HEAD0 = 2, SITE_HEAD1 = 3, SITE_LAYER = 16 }; /* layer l: 16 + 4 l + {0 attn, 1 out, 2 ffn} */


static void dropout_apply(float *x, size_t n, float p, uint64_t sk) {
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

static void ln_forward(threadpool *tp, float *y, float *xhat, float *rstd, const float *x, const float *g, const float *b,
                       int M, int C, float eps) {
    ln_fwd_job j = {y, xhat, rstd, x, g, b, M, C, eps};
    threadpool_run(tp, ln_fwd_task, &j, M >= 16 ? 8 : 1);
}

#define LN_CHUNKS 8
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
static void ln_backward(threadpool *tp, float *dx, const float *dy, const float *xhat, const float *rstd, const float *g,
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
static inline float act_f(float v, enum epilogue a) {
    switch (a) {
    case EPI_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case EPI_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case EPI_RELU: return v > 0.0f ? v : 0.0f;
    case EPI_TANH: return tanhf(v);
    default: return v;
    }
}

static inline float act_d(float v, enum epilogue a) {
    switch (a) {
    case EPI_GELU: {
        float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        return cdf + v * 0.3989422804014327f * expf(-0.5f * v * v);
    }
    case EPI_GELU_TANH: {
        float u = 0.79788456080286536f * (v + 0.044715f * v * v * v), t = tanhf(u);
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * v * v);
    }
    case EPI_RELU: return v > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

typedef struct act_job {
    float *y;        /* forward: act(x); backward: dy * act'(x) in place of dy */
    const float *x;
    size_t n;
    enum epilogue a;
    bool backward;
} act_job;

static void act_task(void *ctx, int task, int n_tasks) {
    act_job *j = ctx;
    size_t i0 = j->n * (size_t)task / (size_t)n_tasks, i1 = j->n * (size_t)(task + 1) / (size_t)n_tasks;
    if (j->a == EPI_GELU && cpu_has_avx2_fma()) {
        /* the vectorized erf of the inference kernels (absolute error < 1.5e-7) */
        for (size_t i = i0; i < i1; i += 1 << 20) {
            int len = (int)(i1 - i < (1u << 20) ? i1 - i : (1u << 20));
            if (j->backward) {
                gelu_grad_avx2(j->y + i, j->x + i, len);
            } else {
                memcpy(j->y + i, j->x + i, (size_t)len * sizeof(float));
                if (cpu_has_avx512()) gelu_avx512(j->y + i, len, NULL);
                else gelu_avx2(j->y + i, len, NULL);
            }
        }
        return;
    }
    if (j->backward)
        for (size_t i = i0; i < i1; i++) j->y[i] *= act_d(j->x[i], j->a);
    else
        for (size_t i = i0; i < i1; i++) j->y[i] = act_f(j->x[i], j->a);
}

static void act_run(threadpool *tp, float *y, const float *x, size_t n, enum epilogue a, bool backward) {
    act_job j = {y, x, n, a, backward};
    threadpool_run(tp, act_task, &j, n >= 4096 ? 16 : 1);
}

/* ---- linear layers ---- */

/* dx (+)= dy W: out = dy W (+ residual when not NULL; residual must not alias out). */
static void lin_dx(tmodel *m, int li, float *out, const float *dy, int M, const float *residual) {
    linear_forward(m->pool, out, dy, &m->lin[li].bwd, M, EPI_NONE, residual);
}

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

static void add_into(threadpool *tp, float *dst, const float *src, size_t n) {
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
static void lin_dw(tmodel *m, float *gW, float *gb, const float *dy, const float *x, int M, int N, int K) {
    tacts *a = m->acts;
    tr_job tj = {a->dyt, dy, M, N};
    threadpool_run(m->pool, tr_task, &tj, N >= 64 ? 16 : 1);
    xpack_job xj = {a->xpack, x, M, K};
    int np = (K + GEMM_NR - 1) / GEMM_NR;
    threadpool_run(m->pool, m->bf16 ? xpack_bf16_task : xpack_task, &xj, np < 16 ? np : 16);
    packed_linear pl;
    memset(&pl, 0, sizeof pl);
    pl.N = K;
    pl.K = M;
    if (m->bf16) { /* the same buffer holds the bf16 pairs: np * bf16_pairs(M) * NR words (see acts_alloc) */
        pl.wb = (uint16_t *)a->xpack;
        pl.K2 = bf16_pairs(M);
        pl.wtype = WEIGHT_BF16;
    } else {
        pl.w = a->xpack;
        pl.wtype = WEIGHT_F32;
    }
    pl.bias = a->zeros;
    linear_forward(m->pool, a->dw, a->dyt, &pl, N, EPI_NONE, NULL);
    add_into(m->pool, gW, a->dw, (size_t)N * K);
    if (gb) {
        colsum_job cj = {gb, dy, M, N};
        threadpool_run(m->pool, colsum_task, &cj, N >= 64 ? 8 : 1);
    }
}

/* ---- attention ---- */
typedef struct att_job {
    tmodel *m;
    int layer;
    float *ctx, *P;
    const float *qkv;
    float *dqkv;
    const float *dctx;
    bool backward, train;
    uint64_t sk;
    int max_T;
} att_job;

static void att_task(void *pctx, int task, int n_tasks) {
    (void)n_tasks;
    att_job *j = pctx;
    tacts *a = j->m->acts;
    const int nh = j->m->cfg.heads, H = j->m->cfg.hidden, dh = H / nh, ld = 3 * H;
    int s = task / nh, h = task % nh, T = a->seq_len[s];
    size_t off = (size_t)a->seq_off[s];
    const float scale = 1.0f / sqrtf((float)dh);
    const float p = j->train ? j->m->drop.attention : 0.0f, dscale = p > 0 ? 1.0f / (1.0f - p) : 1.0f;
    float *P = j->P + a->pofs[s] + (size_t)h * T * T;
    size_t pbase = (size_t)(P - j->P); /* element index of the dropout mask */
    const float *q = j->qkv + off * ld + h * dh, *k = q + H, *v = q + 2 * H;
    float *row = a->att_scratch + (size_t)task * (2 + (size_t)dh) * (size_t)j->max_T;
    float *tr = row + 2 * (size_t)j->max_T; /* K^T (forward) or V^T (backward) of this head: dh x T */
    if (!j->backward) {
        float *o = j->ctx + off * H + h * dh;
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
            for (int t = 0; t < T; t++) {
                pr[t] *= scale;
                if (pr[t] > mx) mx = pr[t];
            }
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
            float ds = pr[t] * (dp[t] - rowdot) * scale;
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

static inline float *W(tmodel *m, size_t off) { return m->w + off; }
static inline float *G(tmodel *m, size_t off) { return m->g + off; }

bertc_status tmodel_step(tmodel *m, const bertc_encoding *encs, size_t n, const tbatch_labels *lab, bool train,
                         uint64_t key, float grad_scale, float *logits, double *loss, bertc_error *err) {
    const model_config *c = &m->cfg;
    const int H = c->hidden, I = c->intermediate, nl = c->n_labels, Ly = c->layers, nh = c->heads;
    if (n == 0) return bertc_fail(err, BERTC_ERR_INVALID_ARG, "empty batch");
    size_t M = 0, P = 0;
    int max_T = 1;
    for (size_t i = 0; i < n; i++) {
        if (encs[i].n == 0) return bertc_fail(err, BERTC_ERR_INPUT, "input %zu has no tokens", i);
        M += encs[i].n;
        P += (size_t)nh * encs[i].n * encs[i].n;
        if ((int)encs[i].n > max_T) max_T = (int)encs[i].n;
        for (size_t t = 0; t < encs[i].n; t++)
            if (encs[i].ids[t] < 0 || encs[i].ids[t] >= c->vocab_size)
                return bertc_fail(err, BERTC_ERR_INPUT, "token id %d outside the vocab (%d)", encs[i].ids[t], c->vocab_size);
    }
    if (!acts_reserve(m, M, n, P, max_T)) return bertc_fail(err, BERTC_ERR_NOMEM, "out of memory for a batch of %zu tokens", M);
    tacts *a = m->acts;
    size_t poff = 0, off = 0;
    for (size_t i = 0; i < n; i++) {
        a->seq_off[i] = (int)off;
        a->seq_len[i] = (int)encs[i].n;
        a->pofs[i] = poff;
        off += encs[i].n;
        poff += (size_t)nh * encs[i].n * encs[i].n;
    }
    const size_t MH = M * (size_t)H;
    float *lnpart = a->dw; /* LN partial sums: LN_CHUNKS x 2H <= the dW buffer */
    /* embeddings */
    float *x0 = a->d0;
    for (size_t i = 0; i < n; i++) {
        int pos_count = 0;
        for (size_t t = 0; t < encs[i].n; t++) {
            int id = encs[i].ids[t], pos;
            if (c->arch == BERTC_ARCH_ROBERTA) pos = id != c->pad_token_id ? c->pad_token_id + ++pos_count : c->pad_token_id;
            else pos = (int)t;
            if (pos >= c->max_positions) return bertc_fail(err, BERTC_ERR_INPUT, "input %zu is longer than the model's positions", i);
            int tt = m->type != SIZE_MAX && encs[i].type_ids ? encs[i].type_ids[t] : 0;
            if (m->type != SIZE_MAX && (tt < 0 || tt >= c->type_vocab_size))
                return bertc_fail(err, BERTC_ERR_INPUT, "token type id %d outside type_vocab_size %d", tt, c->type_vocab_size);
            a->pos_id[a->seq_off[i] + t] = pos;
            a->type_id[a->seq_off[i] + t] = tt;
            float *r = x0 + ((size_t)a->seq_off[i] + t) * H;
            const float *we = W(m, m->word) + (size_t)id * H, *pe = W(m, m->pos) + (size_t)pos * H;
            if (m->type != SIZE_MAX) {
                const float *te = W(m, m->type) + (size_t)tt * H;
                for (int k = 0; k < H; k++) r[k] = we[k] + te[k] + pe[k];
            } else {
                for (int k = 0; k < H; k++) r[k] = we[k] + pe[k];
            }
        }
    }
    ln_forward(m->pool, a->xs, a->xhat_e, a->rstd_e, x0, W(m, m->emb_g), W(m, m->emb_b), (int)M, H, c->ln_eps);
    if (train) dropout_apply(a->xs, MH, m->drop.hidden, site_key(key, SITE_EMB));
    att_job aj = {m, 0, NULL, NULL, NULL, NULL, NULL, false, train, 0, max_T};
    for (int l = 0; l < Ly; l++) {
        const tlayer *L = &m->L[l];
        float *xin = a->xs + (size_t)l * MH, *xout = a->xs + (size_t)(l + 1) * MH;
        float *qkv = a->qkv + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH, *Pl = a->P + (size_t)l * a->P_cap;
        float *x1 = a->x1 + (size_t)l * MH, *hpre = a->hpre + (size_t)l * M * I;
        linear_forward(m->pool, qkv, xin, &m->lin[4 * l].fwd, (int)M, EPI_NONE, NULL);
        aj.layer = l;
        aj.ctx = ctx;
        aj.P = Pl;
        aj.qkv = qkv;
        aj.backward = false;
        aj.sk = site_key(key, SITE_LAYER + 4 * (uint64_t)l);
        threadpool_run(m->pool, att_task, &aj, (int)n * nh);
        float *y = a->d1;
        linear_forward(m->pool, y, ctx, &m->lin[4 * l + 1].fwd, (int)M, EPI_NONE, NULL);
        if (train) dropout_apply(y, MH, m->drop.hidden, site_key(key, SITE_LAYER + 4 * (uint64_t)l + 1));
        add_into(m->pool, y, xin, MH);
        ln_forward(m->pool, x1, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, y, W(m, L->ln1_g), W(m, L->ln1_b),
                   (int)M, H, c->ln_eps);
        linear_forward(m->pool, hpre, x1, &m->lin[4 * l + 2].fwd, (int)M, EPI_NONE, NULL);
        act_run(m->pool, a->h, hpre, M * (size_t)I, c->act, false);
        linear_forward(m->pool, y, a->h, &m->lin[4 * l + 3].fwd, (int)M, EPI_NONE, NULL);
        if (train) dropout_apply(y, MH, m->drop.hidden, site_key(key, SITE_LAYER + 4 * (uint64_t)l + 2));
        add_into(m->pool, y, x1, MH);
        ln_forward(m->pool, xout, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, y, W(m, L->ln2_g), W(m, L->ln2_b),
                   (int)M, H, c->ln_eps);
    }
    /* head */
    const float *last = a->xs + (size_t)Ly * MH;
    const float pc = train ? m->drop.classifier : 0.0f;
    for (size_t i = 0; i < n; i++) memcpy(a->cls + i * H, last + (size_t)a->seq_off[i] * H, (size_t)H * sizeof(float));
    if (m->head_drop_first && pc > 0) dropout_apply(a->cls, n * (size_t)H, pc, site_key(key, SITE_HEAD0));
    linear_forward(m->pool, a->hpre_head, a->cls, &m->lin[4 * Ly].fwd, (int)n, EPI_NONE, NULL);
    for (size_t i = 0; i < n * (size_t)H; i++) a->hact[i] = act_f(a->hpre_head[i], m->head_act);
    memcpy(a->hdrop, a->hact, n * (size_t)H * sizeof(float));
    if (pc > 0) dropout_apply(a->hdrop, n * (size_t)H, pc, site_key(key, SITE_HEAD1));
    float *lg = logits;
    linear_forward(m->pool, lg, a->hdrop, &m->lin[4 * Ly + 1].fwd, (int)n, EPI_NONE, NULL);
    /* loss and its gradient w.r.t. the logits (into dl, n x L) */
    float *dl = a->dqkv; /* n x L <= M x 3H */
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
                total += log(se) + mx - z[y0];
                for (int k = 0; k < nl; k++) dl[i * nl + k] = (float)((exp(z[k] - mx) / se - (k == y0)) / (double)n);
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

    /* ---- backward: head ---- */
    lin_dw(m, G(m, m->head_ow), G(m, m->head_ob), dl, a->hdrop, (int)n, nl, H);
    float *dhd = a->d2; /* n x H */
    lin_dx(m, 4 * Ly + 1, dhd, dl, (int)n, NULL);
    dropout_apply(dhd, n * (size_t)H, pc, site_key(key, SITE_HEAD1));
    for (size_t i = 0; i < n * (size_t)H; i++)
        dhd[i] *= m->head_act == EPI_TANH ? 1.0f - a->hact[i] * a->hact[i] : (a->hpre_head[i] > 0 ? 1.0f : 0.0f);
    lin_dw(m, G(m, m->head_dw), G(m, m->head_db), dhd, a->cls, (int)n, H, H);
    float *dcls = a->d3;
    lin_dx(m, 4 * Ly, dcls, dhd, (int)n, NULL);
    if (m->head_drop_first) dropout_apply(dcls, n * (size_t)H, pc, site_key(key, SITE_HEAD0));
    float *dx = a->d0; /* gradient w.r.t. the current layer's output */
    memset(dx, 0, MH * sizeof(float));
    for (size_t i = 0; i < n; i++) memcpy(dx + (size_t)a->seq_off[i] * H, dcls + i * H, (size_t)H * sizeof(float));
    /* ---- layers, last to first ---- */
    for (int l = Ly - 1; l >= 0; l--) {
        const tlayer *L = &m->L[l];
        float *xin = a->xs + (size_t)l * MH;
        float *qkv = a->qkv + (size_t)l * MH * 3, *ctx = a->ctx + (size_t)l * MH, *Pl = a->P + (size_t)l * a->P_cap;
        float *x1 = a->x1 + (size_t)l * MH, *hpre = a->hpre + (size_t)l * M * I;
        float *dy2 = a->d1, *df = a->d2, *dx1 = a->d3;
        /* LN2 */
        ln_backward(m->pool, dy2, dx, a->xhat2 + (size_t)l * MH, a->rstd2 + (size_t)l * M, W(m, L->ln2_g), G(m, L->ln2_g),
                    G(m, L->ln2_b), (int)M, H, lnpart);
        memcpy(df, dy2, MH * sizeof(float));
        dropout_apply(df, MH, m->drop.hidden, site_key(key, SITE_LAYER + 4 * (uint64_t)l + 2)); /* the same mask as the forward */
        /* FFN2: h = act(hpre) again */
        act_run(m->pool, a->h, hpre, M * (size_t)I, c->act, false);
        lin_dw(m, G(m, L->ffn2_w), G(m, L->ffn2_b), df, a->h, (int)M, H, I);
        lin_dx(m, 4 * l + 3, a->dh, df, (int)M, NULL);
        act_run(m->pool, a->dh, hpre, M * (size_t)I, c->act, true);
        /* FFN1 */
        lin_dw(m, G(m, L->ffn1_w), G(m, L->ffn1_b), a->dh, x1, (int)M, I, H);
        lin_dx(m, 4 * l + 2, dx1, a->dh, (int)M, dy2); /* + the residual path */
        /* LN1 */
        float *dy1 = a->d1, *da = a->d2;
        ln_backward(m->pool, dy1, dx1, a->xhat1 + (size_t)l * MH, a->rstd1 + (size_t)l * M, W(m, L->ln1_g), G(m, L->ln1_g),
                    G(m, L->ln1_b), (int)M, H, lnpart);
        memcpy(da, dy1, MH * sizeof(float));
        dropout_apply(da, MH, m->drop.hidden, site_key(key, SITE_LAYER + 4 * (uint64_t)l + 1)); /* the same mask as the forward */
        /* attention output */
        lin_dw(m, G(m, L->out_w), G(m, L->out_b), da, ctx, (int)M, H, H);
        float *dctx = a->d3;
        lin_dx(m, 4 * l + 1, dctx, da, (int)M, NULL);
        /* attention */
        aj.layer = l;
        aj.P = Pl;
        aj.qkv = qkv;
        aj.dqkv = a->dqkv;
        aj.dctx = dctx;
        aj.backward = true;
        aj.sk = site_key(key, SITE_LAYER + 4 * (uint64_t)l);
        threadpool_run(m->pool, att_task, &aj, (int)n * nh);
        /* QKV */
        lin_dw(m, G(m, L->qkv_w), G(m, L->qkv_b), a->dqkv, xin, (int)M, 3 * H, H);
        lin_dx(m, 4 * l, dx, a->dqkv, (int)M, dy1); /* dx of the layer input = residual + through QKV */
    }
    /* embeddings */
    if (!m->p[0].frozen) {
        dropout_apply(dx, MH, m->drop.hidden, site_key(key, SITE_EMB));
        float *de = a->d1;
        ln_backward(m->pool, de, dx, a->xhat_e, a->rstd_e, W(m, m->emb_g), G(m, m->emb_g), G(m, m->emb_b), (int)M, H, lnpart);
        /* scatter into the rows the forward pass read, with the positions and types it used */
        for (size_t i = 0; i < n; i++)
            for (size_t t = 0; t < encs[i].n; t++) {
                size_t r0 = (size_t)a->seq_off[i] + t;
                const float *r = de + r0 * H;
                float *gw = G(m, m->word) + (size_t)encs[i].ids[t] * H, *gp = G(m, m->pos) + (size_t)a->pos_id[r0] * H;
                for (int k = 0; k < H; k++) {
                    gw[k] += r[k];
                    gp[k] += r[k];
                }
                if (m->type != SIZE_MAX) {
                    float *gt = G(m, m->type) + (size_t)a->type_id[r0] * H;
                    for (int k = 0; k < H; k++) gt[k] += r[k];
                }
            }
    }
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
