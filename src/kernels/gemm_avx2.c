/*
 * gemm_avx2.c — AVX2/FMA GEMM panels: fp32 (fp16 / bf16 storage widened as loaded), int8 and bf16 compute.
 * Compiled with -mavx2 -mfma, called through the dispatch table where the CPU has both. The micro-kernel keeps a 6x16
 * tile of y in 12 ymm accumulators: per k, two loads of the packed weight panel and six broadcasts of x.
 * K is blocked: short batches keep a panel slice in L1 across their row blocks; long ones take long k blocks
 * (KC) so that the tiles of y are not reloaded, with the x block in L2.
 */
#include "tiers.h"

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
