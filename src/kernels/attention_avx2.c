/*
 * attention_avx2.c — one attention head on AVX2 + FMA (attention_head_ref's function, its sums in another order).
 * Compiled with -mavx2 -mfma; called through the dispatch table (dispatch.c) where the CPU has both.
 */
#include "tiers.h"
#include "simd_avx2.h"

#include <math.h>
#include <string.h>

/* The four sums of a, b, c, d in one vector's lanes 0..3. */
static inline __m128 hsum4(__m256 a, __m256 b, __m256 c, __m256 d) {
    __m256 ab = _mm256_hadd_ps(a, b), cd = _mm256_hadd_ps(c, d), abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* Per query row: scores against four keys at a time (four accumulators, one horizontal reduction), the softmax
 * with a vectorized exp, then p . V with the row's output slice held in registers, 32 columns at a time. rel (NULL:
 * none): attention_head_rel's bias by offset, added to the scaled scores. */
static inline __attribute__((always_inline)) void head_avx2(float *out, const float *qkv, int T, int nq, int H, int head,
                                                            int dh, float *scratch, const float *rel) {
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
                __m128 sc = _mm_mul_ps(hsum4(a0, a1, a2, a3), _mm_set1_ps(scale));
                if (rel) sc = _mm_add_ps(sc, _mm_loadu_ps(rel - i + j));
                _mm_storeu_ps(scratch + j, sc);
            }
        }
        for (; j < T; j++) scratch[j] = dot(qi, k + (size_t)j * ld, dh) * scale;
        if (rel) /* the block's keys were done above; these are the rest (and every key when dh % 8 != 0) */
            for (int t = (dh & 7) == 0 ? T / 4 * 4 : 0; t < T; t++) scratch[t] += rel[t - i];
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
        pv_row(out + (size_t)i * H + head * dh, scratch, v, T, (size_t)ld, dh, inv);
    }
}

void attention_head_avx2(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
    head_avx2(out, qkv, T, nq, H, head, dh, scratch, NULL);
}

void attention_head_rel_avx2(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                             const float *rel) {
    head_avx2(out, qkv, T, nq, H, head, dh, scratch, rel);
}
