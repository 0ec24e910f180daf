/*
 * simd_avx2.h — the AVX2 + FMA helpers several kernel files share (included only by *_avx2.c files, compiled with
 * -mavx2 -mfma): a horizontal sum, a dot product, attention's probabilities times V, the Cephes exp of non-positive
 * arguments and the Abramowitz & Stegun erf. Static inline: each file gets the same operations, so the same bits.
 */
#ifndef BERTC_SIMD_AVX2_H
#define BERTC_SIMD_AVX2_H

#include <immintrin.h>

static inline float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

/* a . b over n floats */
static inline float dot(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

/* o[d] = inv * sum over j < n of p[j] * v[j * ld + d], d < dh: attention probabilities times V's rows (32 outputs
 * at a time, then 8, then one) */
static inline void pv_row(float *o, const float *p, const float *v, int n, size_t ld, int dh, float inv) {
    int d = 0;
    for (; d + 32 <= dh; d += 32) {
        __m256 o0 = _mm256_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
        for (int j = 0; j < n; j++) {
            const float *vj = v + (size_t)j * ld + d;
            __m256 pj = _mm256_broadcast_ss(p + j);
            o0 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj), o0);
            o1 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 8), o1);
            o2 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 16), o2);
            o3 = _mm256_fmadd_ps(pj, _mm256_loadu_ps(vj + 24), o3);
        }
        __m256 vi = _mm256_set1_ps(inv);
        _mm256_storeu_ps(o + d, _mm256_mul_ps(o0, vi));
        _mm256_storeu_ps(o + d + 8, _mm256_mul_ps(o1, vi));
        _mm256_storeu_ps(o + d + 16, _mm256_mul_ps(o2, vi));
        _mm256_storeu_ps(o + d + 24, _mm256_mul_ps(o3, vi));
    }
    for (; d + 8 <= dh; d += 8) {
        __m256 acc = _mm256_setzero_ps();
        for (int j = 0; j < n; j++)
            acc = _mm256_fmadd_ps(_mm256_broadcast_ss(p + j), _mm256_loadu_ps(v + (size_t)j * ld + d), acc);
        _mm256_storeu_ps(o + d, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
    }
    for (; d < dh; d++) {
        float acc = 0.0f;
        for (int j = 0; j < n; j++) acc += p[j] * v[(size_t)j * ld + d];
        o[d] = acc * inv;
    }
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

#endif
