/*
 * gemm_avx512.c — AVX-512 versions of the fp32 and int8 panel routines, for the CPUs that have it (picked at
 * run time like the AVX2 ones; BERTC_NO_AVX512=1 turns them off). The packed layout is the same (panels of 16
 * outputs): one zmm holds one k row of a panel, and the micro-kernel takes two panels side by side, up to 12
 * rows x 32 columns in 24 of the 32 zmm registers. Per k: two weight loads, twelve broadcasts, 24 FMAs. The
 * rows of x are first copied k-major in blocks of 12 (xp[k * 12 + i]), so that the twelve broadcasts come from
 * one cache line stream and one pointer (no register spills in the loop).
 *
 * Each fp32 output is still one FMA chain in k order starting from the bias, exactly as in gemm_avx2.c, so the
 * two kernels give the same bits; fp16 / bf16 weights are widened to fp32 as they are loaded, so the same holds
 * for them. The int8 kernel does the same integer sums with VNNI's vpdpbusd (u8 x s8,
 * four products into an int32 lane, no saturation) and the same float epilogue, so it equals the scalar
 * specification to the bit.
 */
#include "tiers.h"
#include "simd_avx512.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#ifndef KC
#define KC 768
#endif
#ifndef MC
#define MC 192
#endif
#ifndef KC_SMALL
#define KC_SMALL 256
#endif
#define MR GEMM_AVX512_MR
_Static_assert(MC % MR == 0, "row blocks must start on packed block boundaries");
_Static_assert(MR <= 16, "a block of rows is gathered by one 16-lane gather");


/* 16 weights of a panel row as fp32: stored fp32, fp16 (widened exactly), or bf16 (the high half of an fp32). */
static inline __attribute__((always_inline)) __m512 load_w(const int WT, const void *w, size_t k) {
    if (WT == WEIGHT_F32) return _mm512_load_ps((const float *)w + k * 16);
    __m256i h = _mm256_load_si256((const __m256i *)((const uint16_t *)w + k * 16));
    if (WT == WEIGHT_F16) return _mm512_cvtph_ps(h);
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}

/* y[0..R) x [0..16 NP) = (init or y) + x[0..R) . (w0 | w1) over kc. m0, m1: the columns of each panel that
 * exist (the last panel may be partial). pf: pf_lines 64-byte lines of each of pf0 and pf1 to prefetch.
 * Instantiated for every R, NP and weight type, so that the accumulators are registers and the loops unroll. */
static inline __attribute__((always_inline)) void kernel(const int R, const int NP, const int WT, const float *xp,
                                                         const void *w0, const void *w1, int kc, float *y, int ldy,
                                                         __mmask16 m0, __mmask16 m1, const float *init,
                                                         const char *pf0, const char *pf1, int pf_lines, bool gelu,
                                                         const float *res) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        if (init) {
            acc[i][0] = _mm512_maskz_loadu_ps(m0, init);
            if (NP == 2) acc[i][1] = _mm512_maskz_loadu_ps(m1, init + 16);
        } else {
            acc[i][0] = _mm512_maskz_loadu_ps(m0, y + (size_t)i * ldy);
            if (NP == 2) acc[i][1] = _mm512_maskz_loadu_ps(m1, y + (size_t)i * ldy + 16);
        }
    }
#pragma GCC unroll 4
    for (int k = 0; k < kc; k++) {
        if (k < pf_lines) {
            _mm_prefetch(pf0 + (size_t)k * 64, _MM_HINT_T1);
            _mm_prefetch(pf1 + (size_t)k * 64, _MM_HINT_T1);
        }
        __m512 b0 = load_w(WT, w0, (size_t)k);
        __m512 b1 = NP == 2 ? load_w(WT, w1, (size_t)k) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            __m512 a = _mm512_set1_ps(xp[(size_t)k * MR + i]);
            acc[i][0] = _mm512_fmadd_ps(a, b0, acc[i][0]);
            if (NP == 2) acc[i][1] = _mm512_fmadd_ps(a, b1, acc[i][1]);
        }
    }
    /* the last k block may carry the epilogue: GELU, then the residual (the separate pass's operations) */
    if (gelu || res)
        for (int i = 0; i < R; i++)
            for (int q = 0; q < NP; q++) {
                if (gelu) acc[i][q] = gelu16(acc[i][q]);
                if (res) acc[i][q] = _mm512_add_ps(acc[i][q], _mm512_maskz_loadu_ps(q ? m1 : m0, res + (size_t)i * ldy + 16 * q));
            }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(y + (size_t)i * ldy, m0, acc[i][0]);
        if (NP == 2) _mm512_mask_storeu_ps(y + (size_t)i * ldy + 16, m1, acc[i][1]);
    }
}

typedef void (*kernel_fn)(const float *xp, const void *w0, const void *w1, int kc, float *y, int ldy, __mmask16 m0,
                          __mmask16 m1, const float *init, const char *pf0, const char *pf1, int pf_lines, bool gelu,
                          const float *res);

#define K(R, NP, WT)                                                                                                 \
    static void kernel_##R##_##NP##_##WT(const float *xp, const void *w0, const void *w1, int kc, float *y, int ldy, \
                                         __mmask16 m0, __mmask16 m1, const float *init, const char *pf0,             \
                                         const char *pf1, int pf_lines, bool gelu, const float *res) {               \
        kernel(R, NP, WT, xp, w0, w1, kc, y, ldy, m0, m1, init, pf0, pf1, pf_lines, gelu, res);                      \
    }
#define KR(R) K(R, 1, 0) K(R, 2, 0) K(R, 1, 1) K(R, 2, 1) K(R, 1, 2) K(R, 2, 2)
KR(1) KR(2) KR(3) KR(4) KR(5) KR(6) KR(7) KR(8) KR(9) KR(10) KR(11) KR(12)
#undef KR
#undef K

/* kernels[weight type][rows][panels - 1] */
static const kernel_fn kernels[3][MR + 1][2] = {
#define E(R, WT) {kernel_##R##_1_##WT, kernel_##R##_2_##WT}
#define T(WT) {{NULL, NULL}, E(1, WT), E(2, WT), E(3, WT), E(4, WT), E(5, WT), E(6, WT), E(7, WT), E(8, WT), E(9, WT), \
               E(10, WT), E(11, WT), E(12, WT)}
    T(0), T(1), T(2)
#undef T
#undef E
};

static inline __mmask16 cols_mask(int N, int p) {
    int nc = N - p * GEMM_NR;
    return nc >= 16 ? (__mmask16)0xFFFF : nc <= 0 ? (__mmask16)0 : (__mmask16)((1u << nc) - 1);
}

void pack_rows_avx512(float *xp, const float *x, int M, int K, int b0, int b1) {
    for (int b = b0; b < b1; b++) {
        int m = b * MR, mr = M - m < MR ? M - m : MR;
        float *dst = xp + (size_t)b * MR * K;
        if (mr == MR && (size_t)K * (MR - 1) < (size_t)1 << 31) { /* one gather of the MR rows per k */
            const __mmask16 rows = (__mmask16)((1u << MR) - 1);
            const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                   _mm512_set1_epi32(K));
            const float *src = x + (size_t)m * K;
            for (int k = 0; k < K; k++)
                _mm512_mask_storeu_ps(dst + (size_t)k * MR, rows,
                                      _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, src + k, 4));
        } else {
            for (int k = 0; k < K; k++)
                for (int i = 0; i < MR; i++) dst[(size_t)k * MR + i] = i < mr ? x[(size_t)(m + i) * K + k] : 0.0f;
        }
    }
}

/* Rows r0..r1 (a multiple of MR from 0; packed) against panels p and (np == 2) p + 1 over the k block
 * kb..kb+kc. pf0 / pf1: the weights to be used next (two streams of `lines` 64-byte lines), prefetched into
 * L2 a share per row block, so that the memory streams during the compute instead of in bursts. */
static void rows_block(float *y, const float *xp, const packed_linear *pl, int r0, int r1, int p, int np, int kb,
                       int kc, const char *pf0, const char *pf1, int lines, const gemm_epilogue *epi) {
    int N = pl->N, K = pl->K;
    const void *w0 = linear_weights(pl, p, kb), *w1 = linear_weights(pl, np == 2 ? p + 1 : p, kb);
    const float *init = kb == 0 ? pl->bias + p * GEMM_NR : NULL;
    __mmask16 m0 = cols_mask(N, p), m1 = np == 2 ? cols_mask(N, p + 1) : 0;
    bool last = kb + kc >= K;
    int nb = (r1 - r0 + MR - 1) / MR, b = 0;
    for (int m = r0; m < r1; m += MR, b++) {
        int mr = r1 - m < MR ? r1 - m : MR;
        int l0 = (int)((long)b * lines / nb), l1 = (int)((long)(b + 1) * lines / nb);
        kernels[pl->wtype][mr][np - 1](xp + ((size_t)m * K + (size_t)kb * MR), w0, w1, kc,
                                       y + (size_t)m * N + p * GEMM_NR, N, m0, m1, init, pf0 + (size_t)l0 * 64,
                                       pf1 + (size_t)l0 * 64, l1 - l0, last && epi->gelu,
                                       last && epi->residual ? epi->residual + (size_t)m * N + p * GEMM_NR : NULL);
    }
}

/* The start of panel q's k slice kb; past the task's range (q >= p1) the fallback panel, whose lines are
 * already cached, stands in, so that nothing outside the task's weights is prefetched. */
static inline const char *slice(const packed_linear *pl, int q, int p1, int fallback, int kb) {
    return linear_weights(pl, q < p1 ? q : fallback, kb);
}

void gemm_panel_avx512(float *y, const float *xp, const packed_linear *pl, int M, int p0, int p1,
                       const gemm_epilogue *epi) {
    static const gemm_epilogue none = {false, NULL};
    if (!epi) epi = &none;
    int K = pl->K;
    if (M <= MC) {
        /* few rows: each pair of panels is streamed once, front to back, while its M x 32 slice of y stays in
         * L1; the next k slice (or the next pair's first) is prefetched meanwhile */
        for (int p = p0; p < p1; p += 2) {
            int np = p1 - p >= 2 ? 2 : 1;
            for (int kb = 0; kb < K; kb += KC_SMALL) {
                int kc = K - kb < KC_SMALL ? K - kb : KC_SMALL;
                const char *n0, *n1;
                int lines;
                if (kb + kc < K) {
                    n0 = slice(pl, p, p1, p, kb + kc);
                    n1 = slice(pl, p + 1, p1, p, kb + kc);
                    lines = K - kb - kc < KC_SMALL ? K - kb - kc : KC_SMALL;
                } else {
                    n0 = slice(pl, p + 2, p1, p, 0);
                    n1 = slice(pl, p + 3, p1, p, 0);
                    lines = K < KC_SMALL ? K : KC_SMALL;
                }
                rows_block(y, xp, pl, 0, M, p, np, kb, kc, n0, n1, linear_lines(pl, lines), epi);
            }
        }
        return;
    }
    for (int kb = 0; kb < K; kb += KC) {
        int kc = K - kb < KC ? K - kb : KC;
        for (int mb = 0; mb < M; mb += MC) {
            int mc = M - mb < MC ? M - mb : MC;
            for (int p = p0; p < p1; p += 2) {
                int np = p1 - p >= 2 ? 2 : 1;
                /* the next pair's slice is fetched into L2 while this one is in use */
                rows_block(y, xp, pl, mb, mb + mc, p, np, kb, kc, slice(pl, p + 2, p1, p, kb), slice(pl, p + 3, p1, p, kb),
                           linear_lines(pl, kc), epi);
            }
        }
    }
}

/* ---- int8 with VNNI ---- */

static inline __attribute__((always_inline)) void kernel_q(const int R, const int NP, const uint8_t *xq, int K4,
                                                           const int8_t *w0, const int8_t *w1, int nk, __m512i *out) {
    __m512i acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) acc[i][0] = acc[i][1] = _mm512_setzero_si512();
    for (int k = 0; k < nk; k++) {
        __m512i b0 = _mm512_load_si512((const void *)(w0 + (size_t)k * 64));
        __m512i b1 = NP == 2 ? _mm512_load_si512((const void *)(w1 + (size_t)k * 64)) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            int32_t v;
            memcpy(&v, xq + (size_t)i * K4 + (size_t)k * 4, 4);
            __m512i a = _mm512_set1_epi32(v);
            acc[i][0] = _mm512_dpbusd_epi32(acc[i][0], a, b0);
            if (NP == 2) acc[i][1] = _mm512_dpbusd_epi32(acc[i][1], a, b1);
        }
    }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        out[2 * i] = acc[i][0];
        if (NP == 2) out[2 * i + 1] = acc[i][1];
    }
}

typedef void (*kernel_q_fn)(const uint8_t *xq, int K4, const int8_t *w0, const int8_t *w1, int nk, __m512i *out);
#define K(R, NP)                                                                                                     \
    static void kernel_q_##R##_##NP(const uint8_t *xq, int K4, const int8_t *w0, const int8_t *w1, int nk,          \
                                    __m512i *out) {                                                                  \
        kernel_q(R, NP, xq, K4, w0, w1, nk, out);                                                                    \
    }
#define KR(R) K(R, 1) K(R, 2)
KR(1) KR(2) KR(3) KR(4) KR(5) KR(6) KR(7) KR(8) KR(9) KR(10) KR(11) KR(12)
#undef KR
#undef K

static const kernel_q_fn kernels_q[MR + 1][2] = {
    {NULL, NULL},
#define E(R) {kernel_q_##R##_1, kernel_q_##R##_2}
    E(1), E(2), E(3), E(4), E(5), E(6), E(7), E(8), E(9), E(10), E(11), E(12)
#undef E
};


void gemm_panel_int8_avx512(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0,
                            int p1, const gemm_epilogue *epi) {
    bool gelu = epi && epi->gelu;
    const float *residual = epi ? epi->residual : NULL;
    int N = pl->N, K4 = pl->K4, nk = K4 / 4;
    const __m512i zp = _mm512_set1_epi32(64);
    __m512i acc[2 * MR];
    for (int mb = 0; mb < M; mb += MC) {
        int me = M - mb < MC ? M : mb + MC;
        for (int p = p0; p < p1; p += 2) {
            int np = p1 - p >= 2 ? 2 : 1;
            const int8_t *w0 = pl->wq + (size_t)p * nk * 64, *w1 = w0 + (size_t)nk * 64;
            __m512i cs[2];
            __m512 ws[2], bs[2];
            __mmask16 mk[2];
            for (int q = 0; q < np; q++) {
                int c = (p + q) * GEMM_NR;
                mk[q] = cols_mask(N, p + q);
                cs[q] = _mm512_mullo_epi32(_mm512_loadu_si512((const void *)(pl->colsum + c)), zp);
                ws[q] = _mm512_loadu_ps(pl->wscale + c);
                bs[q] = _mm512_loadu_ps(pl->bias + c);
            }
            for (int m = mb; m < me; m += MR) {
                int mr = me - m < MR ? me - m : MR;
                kernels_q[mr][np - 1](xq + (size_t)m * K4, K4, w0, w1, nk, acc);
                for (int i = 0; i < mr; i++) {
                    __m512 s = _mm512_set1_ps(sx[m + i]);
                    size_t at = (size_t)(m + i) * N + (size_t)p * GEMM_NR;
                    for (int q = 0; q < np; q++) {
                        __m512 f = _mm512_cvtepi32_ps(_mm512_sub_epi32(acc[2 * i + q], cs[q]));
                        /* (sx * ws) * f + b as separate roundings, as the scalar reference computes it */
                        __m512 o = _mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(s, ws[q]), f), bs[q]);
                        /* the epilogue in registers: the same operations as the separate pass */
                        if (gelu) o = gelu16(o);
                        if (residual) o = _mm512_add_ps(o, _mm512_maskz_loadu_ps(mk[q], residual + at + 16 * q));
                        _mm512_mask_storeu_ps(y + at + 16 * q, mk[q], o);
                    }
                }
            }
        }
    }
}
