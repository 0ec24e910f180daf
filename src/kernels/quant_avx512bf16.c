/*
 * quant_avx512bf16.c — rows of floats to bf16 with vcvtneps2bf16 (nearest even; denormal inputs read as zero).
 */
#include "tiers.h"
#include "simd_avx512.h"

void bf16_pair_rows_avx512(uint32_t *dst, const float *r0, const float *r1, int n) {
    int c = 0;
    for (; c + 16 <= n; c += 16) {
        __m512i lo = bf16_lanes(_mm512_loadu_ps(r0 + c));
        __m512i hi = r1 ? _mm512_slli_epi32(bf16_lanes(_mm512_loadu_ps(r1 + c)), 16) : _mm512_setzero_si512();
        _mm512_storeu_si512(dst + c, _mm512_or_si512(lo, hi));
    }
    if (c < n) {
        __mmask16 m = (__mmask16)((1u << (n - c)) - 1);
        __m512i lo = bf16_lanes(_mm512_maskz_loadu_ps(m, r0 + c));
        __m512i hi = r1 ? _mm512_slli_epi32(bf16_lanes(_mm512_maskz_loadu_ps(m, r1 + c)), 16) : _mm512_setzero_si512();
        _mm512_mask_storeu_epi32(dst + c, m, _mm512_or_si512(lo, hi));
    }
}

void bf16_row_avx512(uint16_t *dst, const float *src, int n) {
    int c = 0;
    for (; c + 16 <= n; c += 16) _mm256_storeu_si256((__m256i *)(dst + c), (__m256i)_mm512_cvtneps_pbh(_mm512_loadu_ps(src + c)));
    if (c < n) {
        __mmask16 m = (__mmask16)((1u << (n - c)) - 1);
        _mm256_mask_storeu_epi16(dst + c, m, (__m256i)_mm512_cvtneps_pbh(_mm512_maskz_loadu_ps(m, src + c)));
    }
}
