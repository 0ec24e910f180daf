/*
 * gemm_avx2.c — AVX2/FMA versions of the GEMM panel routine and of one attention head. Compiled with
 * -mavx2 -mfma and only called when the CPU has both (cpu_has_avx2_fma). The micro-kernel keeps a 6x16
 * tile of y in 12 ymm accumulators: per k, two loads of the packed weight panel and six broadcasts of x.
 * K is blocked: short batches keep a panel slice in L1 across their row blocks; long ones take long k blocks
 * (KC) so that the tiles of y are not reloaded, with the x block in L2.
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#ifndef KC
#define KC 768 /* long batches: y tiles are revisited K / KC times (for K = 768, never) */
#endif
#ifndef KC_SMALL
#define KC_SMALL 256 /* short batches: the slice of one panel stays in L1 across the row blocks */
#endif
#ifndef MC
#define MC 96
#endif

/* 8 weights of a panel row as fp32: stored fp32, fp16 (F16C, exact) or bf16 (the high half of an fp32). */
static inline __attribute__((always_inline)) __m256 load_w(const int WT, const void *w, size_t i) {
    if (WT == WEIGHT_F32) return _mm256_load_ps((const float *)w + i);
    __m128i h = _mm_load_si128((const __m128i *)((const uint16_t *)w + i));
    if (WT == WEIGHT_F16) return _mm256_cvtph_ps(h);
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}

/* y[0..mr) x [0..nc) = init-or-y + x[0..mr) . wp over kc (kernel_six below), and the same for a short tail of
 * MR < 6 rows, unrolled by the compiler for each MR (no wasted rows). pf: pf_lines 64-byte lines to prefetch. */
static inline __attribute__((always_inline)) void kernel_tail(const int MR, const int WT, const float *x, int ldx,
                                                              const void *wp, int kc, float *y, int ldy, int nc,
                                                              const float *init, const char *pf, int pf_lines) {
    __m256 acc[5][2];
    float tmp[16];
#pragma GCC unroll 5
    for (int i = 0; i < MR; i++) {
        const float *src = init;
        if (!src) {
            if (nc == 16) src = y + (size_t)i * ldy;
            else {
                memset(tmp, 0, sizeof tmp);
                memcpy(tmp, y + (size_t)i * ldy, (size_t)nc * sizeof(float));
                src = tmp;
            }
        }
        acc[i][0] = _mm256_loadu_ps(src);
        acc[i][1] = _mm256_loadu_ps(src + 8);
    }
    for (int k = 0; k < kc; k++) {
        if (k < pf_lines) _mm_prefetch(pf + (size_t)k * 64, _MM_HINT_T1);
        __m256 b0 = load_w(WT, wp, (size_t)k * 16), b1 = load_w(WT, wp, (size_t)k * 16 + 8);
#pragma GCC unroll 5
        for (int i = 0; i < MR; i++) {
            __m256 a = _mm256_broadcast_ss(x + (size_t)i * ldx + k);
            acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
            acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
        }
    }
#pragma GCC unroll 5
    for (int i = 0; i < MR; i++) {
        if (nc == 16) {
            _mm256_storeu_ps(y + (size_t)i * ldy, acc[i][0]);
            _mm256_storeu_ps(y + (size_t)i * ldy + 8, acc[i][1]);
        } else {
            _mm256_storeu_ps(tmp, acc[i][0]);
            _mm256_storeu_ps(tmp + 8, acc[i][1]);
            memcpy(y + (size_t)i * ldy, tmp, (size_t)nc * sizeof(float));
        }
    }
}

/* Always six rows, with the missing rows aliasing the last real one, so that the twelve accumulators are plain
 * registers (no per-row branches). */
static inline __attribute__((always_inline)) void kernel_six(const int WT, int mr, const float *x, int ldx,
                                                             const void *wp, int kc, float *y, int ldy, int nc,
                                                             const float *init, const char *pf, int pf_lines) {
    const float *xr[6];
    for (int i = 0; i < 6; i++) xr[i] = x + (size_t)(i < mr ? i : mr - 1) * ldx;
    float tmp[6][16];
    __m256 a00, a01, a10, a11, a20, a21, a30, a31, a40, a41, a50, a51;
#define LOADROW(i, r0, r1)                                                                                           \
    do {                                                                                                             \
        const float *src = init;                                                                                     \
        if (!src) {                                                                                                  \
            if ((i) < mr && nc == 16) src = y + (size_t)(i) * ldy;                                                   \
            else {                                                                                                   \
                memset(tmp[i], 0, sizeof tmp[i]);                                                                    \
                if ((i) < mr) memcpy(tmp[i], y + (size_t)(i) * ldy, (size_t)nc * sizeof(float));                     \
                src = tmp[i];                                                                                        \
            }                                                                                                        \
        }                                                                                                            \
        r0 = _mm256_loadu_ps(src);                                                                                   \
        r1 = _mm256_loadu_ps(src + 8);                                                                               \
    } while (0)
    LOADROW(0, a00, a01);
    LOADROW(1, a10, a11);
    LOADROW(2, a20, a21);
    LOADROW(3, a30, a31);
    LOADROW(4, a40, a41);
    LOADROW(5, a50, a51);
#undef LOADROW
    const float *x0 = xr[0], *x1 = xr[1], *x2 = xr[2], *x3 = xr[3], *x4 = xr[4], *x5 = xr[5];
    for (int k = 0; k < kc; k++) {
        if (k < pf_lines) _mm_prefetch(pf + (size_t)k * 64, _MM_HINT_T1);
        __m256 b0 = load_w(WT, wp, (size_t)k * 16), b1 = load_w(WT, wp, (size_t)k * 16 + 8), a;
        a = _mm256_broadcast_ss(x0 + k);
        a00 = _mm256_fmadd_ps(a, b0, a00);
        a01 = _mm256_fmadd_ps(a, b1, a01);
        a = _mm256_broadcast_ss(x1 + k);
        a10 = _mm256_fmadd_ps(a, b0, a10);
        a11 = _mm256_fmadd_ps(a, b1, a11);
        a = _mm256_broadcast_ss(x2 + k);
        a20 = _mm256_fmadd_ps(a, b0, a20);
        a21 = _mm256_fmadd_ps(a, b1, a21);
        a = _mm256_broadcast_ss(x3 + k);
        a30 = _mm256_fmadd_ps(a, b0, a30);
        a31 = _mm256_fmadd_ps(a, b1, a31);
        a = _mm256_broadcast_ss(x4 + k);
        a40 = _mm256_fmadd_ps(a, b0, a40);
        a41 = _mm256_fmadd_ps(a, b1, a41);
        a = _mm256_broadcast_ss(x5 + k);
        a50 = _mm256_fmadd_ps(a, b0, a50);
        a51 = _mm256_fmadd_ps(a, b1, a51);
    }
    __m256 acc[6][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}, {a50, a51}};
    for (int i = 0; i < mr; i++) {
        if (nc == 16) {
            _mm256_storeu_ps(y + (size_t)i * ldy, acc[i][0]);
            _mm256_storeu_ps(y + (size_t)i * ldy + 8, acc[i][1]);
        } else {
            _mm256_storeu_ps(tmp[i], acc[i][0]);
            _mm256_storeu_ps(tmp[i] + 8, acc[i][1]);
            memcpy(y + (size_t)i * ldy, tmp[i], (size_t)nc * sizeof(float));
        }
    }
}

typedef void (*kernel_fn)(int mr, const float *x, int ldx, const void *wp, int kc, float *y, int ldy, int nc,
                          const float *init, const char *pf, int pf_lines);
#define KT(n, WT)                                                                                                    \
    static void kernel_##n##_##WT(int mr, const float *x, int ldx, const void *wp, int kc, float *y, int ldy, int nc, \
                                  const float *init, const char *pf, int pf_lines) {                                 \
        (void)mr;                                                                                                    \
        kernel_tail(n, WT, x, ldx, wp, kc, y, ldy, nc, init, pf, pf_lines);                                          \
    }
#define K6(WT)                                                                                                       \
    static void kernel_6_##WT(int mr, const float *x, int ldx, const void *wp, int kc, float *y, int ldy, int nc,    \
                              const float *init, const char *pf, int pf_lines) {                                     \
        kernel_six(WT, mr, x, ldx, wp, kc, y, ldy, nc, init, pf, pf_lines);                                          \
    }
#define KW(WT) KT(1, WT) KT(2, WT) KT(3, WT) KT(4, WT) KT(5, WT) K6(WT)
KW(0) KW(1) KW(2)
#undef KW
#undef K6
#undef KT
/* kernels[weight type][rows] */
static const kernel_fn kernels[3][7] = {
#define T(WT) {NULL, kernel_1_##WT, kernel_2_##WT, kernel_3_##WT, kernel_4_##WT, kernel_5_##WT, kernel_6_##WT}
    T(0), T(1), T(2)
#undef T
};

void gemm_panel_avx2(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1) {
    int N = pl->N, K = pl->K;
    if (M <= MC) {
        /* Few rows (a short batch): the weights dominate the traffic, so each panel is streamed once, front to
         * back, while its M x 16 slice of y stays in L1 and all of x in L2. */
        for (int p = p0; p < p1; p++) {
            int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
            for (int kb = 0; kb < K; kb += KC_SMALL) {
                int kc = K - kb < KC_SMALL ? K - kb : KC_SMALL;
                const char *wp = linear_weights(pl, p, kb);
                const float *init = kb == 0 ? pl->bias + p * GEMM_NR : NULL;
                /* the next slice of weights (contiguous: panels are packed k-major) is prefetched while this one
                 * is used, a share per row block, so DRAM streams during the compute instead of in bursts */
                int nb = (M + 5) / 6, r = 0, lines = linear_lines(pl, KC_SMALL);
                const char *next = linear_weights(pl, p, kb + kc);
                for (int m = 0; m < M; m += 6, r++) {
                    int mr = M - m < 6 ? M - m : 6;
                    int l0 = r * lines / nb, l1 = (r + 1) * lines / nb;
                    kernels[pl->wtype][mr](mr, x + (size_t)m * K + kb, K, wp, kc, y + (size_t)m * N + p * GEMM_NR, N, nc,
                                           init, next + (size_t)l0 * 64, l1 - l0);
                }
            }
        }
        return;
    }
    for (int kb = 0; kb < K; kb += KC) {
        int kc = K - kb < KC ? K - kb : KC;
        for (int mb = 0; mb < M; mb += MC) {
            int mc = M - mb < MC ? M - mb : MC;
            for (int p = p0; p < p1; p++) {
                const char *wp = linear_weights(pl, p, kb);
                int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
                const float *init = kb == 0 ? pl->bias + p * GEMM_NR : NULL;
                /* the next panel's slice is fetched into L2 while this one is in use, spread over the row blocks */
                const char *next = linear_weights(pl, p + 1 < p1 ? p + 1 : p, kb);
                int nb = (mc + 5) / 6, r = 0, lines = linear_lines(pl, kc);
                for (int m = mb; m < mb + mc; m += 6, r++) {
                    int mr = mb + mc - m < 6 ? mb + mc - m : 6;
                    int l0 = r * lines / nb, l1 = (r + 1) * lines / nb;
                    kernels[pl->wtype][mr](mr, x + (size_t)m * K + kb, K, wp, kc, y + (size_t)m * N + p * GEMM_NR, N, nc,
                                           init, next + (size_t)l0 * 64, l1 - l0);
                }
            }
        }
    }
}

static inline float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline float dot(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* exp(x) for x <= 0 (Cephes expf: x = n ln2 + r, degree-5 polynomial for e^r; about 1 ulp). */
static inline __m256 exp_neg_avx2(__m256 x) {
    x = _mm256_max_ps(x, _mm256_set1_ps(-87.0f));
    __m256 n = _mm256_round_ps(_mm256_mul_ps(x, _mm256_set1_ps(1.44269504088896341f)),
                               _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m256 r = _mm256_fnmadd_ps(n, _mm256_set1_ps(0.693359375f), x);
    r = _mm256_fnmadd_ps(n, _mm256_set1_ps(-2.12194440e-4f), r);
    __m256 p = _mm256_set1_ps(1.9875691500e-4f);
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.3981999507e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(8.3334519073e-3f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(4.1665795894e-2f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(1.6666665459e-1f));
    p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(5.0000001201e-1f));
    p = _mm256_fmadd_ps(_mm256_mul_ps(p, r), r, _mm256_add_ps(r, _mm256_set1_ps(1.0f)));
    __m256i e = _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23);
    return _mm256_mul_ps(p, _mm256_castsi256_ps(e));
}

/* The four sums of a, b, c, d in one vector's lanes 0..3. */
static inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d), abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* Per query row: scores against four keys at a time (four accumulators, one horizontal reduction), the softmax
 * with a vectorized exp, then p . V with the row's output slice held in registers, 32 columns at a time. */
void attention_head_avx2(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    for (int i = 0; i < nq; i++) {
        const float *qi = q + (size_t)i * ld;
        int j = 0;
        if ((dh & 7) == 0) {
            for (; j + 4 <= T; j += 4) {
                const float *k0 = k + (size_t)j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
                __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
                for (int d = 0; d < dh; d += 8) {
                    __m256 qv = _mm256_loadu_ps(qi + d);
                    a0 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k0 + d), a0);
                    a1 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k1 + d), a1);
                    a2 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k2 + d), a2);
                    a3 = _mm256_fmadd_ps(qv, _mm256_loadu_ps(k3 + d), a3);
                }
                _mm_storeu_ps(scratch + j, _mm_mul_ps(hsum4(a0, a1, a2, a3), _mm_set1_ps(scale)));
            }
        }
        for (; j < T; j++) scratch[j] = dot(qi, k + (size_t)j * ld, dh) * scale;
        float mx = -INFINITY;
        for (j = 0; j < T; j++) mx = scratch[j] > mx ? scratch[j] : mx;
        /* exp over 8 at a time (the last block reads scratch's spare floats; only real lanes are summed) */
        __m256 vm = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
        for (j = 0; j + 8 <= T; j += 8) {
            __m256 e = exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(scratch + j), vm));
            _mm256_storeu_ps(scratch + j, e);
            vs = _mm256_add_ps(vs, e);
        }
        float sum = hsum(vs);
        if (j < T) {
            for (int t = T; t < j + 8; t++) scratch[t] = mx;
            _mm256_storeu_ps(scratch + j, exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(scratch + j), vm)));
            for (; j < T; j++) sum += scratch[j];
        }
        float inv = 1.0f / sum;
        float *o = out + (size_t)i * H + head * dh;
        int d = 0;
        for (; d + 32 <= dh; d += 32) {
            __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
            for (j = 0; j < T; j++) {
                const float *vj = v + (size_t)j * ld + d;
                __m256 p = _mm256_broadcast_ss(scratch + j);
                o0 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj), o0);
                o1 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 8), o1);
                o2 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 16), o2);
                o3 = _mm256_fmadd_ps(p, _mm256_loadu_ps(vj + 24), o3);
            }
            __m256 vi = _mm256_set1_ps(inv);
            _mm256_storeu_ps(o + d, _mm256_mul_ps(o0, vi));
            _mm256_storeu_ps(o + d + 8, _mm256_mul_ps(o1, vi));
            _mm256_storeu_ps(o + d + 16, _mm256_mul_ps(o2, vi));
            _mm256_storeu_ps(o + d + 24, _mm256_mul_ps(o3, vi));
        }
        for (; d + 8 <= dh; d += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (j = 0; j < T; j++)
                acc = _mm256_fmadd_ps(_mm256_broadcast_ss(scratch + j), _mm256_loadu_ps(v + (size_t)j * ld + d), acc);
            _mm256_storeu_ps(o + d, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
        }
        for (; d < dh; d++) {
            float acc = 0.0f;
            for (j = 0; j < T; j++) acc += scratch[j] * v[(size_t)j * ld + d];
            o[d] = acc * inv;
        }
    }
}

/* erf(x) = sign(x) (1 - (a1 t + ... + a5 t^5) e^{-x^2}), t = 1 / (1 + p|x|): Abramowitz & Stegun 7.1.26,
 * absolute error below 1.5e-7 (GELU's error below 4e-7 for |x| < 5, far inside the 1e-4 parity budget). */
static inline __m256 erf_avx2(__m256 x) {
    __m256 sign = _mm256_and_ps(x, _mm256_set1_ps(-0.0f)), ax = _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x);
    __m256 t = _mm256_div_ps(_mm256_set1_ps(1.0f), _mm256_fmadd_ps(ax, _mm256_set1_ps(0.3275911f), _mm256_set1_ps(1.0f)));
    __m256 y = _mm256_set1_ps(1.061405429f);
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-1.453152027f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(1.421413741f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(-0.284496736f));
    y = _mm256_fmadd_ps(y, t, _mm256_set1_ps(0.254829592f));
    y = _mm256_mul_ps(y, t);
    __m256 e = exp_neg_avx2(_mm256_sub_ps(_mm256_setzero_ps(), _mm256_mul_ps(ax, ax)));
    __m256 r = _mm256_fnmadd_ps(y, e, _mm256_set1_ps(1.0f));
    return _mm256_or_ps(r, sign);
}

void gelu_avx2(float *v, int n, const float *residual) {
    const __m256 half = _mm256_set1_ps(0.5f), rs2 = _mm256_set1_ps(0.70710678118654752f), one = _mm256_set1_ps(1.0f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 x = _mm256_loadu_ps(v + i);
        __m256 g = _mm256_mul_ps(_mm256_mul_ps(half, x), _mm256_add_ps(one, erf_avx2(_mm256_mul_ps(x, rs2))));
        if (residual) g = _mm256_add_ps(g, _mm256_loadu_ps(residual + i));
        _mm256_storeu_ps(v + i, g);
    }
    if (i < n) { /* the tail through the same vector code, so every element gets the same function */
        float buf[8] = {0}, rb[8] = {0};
        memcpy(buf, v + i, (size_t)(n - i) * sizeof(float));
        if (residual) memcpy(rb, residual + i, (size_t)(n - i) * sizeof(float));
        gelu_avx2(buf, 8, residual ? rb : NULL);
        memcpy(v + i, buf, (size_t)(n - i) * sizeof(float));
    }
}

/* dy *= gelu'(x) = Phi(x) + x phi(x), with the erf of gelu_avx2 (training's backward pass). */
void gelu_grad_avx2(float *dy, const float *x, int n) {
    const __m256 half = _mm256_set1_ps(0.5f), rs2 = _mm256_set1_ps(0.70710678118654752f), one = _mm256_set1_ps(1.0f),
                 inv_sqrt_2pi = _mm256_set1_ps(0.3989422804014327f), mhalf = _mm256_set1_ps(-0.5f);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256 v = _mm256_loadu_ps(x + i);
        __m256 cdf = _mm256_mul_ps(half, _mm256_add_ps(one, erf_avx2(_mm256_mul_ps(v, rs2))));
        __m256 pdf = _mm256_mul_ps(inv_sqrt_2pi, exp_neg_avx2(_mm256_mul_ps(mhalf, _mm256_mul_ps(v, v))));
        __m256 d = _mm256_fmadd_ps(v, pdf, cdf);
        _mm256_storeu_ps(dy + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), d));
    }
    if (i < n) {
        float b[8] = {0}, xb[8] = {0};
        memcpy(b, dy + i, (size_t)(n - i) * sizeof(float));
        memcpy(xb, x + i, (size_t)(n - i) * sizeof(float));
        gelu_grad_avx2(b, xb, 8);
        memcpy(dy + i, b, (size_t)(n - i) * sizeof(float));
    }
}

/* int8: 5 rows x 16 columns per step (10 accumulators, 2 weight vectors, ones, a broadcast and a temporary:
 * 15 of the 16 ymm registers). Per group of 4 k: the row's 4 activation bytes broadcast, vpmaddubsw against
 * the 64 weight bytes (u8 x s8 pairs to s16; 7-bit activations cannot saturate), vpmaddwd by ones (to s32) and
 * an add. The int32 sums are exact, so the dequantized result equals the scalar reference to the bit. */
void gemm_panel_int8_avx2(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1) {
    int N = pl->N, K4 = pl->K4, nk = K4 / 4;
    const __m256i ones = _mm256_set1_epi16(1), zp = _mm256_set1_epi32(64);
    /* blocks of rows (their quantized activations stay in L2) times the task's panels */
    for (int mb = 0; mb < M; mb += MC) {
        int me = M - mb < MC ? M : mb + MC;
        for (int p = p0; p < p1; p++) {
            const int8_t *wp = pl->wq + (size_t)p * nk * 64;
            int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
            __m256i cs0 = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(pl->colsum + p * GEMM_NR)), zp);
            __m256i cs1 = _mm256_mullo_epi32(_mm256_loadu_si256((const __m256i *)(pl->colsum + p * GEMM_NR + 8)), zp);
            __m256 ws0 = _mm256_loadu_ps(pl->wscale + p * GEMM_NR), ws1 = _mm256_loadu_ps(pl->wscale + p * GEMM_NR + 8);
            __m256 b0 = _mm256_loadu_ps(pl->bias + p * GEMM_NR), b1 = _mm256_loadu_ps(pl->bias + p * GEMM_NR + 8);
            for (int m = mb; m < me; m += 5) {
                int mr = me - m < 5 ? me - m : 5;
                const uint8_t *xr[5];
                for (int i = 0; i < 5; i++) xr[i] = xq + (size_t)(m + (i < mr ? i : mr - 1)) * K4;
                __m256i a00 = _mm256_setzero_si256(), a01 = a00, a10 = a00, a11 = a00, a20 = a00, a21 = a00, a30 = a00,
                        a31 = a00, a40 = a00, a41 = a00;
                for (int k = 0; k < nk; k++) {
                    __m256i w0 = _mm256_load_si256((const __m256i *)(wp + (size_t)k * 64));
                    __m256i w1 = _mm256_load_si256((const __m256i *)(wp + (size_t)k * 64 + 32));
                    int32_t v;
    #define ROW(i, r0, r1)                                                                                               \
        memcpy(&v, xr[i] + (size_t)k * 4, 4);                                                                            \
        {                                                                                                                \
            __m256i bb = _mm256_set1_epi32(v);                                                                           \
            r0 = _mm256_add_epi32(r0, _mm256_madd_epi16(_mm256_maddubs_epi16(bb, w0), ones));                            \
            r1 = _mm256_add_epi32(r1, _mm256_madd_epi16(_mm256_maddubs_epi16(bb, w1), ones));                            \
        }
                    ROW(0, a00, a01)
                    ROW(1, a10, a11)
                    ROW(2, a20, a21)
                    ROW(3, a30, a31)
                    ROW(4, a40, a41)
    #undef ROW
                }
                __m256i acc[5][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}, {a40, a41}};
                for (int i = 0; i < mr; i++) {
                    __m256 s = _mm256_set1_ps(sx[m + i]);
                    __m256 f0 = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][0], cs0));
                    __m256 f1 = _mm256_cvtepi32_ps(_mm256_sub_epi32(acc[i][1], cs1));
                    /* (sx * ws) * f + b as separate roundings, as the scalar reference computes it */
                    __m256 o0 = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(s, ws0), f0), b0);
                    __m256 o1 = _mm256_add_ps(_mm256_mul_ps(_mm256_mul_ps(s, ws1), f1), b1);
                    float *yr = y + (size_t)(m + i) * N + p * GEMM_NR;
                    if (nc == 16) {
                        _mm256_storeu_ps(yr, o0);
                        _mm256_storeu_ps(yr + 8, o1);
                    } else {
                        float tmp[16];
                        _mm256_storeu_ps(tmp, o0);
                        _mm256_storeu_ps(tmp + 8, o1);
                        memcpy(yr, tmp, (size_t)nc * sizeof(float));
                    }
                }
            }
        }
    }
}

void quantize_rows_avx2(uint8_t *xq, float *sx, const float *x, int M, int K, int K4) {
    const __m256 absmask = _mm256_castsi256_ps(_mm256_set1_epi32(0x7fffffff));
    const __m256i lo = _mm256_set1_epi32(-63), hi = _mm256_set1_epi32(63), zp = _mm256_set1_epi32(64);
    for (int m = 0; m < M; m++) {
        const float *r = x + (size_t)m * K;
        __m256 vmax = _mm256_setzero_ps();
        int k = 0;
        for (; k + 8 <= K; k += 8) vmax = _mm256_max_ps(vmax, _mm256_and_ps(_mm256_loadu_ps(r + k), absmask));
        float t[8], amax = 0;
        _mm256_storeu_ps(t, vmax);
        for (int i = 0; i < 8; i++) amax = fmaxf(amax, t[i]);
        for (; k < K; k++) amax = fmaxf(amax, fabsf(r[k]));
        float s = amax > 0 ? amax / 63.0f : 1.0f, inv = 1.0f / s;
        sx[m] = s;
        uint8_t *q = xq + (size_t)m * K4;
        const __m256 vinv = _mm256_set1_ps(inv);
        for (k = 0; k + 8 <= K; k += 8) {
            __m256i v = _mm256_cvtps_epi32(_mm256_mul_ps(_mm256_loadu_ps(r + k), vinv)); /* nearest-even, as lrintf */
            v = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(v, lo), hi), zp);
            __m128i w = _mm_packus_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
            w = _mm_packus_epi16(w, w);
            _mm_storel_epi64((__m128i *)(q + k), w);
        }
        for (; k < K; k++) {
            long v = lrintf(r[k] * inv);
            q[k] = (uint8_t)((v > 63 ? 63 : v < -63 ? -63 : v) + 64);
        }
        for (k = K; k < K4; k++) q[k] = 64;
    }
}

uint16_t cpu_f16c_round(float f) { return (uint16_t)_cvtss_sh(f, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }

void widen_half_avx2(float *dst, const uint8_t *src, size_t n, int wtype) {
    size_t i = 0;
    if (wtype == WEIGHT_F16) {
        for (; i + 8 <= n; i += 8) _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(src + 2 * i))));
    } else {
        for (; i + 8 <= n; i += 8) {
            __m256i h = _mm256_cvtepu16_epi32(_mm_loadu_si128((const __m128i *)(src + 2 * i)));
            _mm256_storeu_ps(dst + i, _mm256_castsi256_ps(_mm256_slli_epi32(h, 16)));
        }
    }
    for (; i < n; i++) dst[i] = weight_to_float((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)), wtype);
}

void add_avx2(float *v, const float *r, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, _mm256_add_ps(_mm256_loadu_ps(v + i), _mm256_loadu_ps(r + i)));
    for (; i < n; i++) v[i] += r[i];
}

/* LayerNorm rows with 8-lane partial sums (two passes: mean, then the squared deviations). */
void layernorm_avx2(float *x, const float *g, const float *b, int M, int C, float eps) {
    for (int m = 0; m < M; m++) {
        float *r = x + (size_t)m * C;
        __m256 s = _mm256_setzero_ps();
        int c = 0;
        for (; c + 8 <= C; c += 8) s = _mm256_add_ps(s, _mm256_loadu_ps(r + c));
        float mean = hsum(s);
        for (; c < C; c++) mean += r[c];
        mean /= (float)C;
        __m256 vm = _mm256_set1_ps(mean), v = _mm256_setzero_ps();
        for (c = 0; c + 8 <= C; c += 8) {
            __m256 d = _mm256_sub_ps(_mm256_loadu_ps(r + c), vm);
            v = _mm256_fmadd_ps(d, d, v);
        }
        float var = hsum(v);
        for (; c < C; c++) var += (r[c] - mean) * (r[c] - mean);
        var /= (float)C;
        float inv = 1.0f / sqrtf(var + eps);
        __m256 vi = _mm256_set1_ps(inv);
        for (c = 0; c + 8 <= C; c += 8) {
            __m256 d = _mm256_mul_ps(_mm256_sub_ps(_mm256_loadu_ps(r + c), vm), vi);
            _mm256_storeu_ps(r + c, _mm256_add_ps(_mm256_mul_ps(d, _mm256_loadu_ps(g + c)), _mm256_loadu_ps(b + c)));
        }
        for (; c < C; c++) r[c] = (r[c] - mean) * inv * g[c] + b[c];
    }
}

/* ---- bf16 compute on AVX2 + FMA, for CPUs where no bf16 dot-product unit beats the fp32 one ----
 * The weights stay in the bf16 pair layout of linear_pack_bf16 (half the bytes of fp32); a 32-byte load holds the
 * pairs of 8 outputs and widens to two vectors of fp32 (the even and the odd k) with shifts. x arrives
 * rounded to bf16 values as floats. Per pair, the odd product then the even one are added by FMA: the products of
 * two bf16 are exact in fp32, so each FMA rounds the same sum gemm_panel_bf16_ref rounds, in its order: the same
 * bits. Four rows x one panel of 16 outputs in 8 accumulators (4 registers of widened weights, 1 of x); rows in
 * blocks of about 256 KiB of x, so that a block stays in L2 across the task's panels. */
static inline __attribute__((always_inline)) void bf16_rows(const int R, const float *xf, size_t ldx,
                                                             const uint32_t *wp, int K2, const float *bias, float *y,
                                                             int ldy, int nc) {
    __m256 a00, a01, a10, a11, a20, a21, a30, a31; /* named, so that they stay in registers */
    a00 = a10 = a20 = a30 = _mm256_loadu_ps(bias);
    a01 = a11 = a21 = a31 = _mm256_loadu_ps(bias + 8);
    const float *x0 = xf, *x1 = xf + ldx, *x2 = xf + 2 * ldx, *x3 = xf + 3 * ldx;
    for (int kk = 0; kk < K2; kk++) {
        __m256i w0 = _mm256_load_si256((const __m256i *)(wp + (size_t)kk * 16));
        __m256i w1 = _mm256_load_si256((const __m256i *)(wp + (size_t)kk * 16 + 8));
        __m256 e0 = _mm256_castsi256_ps(_mm256_slli_epi32(w0, 16)), e1 = _mm256_castsi256_ps(_mm256_slli_epi32(w1, 16));
        /* the odd k: the high halves, low halves cleared (two shifts: no mask register to hold) */
        __m256 o0 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(w0, 16), 16));
        __m256 o1 = _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_srli_epi32(w1, 16), 16));
#define ROW(i, xi)                                                                                                   \
    if (R > i) {                                                                                                     \
        __m256 xo = _mm256_broadcast_ss(xi + 2 * kk + 1);                                                           \
        a##i##0 = _mm256_fmadd_ps(xo, o0, a##i##0);                                                                  \
        a##i##1 = _mm256_fmadd_ps(xo, o1, a##i##1);                                                                  \
        __m256 xe = _mm256_broadcast_ss(xi + 2 * kk);                                                               \
        a##i##0 = _mm256_fmadd_ps(xe, e0, a##i##0);                                                                  \
        a##i##1 = _mm256_fmadd_ps(xe, e1, a##i##1);                                                                  \
    }
        ROW(0, x0) ROW(1, x1) ROW(2, x2) ROW(3, x3)
#undef ROW
    }
    __m256 out[4][2] = {{a00, a01}, {a10, a11}, {a20, a21}, {a30, a31}};
    float tmp[16];
    for (int i = 0; i < R; i++) {
        float *dst = nc == 16 ? y + (size_t)i * ldy : tmp;
        _mm256_storeu_ps(dst, out[i][0]);
        _mm256_storeu_ps(dst + 8, out[i][1]);
        if (nc < 16) memcpy(y + (size_t)i * ldy, tmp, (size_t)nc * sizeof(float));
    }
}

void gemm_panel_bf16_avx2(float *y, const float *xf, const packed_linear *pl, int M, int p0, int p1) {
    const int N = pl->N, K2 = pl->K2;
    const size_t ldx = (size_t)K2 * 2;
    int mc = (int)((256 * 1024 / sizeof(float)) / ldx) / 4 * 4;
    if (mc < 4) mc = 4;
    for (int mb = 0; mb < M; mb += mc) {
        int me = M - mb < mc ? M : mb + mc;
        for (int p = p0; p < p1; p++) {
            const uint32_t *wp = (const uint32_t *)pl->wb + (size_t)p * K2 * GEMM_NR;
            const float *bias = pl->bias + (size_t)p * GEMM_NR;
            int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
            float *yp = y + (size_t)p * GEMM_NR;
            int m = mb;
            for (; m + 4 <= me; m += 4) bf16_rows(4, xf + (size_t)m * ldx, ldx, wp, K2, bias, yp + (size_t)m * N, N, nc);
            switch (me - m) {
            case 3: bf16_rows(3, xf + (size_t)m * ldx, ldx, wp, K2, bias, yp + (size_t)m * N, N, nc); break;
            case 2: bf16_rows(2, xf + (size_t)m * ldx, ldx, wp, K2, bias, yp + (size_t)m * N, N, nc); break;
            case 1: bf16_rows(1, xf + (size_t)m * ldx, ldx, wp, K2, bias, yp + (size_t)m * N, N, nc); break;
            default: break;
            }
        }
    }
}

void bf16_round_rows_avx2(float *dst, const float *x, int K, int Kp) {
    int k = 0;
    if (x) {
        const __m256i lsb = _mm256_set1_epi32(1), bias = _mm256_set1_epi32(0x7FFF), hi = _mm256_set1_epi32((int)0xFFFF0000u);
        const __m256i absm = _mm256_set1_epi32(0x7FFFFFFF), inf = _mm256_set1_epi32(0x7F800000), quiet = _mm256_set1_epi32(0x400000);
        for (; k + 8 <= K; k += 8) {
            __m256i u = _mm256_loadu_si256((const __m256i *)(x + k));
            /* nearest even: u + 0x7FFF + bit 16, high half kept; NaNs keep their high half, made quiet */
            __m256i r = _mm256_and_si256(_mm256_add_epi32(_mm256_add_epi32(u, bias), _mm256_and_si256(_mm256_srli_epi32(u, 16), lsb)), hi);
            __m256i nan = _mm256_cmpgt_epi32(_mm256_and_si256(u, absm), inf);
            __m256i q = _mm256_or_si256(_mm256_and_si256(u, hi), quiet);
            _mm256_storeu_si256((__m256i *)(dst + k), _mm256_blendv_epi8(r, q, nan));
        }
        for (; k < K; k++) dst[k] = weight_to_float(weight_from_float(x[k], WEIGHT_BF16), WEIGHT_BF16);
    }
    for (; k < Kp; k++) dst[k] = 0.0f;
}
