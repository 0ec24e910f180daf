/*
 * quant_avx2.c — number formats on AVX2 + F16C: rows of activations to int8 (quantize_rows_ref's bits), fp16 / bf16
 * widened to fp32, x rounded to bf16 values for the AVX2 bf16 GEMM.
 */
#include "tiers.h"

#include <immintrin.h>
#include <math.h>

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
