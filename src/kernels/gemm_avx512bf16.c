/*
 * gemm_avx512bf16.c — bf16 compute on AVX512-BF16 (Zen 4/5, Cooper Lake, Sapphire Rapids without AMX use):
 * y = x W^T + b with x and W rounded to bf16 and the products summed in fp32 by vdpbf16ps, 32 multiply-adds per
 * instruction (twice an fp32 FMA's) on half the weight bytes. A tier of the dispatch table where the CPU has it;
 * BERTC_NO_AVX512BF16=1 falls back to the portable path in gemm.c (same rounding of the inputs, fp32 sums; the
 * order of the two adds inside a pair is the same as Intel's pseudo-code, but vdpbf16ps reads denormal inputs
 * as zero and flushes denormal results, so the two tiers may differ in the last bits).
 *
 * Layout: the weights are packed once at load (linear_pack_bf16): panels of 16 outputs, k in pairs, one zmm =
 * one k pair of a panel (16 lanes x 2 bf16). x is rounded (vcvtneps2bf16, nearest even) and packed per call in
 * blocks of 12 rows, pair-major, so that the kernel's twelve broadcasts of a row's pair come from one pointer.
 * The micro-kernel is gemm_avx512.c's: up to 12 rows x 2 panels in 24 zmm accumulators, k blocked so that the
 * rows' block and a panel pair's slice stay in L2 / L1.
 */
#include "tiers.h"
#include "simd_avx512.h"

#include <immintrin.h>
#include <string.h>

#define MR GEMM_AVX512_MR
#ifndef KC2
#define KC2 384 /* k pairs per block: 768 k, as gemm_avx512.c's KC */
#endif
#ifndef MC
#define MC 192
#endif
_Static_assert(MC % MR == 0, "row blocks must start on packed block boundaries");

static inline __mmask16 cols_mask(int N, int p) {
    int nc = N - p * GEMM_NR;
    return nc >= 16 ? (__mmask16)0xFFFF : nc <= 0 ? (__mmask16)0 : (__mmask16)((1u << nc) - 1);
}


void pack_rows_bf16_avx512(uint32_t *xp, const float *x, int M, int K, int K2, int b0, int b1) {
    const int full = K / 2, used = (K + 1) / 2; /* pairs with both halves, with any; pairs past used are zeros */
    for (int b = b0; b < b1; b++) {
        int m = b * MR, mr = M - m < MR ? M - m : MR;
        uint32_t *dst = xp + (size_t)b * MR * K2;
        if ((size_t)K * (MR - 1) + 1 < (size_t)1 << 31) {
            /* one masked gather per half of a pair: rows past M are neither read nor nonzero */
            const __mmask16 rows = (__mmask16)((1u << mr) - 1), all = (__mmask16)((1u << MR) - 1);
            const __m512i idx = _mm512_mullo_epi32(_mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
                                                   _mm512_set1_epi32(K));
            const float *src = x + (size_t)m * K;
            for (int kk = used; kk < K2; kk++) _mm512_mask_storeu_epi32(dst + (size_t)kk * MR, all, _mm512_setzero_si512());
            for (int kk = 0; kk < used; kk++) {
                __m512 e = _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, src + 2 * kk, 4);
                __m512 o = kk < full ? _mm512_mask_i32gather_ps(_mm512_setzero_ps(), rows, idx, src + 2 * kk + 1, 4)
                                     : _mm512_setzero_ps();
                __m512i v = _mm512_or_si512(bf16_lanes(e), _mm512_slli_epi32(bf16_lanes(o), 16));
                _mm512_mask_storeu_epi32(dst + (size_t)kk * MR, all, v);
            }
        } else {
            for (int kk = 0; kk < K2; kk++)
                for (int i = 0; i < MR; i++) {
                    uint32_t v = 0;
                    if (i < mr && kk < used) {
                        const float *r = x + (size_t)(m + i) * K;
                        v = weight_from_float(r[2 * kk], WEIGHT_BF16);
                        if (2 * kk + 1 < K) v |= (uint32_t)weight_from_float(r[2 * kk + 1], WEIGHT_BF16) << 16;
                    }
                    dst[(size_t)kk * MR + i] = v;
                }
        }
    }
}

/* y[0..R) x [0..16 NP) = (init or y) + x[0..R) . (w0 | w1) over kc pairs; the last block applies the epilogue
 * (the separate pass's operations: GELU, then + residual). */
static inline __attribute__((always_inline)) void kernel(const int R, const int NP, const uint32_t *xp,
                                                         const uint16_t *w0, const uint16_t *w1, int kc, float *y,
                                                         int ldy, __mmask16 m0, __mmask16 m1, const float *init,
                                                         bool gelu, const float *res) {
    __m512 acc[MR][2];
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        const float *src = init ? init : y + (size_t)i * ldy;
        acc[i][0] = _mm512_maskz_loadu_ps(m0, src);
        if (NP == 2) acc[i][1] = _mm512_maskz_loadu_ps(m1, src + 16);
    }
#pragma GCC unroll 4
    for (int k = 0; k < kc; k++) {
        __m512bh b0 = (__m512bh)_mm512_load_si512((const void *)(w0 + (size_t)k * 32));
        __m512bh b1 = NP == 2 ? (__m512bh)_mm512_load_si512((const void *)(w1 + (size_t)k * 32)) : b0;
#pragma GCC unroll 12
        for (int i = 0; i < R; i++) {
            __m512bh a = (__m512bh)_mm512_set1_epi32((int)xp[(size_t)k * MR + i]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], a, b0);
            if (NP == 2) acc[i][1] = _mm512_dpbf16_ps(acc[i][1], a, b1);
        }
    }
    if (res && !gelu)
        for (int i = 0; i < R; i++) {
            acc[i][0] = _mm512_add_ps(acc[i][0], _mm512_maskz_loadu_ps(m0, res + (size_t)i * ldy));
            if (NP == 2) acc[i][1] = _mm512_add_ps(acc[i][1], _mm512_maskz_loadu_ps(m1, res + (size_t)i * ldy + 16));
        }
#pragma GCC unroll 12
    for (int i = 0; i < R; i++) {
        _mm512_mask_storeu_ps(y + (size_t)i * ldy, m0, acc[i][0]);
        if (NP == 2) _mm512_mask_storeu_ps(y + (size_t)i * ldy + 16, m1, acc[i][1]);
    }
    if (gelu) {
        int nc = __builtin_popcount(m0) + (NP == 2 ? __builtin_popcount(m1) : 0);
        for (int i = 0; i < R; i++)
            gelu_avx512(y + (size_t)i * ldy, nc, res ? res + (size_t)i * ldy : NULL); /* still in L1 */
    }
}

typedef void (*kernel_fn)(const uint32_t *xp, const uint16_t *w0, const uint16_t *w1, int kc, float *y, int ldy,
                          __mmask16 m0, __mmask16 m1, const float *init, bool gelu, const float *res);

#define K(R, NP)                                                                                                     \
    static void kernel_##R##_##NP(const uint32_t *xp, const uint16_t *w0, const uint16_t *w1, int kc, float *y,     \
                                  int ldy, __mmask16 m0, __mmask16 m1, const float *init, bool gelu,                \
                                  const float *res) {                                                                \
        kernel(R, NP, xp, w0, w1, kc, y, ldy, m0, m1, init, gelu, res);                                              \
    }
#define KR(R) K(R, 1) K(R, 2)
KR(1) KR(2) KR(3) KR(4) KR(5) KR(6) KR(7) KR(8) KR(9) KR(10) KR(11) KR(12)
#undef KR
#undef K

static const kernel_fn kernels[MR + 1][2] = {
    {NULL, NULL},
#define E(R) {kernel_##R##_1, kernel_##R##_2}
    E(1), E(2), E(3), E(4), E(5), E(6), E(7), E(8), E(9), E(10), E(11), E(12)
#undef E
};

void gemm_panel_bf16_avx512(float *y, const uint32_t *xp, const packed_linear *pl, int M, int p0, int p1,
                            const gemm_epilogue *epi) {
    static const gemm_epilogue none = {false, NULL};
    if (!epi) epi = &none;
    const int N = pl->N, K2 = pl->K2;
    for (int kb = 0; kb < K2; kb += KC2) {
        int kc = K2 - kb < KC2 ? K2 - kb : KC2;
        bool last = kb + kc >= K2;
        for (int mb = 0; mb < M; mb += MC) {
            int me = M - mb < MC ? M : mb + MC;
            for (int p = p0; p < p1; p += 2) {
                int np = p1 - p >= 2 ? 2 : 1;
                const uint16_t *w0 = pl->wb + ((size_t)p * K2 + kb) * GEMM_NR * 2;
                const uint16_t *w1 = np == 2 ? w0 + (size_t)K2 * GEMM_NR * 2 : w0;
                const float *init = kb == 0 ? pl->bias + p * GEMM_NR : NULL;
                __mmask16 m0 = cols_mask(N, p), m1 = np == 2 ? cols_mask(N, p + 1) : 0;
                for (int m = mb; m < me; m += MR) {
                    int mr = me - m < MR ? me - m : MR;
                    size_t at = (size_t)m * N + (size_t)p * GEMM_NR;
                    kernels[mr][np - 1](xp + (size_t)m * K2 + (size_t)kb * MR, w0, w1, kc, y + at, N, m0, m1, init,
                                        last && epi->gelu, last && epi->residual ? epi->residual + at : NULL);
                }
            }
        }
    }
}
