/*
 * gemm.c — y = act(x W^T + b) (+ residual) over weights packed once at load, split by output panels across
 * the thread pool: the packers, the driver (x rounded, quantized or packed once per call for the tier's panels, the
 * panels through the dispatch table, the epilogue's separate pass) and the portable panels (*_ref), the spec the
 * vector tiers (gemm_avx2.c, gemm_avx512.c, gemm_avx512bf16.c, gemm_amx.c) are tested against. Each output element
 * is one fp32 dot product accumulated in k order, so results do not depend on the thread count.
 */
#include "tiers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

bool linear_pack(packed_linear *pl, const float *W, const float *bias, int N, int K) {
    memset(pl, 0, sizeof *pl);
    int np = (N + GEMM_NR - 1) / GEMM_NR;
    size_t n = (size_t)np * (size_t)K * GEMM_NR;
    pl->w = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    pl->bias = calloc((size_t)np * GEMM_NR, sizeof(float));
    if (!pl->w || !pl->bias) {
        linear_free(pl);
        return false;
    }
    pl->N = N;
    pl->K = K;
    linear_repack(pl, W, bias);
    return true;
}

void linear_repack(packed_linear *pl, const float *W, const float *bias) {
    const int N = pl->N, K = pl->K, np = (N + GEMM_NR - 1) / GEMM_NR;
    for (int p = 0; p < np; p++)
        for (int k = 0; k < K; k++) {
            float *dst = pl->w + ((size_t)p * K + k) * GEMM_NR;
            for (int j = 0; j < GEMM_NR; j++) {
                int nn = p * GEMM_NR + j;
                dst[j] = nn < N ? W[(size_t)nn * K + k] : 0.0f;
            }
        }
    if (bias) memcpy(pl->bias, bias, (size_t)N * sizeof(float));
}

bool linear_pack_half(packed_linear *pl, const float *W, const float *bias, int N, int K, int wtype) {
    /* packed as fp32 first (the same panels), then narrowed */
    if (!linear_pack(pl, W, bias, N, K)) return false;
    size_t n = (size_t)((N + GEMM_NR - 1) / GEMM_NR) * (size_t)K * GEMM_NR;
    pl->wh = aligned_alloc(64, (n * sizeof(uint16_t) + 63) / 64 * 64);
    if (!pl->wh) {
        linear_free(pl);
        return false;
    }
    for (size_t i = 0; i < n; i++) pl->wh[i] = float_to_half(pl->w[i], wtype);
    free(pl->w);
    pl->w = NULL;
    pl->wtype = wtype;
    return true;
}

bool linear_alloc_bf16(packed_linear *pl, int N, int K) {
    memset(pl, 0, sizeof *pl);
    int np = (N + GEMM_NR - 1) / GEMM_NR, K2 = bf16_pairs(K);
    size_t n = (size_t)np * (size_t)K2 * GEMM_NR * 2;
    pl->wb = aligned_alloc(64, (n * sizeof(uint16_t) + 63) / 64 * 64);
    if (pl->wb) memset(pl->wb, 0, n * sizeof(uint16_t)); /* the padding pairs stay zero */
    pl->bias = calloc((size_t)np * GEMM_NR, sizeof(float));
    if (!pl->wb || !pl->bias) {
        linear_free(pl);
        return false;
    }
    pl->N = N;
    pl->K = K;
    pl->K2 = K2;
    pl->wtype = WEIGHT_BF16;
    return true;
}

bool linear_pack_bf16(packed_linear *pl, const float *W, const float *bias, int N, int K) {
    if (!linear_alloc_bf16(pl, N, K)) return false;
    linear_repack_bf16(pl, W, bias);
    return true;
}

void linear_repack_bf16(packed_linear *pl, const float *W, const float *bias) {
    const int N = pl->N, K = pl->K, np = (N + GEMM_NR - 1) / GEMM_NR, K2 = pl->K2;
    uint16_t *row = malloc((size_t)(2 * K2 + 16) * sizeof *row);
    uint32_t *dst32 = (uint32_t *)pl->wb;
    for (int p = 0; p < np; p++)
        for (int j = 0; j < GEMM_NR; j++) {
            int nn = p * GEMM_NR + j;
            if (nn < N && row) { /* the row's k pairs, converted at once, then spread over the panel */
                bf16_row(row, W + (size_t)nn * K, K);
                for (int k = K; k < 2 * K2; k++) row[k] = 0;
                const uint32_t *pairs = (const uint32_t *)row;
                for (int kk = 0; kk < K2; kk++) dst32[((size_t)p * K2 + kk) * GEMM_NR + j] = pairs[kk];
            } else {
                for (int kk = 0; kk < K2; kk++) {
                    uint32_t v = 0;
                    if (nn < N && 2 * kk < K) { /* no scratch row (out of memory): one element at a time */
                        v = float_to_half(W[(size_t)nn * K + 2 * kk], WEIGHT_BF16);
                        if (2 * kk + 1 < K) v |= (uint32_t)float_to_half(W[(size_t)nn * K + 2 * kk + 1], WEIGHT_BF16) << 16;
                    }
                    dst32[((size_t)p * K2 + kk) * GEMM_NR + j] = v;
                }
            }
        }
    free(row);
    if (bias) memcpy(pl->bias, bias, (size_t)N * sizeof(float));
}

bool linear_pack_int8(packed_linear *pl, const float *W, const float *bias, int N, int K) {
    memset(pl, 0, sizeof *pl);
    int np = (N + GEMM_NR - 1) / GEMM_NR, K4 = int8_depth(K);
    size_t n = (size_t)np * GEMM_NR * (size_t)K4;
    pl->wq = aligned_alloc(64, (n + 63) / 64 * 64);
    pl->wscale = calloc((size_t)np * GEMM_NR, sizeof(float));
    pl->colsum = calloc((size_t)np * GEMM_NR, sizeof(int32_t));
    pl->bias = calloc((size_t)np * GEMM_NR, sizeof(float));
    if (!pl->wq || !pl->wscale || !pl->colsum || !pl->bias) {
        linear_free(pl);
        return false;
    }
    memset(pl->wq, 0, n);
    for (int nn = 0; nn < N; nn++) {
        const float *row = W + (size_t)nn * K;
        float amax = 0;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(row[k]));
        float s = amax > 0 ? amax / 127.0f : 1.0f;
        pl->wscale[nn] = s;
        int p = nn / GEMM_NR, j = nn % GEMM_NR;
        int32_t sum = 0;
        for (int k = 0; k < K; k++) {
            long q = lrintf(row[k] / s);
            q = q > 127 ? 127 : q < -127 ? -127 : q;
            pl->wq[(((size_t)p * (K4 / 4) + k / 4) * GEMM_NR + j) * 4 + k % 4] = (int8_t)q;
            sum += (int32_t)q;
        }
        pl->colsum[nn] = sum;
    }
    if (bias) memcpy(pl->bias, bias, (size_t)N * sizeof(float));
    pl->N = N;
    pl->K = K;
    pl->K4 = K4;
    return true;
}

void linear_free(packed_linear *pl) {
    free(pl->w);
    free(pl->wh);
    free(pl->wq);
    free(pl->wscale);
    free(pl->colsum);
    free(pl->bias);
    free(pl->wb);
    memset(pl, 0, sizeof *pl);
}

void linear_ref(float *y, const float *x, const float *W, const float *b, int M, int N, int K) {
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float acc = b ? b[n] : 0.0f;
            for (int k = 0; k < K; k++) acc += x[(size_t)m * K + k] * W[(size_t)n * K + k];
            y[(size_t)m * N + n] = acc;
        }
}

void gemm_panel_ref(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1) {
    int N = pl->N, K = pl->K;
    for (int p = p0; p < p1; p++) {
        const float *wp = pl->w ? pl->w + (size_t)p * K * GEMM_NR : NULL;
        const uint16_t *hp = pl->wh ? pl->wh + (size_t)p * K * GEMM_NR : NULL;
        int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
        for (int m = 0; m < M; m++) {
            float acc[GEMM_NR];
            memcpy(acc, pl->bias + p * GEMM_NR, sizeof acc);
            const float *xr = x + (size_t)m * K;
            for (int k = 0; k < K; k++)
                for (int j = 0; j < GEMM_NR; j++)
                    acc[j] += xr[k] * (pl->wtype == WEIGHT_F32 ? wp[(size_t)k * GEMM_NR + j]
                                                               : half_to_float(hp[(size_t)k * GEMM_NR + j], pl->wtype));
            memcpy(y + (size_t)m * N + p * GEMM_NR, acc, (size_t)nc * sizeof(float));
        }
    }
}

/* bf16 compute, portable: xh [M, 2 K2] holds x rounded to bf16 (nearest even, as weight_from_float), zero-padded.
 * Each output is one fp32 sum from the bias, pair after pair, the odd element of a pair first, as Intel's
 * vdpbf16ps pseudo-code orders it; the products of two bf16 are exact in fp32, so only the sums round. */
void gemm_panel_bf16_ref(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1) {
    int N = pl->N, K2 = pl->K2;
    for (int p = p0; p < p1; p++) {
        const uint16_t *wp = pl->wb + (size_t)p * K2 * GEMM_NR * 2;
        int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
        for (int m = 0; m < M; m++) {
            float acc[GEMM_NR];
            memcpy(acc, pl->bias + p * GEMM_NR, sizeof acc);
            const uint16_t *xr = xh + (size_t)m * K2 * 2;
            for (int kk = 0; kk < K2; kk++) {
                float x0 = half_to_float(xr[2 * kk], WEIGHT_BF16), x1 = half_to_float(xr[2 * kk + 1], WEIGHT_BF16);
                const uint16_t *wk = wp + (size_t)kk * GEMM_NR * 2;
                for (int j = 0; j < GEMM_NR; j++) {
                    acc[j] += x1 * half_to_float(wk[2 * j + 1], WEIGHT_BF16);
                    acc[j] += x0 * half_to_float(wk[2 * j], WEIGHT_BF16);
                }
            }
            memcpy(y + (size_t)m * N + p * GEMM_NR, acc, (size_t)nc * sizeof(float));
        }
    }
}

typedef struct bf16_pack_job {
    void *dst;
    const float *x;
    int M, K, K2, units;
    const gemm_tier *tier;
} bf16_pack_job;

/* x rounded to bf16 for the tier's panels (units of rows or of blocks of rows; tiers.h's bf16_x), split across the
 * pool. */
static void bf16_pack_task(void *ctx, int task, int n_tasks) {
    bf16_pack_job *q = ctx;
    int u0 = (int)((long)q->units * task / n_tasks), u1 = (int)((long)q->units * (task + 1) / n_tasks);
    q->tier->pack_bf16(q->dst, q->x, q->M, q->K, q->K2, u0, u1);
}

typedef struct quant_job {
    uint8_t *xq;
    float *sx;
    const float *x;
    int M, K, K4;
} quant_job;

/* Rows are independent: split them across the pool. */
static void quant_task(void *ctx, int task, int n_tasks) {
    quant_job *q = ctx;
    int m0 = (int)((long)q->M * task / n_tasks), m1 = (int)((long)q->M * (task + 1) / n_tasks);
    if (m1 > m0) kernel_ops()->quantize_rows(q->xq + (size_t)m0 * q->K4, q->sx + m0, q->x + (size_t)m0 * q->K, m1 - m0, q->K, q->K4);
}

typedef struct pack_job {
    float *xp;
    const float *x;
    int M, K, nb;
    const gemm_tier *tier;
} pack_job;

static void pack_task(void *ctx, int task, int n_tasks) {
    pack_job *q = ctx;
    q->tier->pack_f32(q->xp, q->x, q->M, q->K, (int)((long)q->nb * task / n_tasks),
                      (int)((long)q->nb * (task + 1) / n_tasks));
}

void gemm_panel_int8_ref(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0,
                                int p1) {
    int N = pl->N, K4 = pl->K4;
    for (int p = p0; p < p1; p++)
        for (int m = 0; m < M; m++)
            for (int j = 0; j < GEMM_NR; j++) {
                int nn = p * GEMM_NR + j;
                if (nn >= N) break;
                int32_t acc = 0;
                for (int k = 0; k < K4; k++)
                    acc += (int32_t)xq[(size_t)m * K4 + k] *
                           pl->wq[(((size_t)p * (K4 / 4) + k / 4) * GEMM_NR + j) * 4 + k % 4];
                y[(size_t)m * N + nn] = sx[m] * pl->wscale[nn] * (float)(acc - 64 * pl->colsum[nn]) + pl->bias[nn];
            }
}

typedef struct gemm_job {
    float *y;
    const float *x;    /* fp32: x as given, or packed by the tier's pack_f32 */
    const uint8_t *xq; /* int8 layers: the quantized rows and their scales */
    const float *sx;
    const packed_linear *pl;
    const float *residual;
    int M;
    enum epilogue act;
    int n_panels;
    const void *xb;    /* bf16 compute: x rounded and laid out for the tier (bf16_pack_task) */
    const gemm_tier *tier;
    const kernel_table *k;
} gemm_job;

static void gemm_task(void *ctx, int task, int n_tasks) {
    gemm_job *j = ctx;
    const gemm_tier *t = j->tier;
    /* Tiers that take panels in pairs get whole pairs; the fusing ones (AVX-512) apply GELU and the residual in
     * registers; other epilogues, and every epilogue of the other tiers, run in the pass below. */
    bool fused = t->fuses && (j->act == EPI_NONE || j->act == EPI_GELU);
    gemm_epilogue e = {fused && j->act == EPI_GELU, fused ? j->residual : NULL};
    int unit = t->pairs ? 2 : 1, nu = (j->n_panels + unit - 1) / unit;
    int p0 = unit * (int)((long)nu * task / n_tasks), p1 = unit * (int)((long)nu * (task + 1) / n_tasks);
    if (p1 > j->n_panels) p1 = j->n_panels;
    if (p0 >= p1) return;
    if (j->xb) t->panel_bf16(j->y, j->xb, j->pl, j->M, p0, p1, &e);
    else if (j->xq) t->panel_int8(j->y, j->xq, j->sx, j->pl, j->M, p0, p1, &e);
    else t->panel_f32(j->y, j->x, j->pl, j->M, p0, p1, &e);
    if (fused || (j->act == EPI_NONE && !j->residual)) return;
    int N = j->pl->N, c0 = p0 * GEMM_NR, c1 = p1 * GEMM_NR < N ? p1 * GEMM_NR : N;
    if (j->act == EPI_NONE) { /* residual only */
        for (int m = 0; m < j->M; m++) j->k->add(j->y + (size_t)m * N + c0, j->residual + (size_t)m * N + c0, c1 - c0);
        return;
    }
    if (j->act == EPI_GELU) {
        for (int m = 0; m < j->M; m++)
            j->k->gelu(j->y + (size_t)m * N + c0, c1 - c0, j->residual ? j->residual + (size_t)m * N + c0 : NULL);
        return;
    }
    for (int m = 0; m < j->M; m++) {
        float *yr = j->y + (size_t)m * N;
        const float *rr = j->residual ? j->residual + (size_t)m * N : NULL;
        for (int c = c0; c < c1; c++) {
            float v = act_ref(yr[c], j->act);
            yr[c] = rr ? v + rr[c] : v;
        }
    }
}

static void mark_unusable(float *y, size_t n) { /* out of memory: the output is marked unusable */
    for (size_t i = 0; i < n; i++) y[i] = NAN;
}

void linear_forward_on(threadpool *tp, float *y, const float *x, const packed_linear *pl, int M, enum epilogue act,
                       const float *residual, int bf16_tier_id, int int8_tier_id) {
    if (M <= 0) return;
    const kernel_table *k = kernel_ops();
    gemm_job j = {y, x, NULL, NULL, pl, residual, M, act, (pl->N + GEMM_NR - 1) / GEMM_NR, NULL, &k->f32, k};
    const int nt = threadpool_size(tp);
    const int Mt = (M + 15) / 16 * 16; /* the AMX tiers read whole tiles of 16 rows: zero rows pad the last */
    if (pl->wb) {
        /* bf16 compute: x rounded to bf16 once per call, split across the pool, for all the tasks to read */
        const gemm_tier *t = &k->bf16[bf16_tier_id >= 0 && bf16_tier_id < BF16_TIERS ? bf16_tier_id : BF16_PORTABLE];
        int K2 = pl->K2, rows = t->tiles ? Mt : M, per = t->bf16_x == BF16_X_BLOCKS ? GEMM_AVX512_MR : 1;
        int units = (rows + per - 1) / per;
        size_t size = (size_t)units * per * K2 * (t->bf16_x == BF16_X_FLOATS ? 2 * sizeof(float) : 2 * sizeof(uint16_t));
        void *buf;
        if (!scratch_take(SCRATCH_PACK, &size, &buf, 1)) {
            mark_unusable(y, (size_t)M * pl->N);
            return;
        }
        bf16_pack_job bj = {buf, x, M, pl->K, K2, units, t};
        threadpool_run(tp, bf16_pack_task, &bj, nt > 1 && units >= 2 ? nt : 1);
        j.xb = buf;
        j.tier = t;
    } else if (pl->wq) {
        const gemm_tier *t = &k->int8[int8_tier_id >= 0 && int8_tier_id < INT8_TIERS ? int8_tier_id : INT8_PORTABLE];
        int rows = t->tiles ? Mt : M;
        size_t sizes[2] = {(size_t)rows * pl->K4, (size_t)M * sizeof(float)};
        void *part[2];
        if (!scratch_take(SCRATCH_INT8, sizes, part, 2)) {
            mark_unusable(y, (size_t)M * pl->N);
            return;
        }
        uint8_t *xq = part[0];
        float *sx = part[1];
        quant_job qj = {xq, sx, x, M, pl->K, pl->K4};
        threadpool_run(tp, quant_task, &qj, nt > 1 && M >= 8 ? nt : 1);
        if (rows > M) memset(xq + (size_t)M * pl->K4, 64, (size_t)(rows - M) * pl->K4);
        j.xq = xq;
        j.sx = sx;
        j.tier = t;
    } else if (k->f32.pack_f32) {
        /* x packed once, the blocks split across the pool, for all the tasks to read (out of memory: the tier that
         * reads x as given) */
        int nb = (M + GEMM_AVX512_MR - 1) / GEMM_AVX512_MR;
        size_t size = (size_t)nb * GEMM_AVX512_MR * pl->K * sizeof(float);
        float *xp;
        if (scratch_take(SCRATCH_PACK, &size, (void **)&xp, 1)) {
            pack_job pj = {xp, x, M, pl->K, nb, &k->f32};
            threadpool_run(tp, pack_task, &pj, nt > 1 && nb >= 2 ? nt : 1);
            j.x = xp;
        } else {
            j.tier = &k->f32_unpacked;
        }
    }
    int tasks = nt == 1 ? 1 : nt * 4;
    if (tasks > j.n_panels) tasks = j.n_panels;
    threadpool_run(tp, gemm_task, &j, tasks);
}

void linear_forward(threadpool *tp, float *y, const float *x, const packed_linear *pl, int M, enum epilogue act,
                    const float *residual) {
    linear_forward_on(tp, y, x, pl, M, act, residual, pl->wb ? kernels_bf16_tier() : BF16_PORTABLE,
                      pl->wq ? kernels_int8_tier() : INT8_PORTABLE);
}
