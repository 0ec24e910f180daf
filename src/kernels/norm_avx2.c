/*
 * norm_avx2.c — LayerNorm rows on AVX2 + FMA.
 */
#include "tiers.h"
#include "simd_avx2.h"

#include <math.h>

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
