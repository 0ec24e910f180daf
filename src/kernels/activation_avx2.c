/*
 * activation_avx2.c — exact-erf GELU (vectorized erf, absolute error < 1.5e-7), its derivative and the residual add
 * on AVX2 + FMA.
 */
#include "tiers.h"
#include "simd_avx2.h"

#include <string.h>

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

void add_avx2(float *v, const float *r, int n) {
    int i = 0;
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(v + i, _mm256_add_ps(_mm256_loadu_ps(v + i), _mm256_loadu_ps(r + i)));
    for (; i < n; i++) v[i] += r[i];
}
