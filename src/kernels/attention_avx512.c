/*
 * attention_avx512.c — one attention head on AVX-512 for head sizes that are multiples of 16.
 */
#include "tiers.h"
#include "simd_avx512.h"

#include <math.h>
#include <string.h>

/* ---- attention, 16 lanes (head sizes that are multiples of 16) ---- */

static inline __m256 fold256(__m512 a) {
    return _mm256_add_ps(_mm512_castps512_ps256(a), _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a), 1)));
}

/* The four sums of a, b, c, d in lanes 0..3. */
static inline __m128 hsum4_512(__m512 a, __m512 b, __m512 c, __m512 d) {
    __m256 ab = _mm256_hadd_ps(fold256(a), fold256(b)), cd = _mm256_hadd_ps(fold256(c), fold256(d));
    __m256 abcd = _mm256_hadd_ps(ab, cd);
    return _mm_add_ps(_mm256_castps256_ps128(abcd), _mm256_extractf128_ps(abcd, 1));
}

/* attention_head_avx2's method on 16 lanes: scores against four keys at a time, softmax with a 16-lane exp,
 * p . V with up to 64 output columns in registers. */
/* softmax of one row of scores in place: exp(s - max), and 1 / sum of them */
static inline __m512 softmax_row_avx512(float *sc, int T) {
    float mx = -INFINITY;
    for (int j = 0; j < T; j++) mx = sc[j] > mx ? sc[j] : mx;
    __m512 vm = _mm512_set1_ps(mx), vs = _mm512_setzero_ps();
    for (int j = 0; j < T; j += 16) {
        __mmask16 m = T - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (T - j)) - 1);
        __m512 e = _mm512_maskz_mov_ps(m, exp_neg_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, sc + j), vm)));
        _mm512_mask_storeu_ps(sc + j, m, e);
        vs = _mm512_add_ps(vs, e);
    }
    return _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
}

/* Four query rows at once: every key and value row is loaded once for the four, which is what long sequences are
 * bound by (the single-row loop re-reads K and V from L2 per query). Each query's sums run in the single-row loop's
 * order, so the results are the same bits. scratch holds 4 * (T + 8) floats. */
static void attention_4rows_avx512(float *out, const float *q, const float *k, const float *v, int T, int ld, int H,
                                   int head, int dh, float scale, float *scratch) {
    float *sc[4];
    for (int r = 0; r < 4; r++) sc[r] = scratch + (size_t)r * (T + 8);
    const float *qi[4] = {q, q + ld, q + 2 * (size_t)ld, q + 3 * (size_t)ld};
    int j = 0;
    for (; j + 4 <= T; j += 4) {
        const float *k0 = k + (size_t)j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
        __m512 a[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) a[r][0] = a[r][1] = a[r][2] = a[r][3] = _mm512_setzero_ps();
        for (int d = 0; d < dh; d += 16) {
            __m512 kv0 = _mm512_loadu_ps(k0 + d), kv1 = _mm512_loadu_ps(k1 + d), kv2 = _mm512_loadu_ps(k2 + d),
                   kv3 = _mm512_loadu_ps(k3 + d);
    #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
                __m512 qv = _mm512_loadu_ps(qi[r] + d);
                a[r][0] = _mm512_fmadd_ps(qv, kv0, a[r][0]);
                a[r][1] = _mm512_fmadd_ps(qv, kv1, a[r][1]);
                a[r][2] = _mm512_fmadd_ps(qv, kv2, a[r][2]);
                a[r][3] = _mm512_fmadd_ps(qv, kv3, a[r][3]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++)
            _mm_storeu_ps(sc[r] + j, _mm_mul_ps(hsum4_512(a[r][0], a[r][1], a[r][2], a[r][3]), _mm_set1_ps(scale)));
    }
    for (; j < T; j++) {
        const float *kj = k + (size_t)j * ld;
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            __m512 acc = _mm512_setzero_ps();
            for (int d = 0; d < dh; d += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(qi[r] + d), _mm512_loadu_ps(kj + d), acc);
            sc[r][j] = _mm512_reduce_add_ps(acc) * scale;
        }
    }
    __m512 vi[4];
#pragma GCC unroll 4
    for (int r = 0; r < 4; r++) vi[r] = softmax_row_avx512(sc[r], T);
    float *o = out + head * dh;
    int d = 0;
    for (; d + 64 <= dh; d += 64) {
        __m512 acc[4][4];
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) acc[r][0] = acc[r][1] = acc[r][2] = acc[r][3] = _mm512_setzero_ps();
        for (j = 0; j < T; j++) {
            const float *vj = v + (size_t)j * ld + d;
            __m512 v0 = _mm512_loadu_ps(vj), v1 = _mm512_loadu_ps(vj + 16), v2 = _mm512_loadu_ps(vj + 32),
                   v3 = _mm512_loadu_ps(vj + 48);
    #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
                __m512 p = _mm512_set1_ps(sc[r][j]);
                acc[r][0] = _mm512_fmadd_ps(p, v0, acc[r][0]);
                acc[r][1] = _mm512_fmadd_ps(p, v1, acc[r][1]);
                acc[r][2] = _mm512_fmadd_ps(p, v2, acc[r][2]);
                acc[r][3] = _mm512_fmadd_ps(p, v3, acc[r][3]);
            }
        }
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            float *orow = o + (size_t)r * H + d;
            _mm512_storeu_ps(orow, _mm512_mul_ps(acc[r][0], vi[r]));
            _mm512_storeu_ps(orow + 16, _mm512_mul_ps(acc[r][1], vi[r]));
            _mm512_storeu_ps(orow + 32, _mm512_mul_ps(acc[r][2], vi[r]));
            _mm512_storeu_ps(orow + 48, _mm512_mul_ps(acc[r][3], vi[r]));
        }
    }
    for (; d < dh; d += 16) {
        __m512 acc[4] = {_mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps(), _mm512_setzero_ps()};
        for (j = 0; j < T; j++) {
            __m512 vv = _mm512_loadu_ps(v + (size_t)j * ld + d);
    #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) acc[r] = _mm512_fmadd_ps(_mm512_set1_ps(sc[r][j]), vv, acc[r]);
        }
#pragma GCC unroll 4
        for (int r = 0; r < 4; r++) _mm512_storeu_ps(o + (size_t)r * H + d, _mm512_mul_ps(acc[r], vi[r]));
    }
}

void attention_head_avx512(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    int i0 = 0;
    for (; i0 + 4 <= nq; i0 += 4)
        attention_4rows_avx512(out + (size_t)i0 * H, q + (size_t)i0 * ld, k, v, T, ld, H, head, dh, scale, scratch);
    for (int i = i0; i < nq; i++) {
        const float *qi = q + (size_t)i * ld;
        int j = 0;
        for (; j + 4 <= T; j += 4) {
            const float *k0 = k + (size_t)j * ld, *k1 = k0 + ld, *k2 = k1 + ld, *k3 = k2 + ld;
            __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
            for (int d = 0; d < dh; d += 16) {
                __m512 qv = _mm512_loadu_ps(qi + d);
                a0 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k0 + d), a0);
                a1 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k1 + d), a1);
                a2 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k2 + d), a2);
                a3 = _mm512_fmadd_ps(qv, _mm512_loadu_ps(k3 + d), a3);
            }
            _mm_storeu_ps(scratch + j, _mm_mul_ps(hsum4_512(a0, a1, a2, a3), _mm_set1_ps(scale)));
        }
        for (; j < T; j++) {
            const float *kj = k + (size_t)j * ld;
            __m512 a = _mm512_setzero_ps();
            for (int d = 0; d < dh; d += 16) a = _mm512_fmadd_ps(_mm512_loadu_ps(qi + d), _mm512_loadu_ps(kj + d), a);
            scratch[j] = _mm512_reduce_add_ps(a) * scale;
        }
        float mx = -INFINITY;
        for (j = 0; j < T; j++) mx = scratch[j] > mx ? scratch[j] : mx;
        __m512 vm = _mm512_set1_ps(mx), vs = _mm512_setzero_ps();
        for (j = 0; j < T; j += 16) {
            __mmask16 m = T - j >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (T - j)) - 1);
            __m512 e = _mm512_maskz_mov_ps(m, exp_neg_avx512(_mm512_sub_ps(_mm512_maskz_loadu_ps(m, scratch + j), vm)));
            _mm512_mask_storeu_ps(scratch + j, m, e);
            vs = _mm512_add_ps(vs, e);
        }
        __m512 vi = _mm512_set1_ps(1.0f / _mm512_reduce_add_ps(vs));
        float *o = out + (size_t)i * H + head * dh;
        int d = 0;
        for (; d + 64 <= dh; d += 64) {
            __m512 o0 = _mm512_setzero_ps(), o1 = o0, o2 = o0, o3 = o0;
            for (j = 0; j < T; j++) {
                const float *vj = v + (size_t)j * ld + d;
                __m512 p = _mm512_set1_ps(scratch[j]);
                o0 = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj), o0);
                o1 = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 16), o1);
                o2 = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 32), o2);
                o3 = _mm512_fmadd_ps(p, _mm512_loadu_ps(vj + 48), o3);
            }
            _mm512_storeu_ps(o + d, _mm512_mul_ps(o0, vi));
            _mm512_storeu_ps(o + d + 16, _mm512_mul_ps(o1, vi));
            _mm512_storeu_ps(o + d + 32, _mm512_mul_ps(o2, vi));
            _mm512_storeu_ps(o + d + 48, _mm512_mul_ps(o3, vi));
        }
        for (; d < dh; d += 16) {
            __m512 acc = _mm512_setzero_ps();
            for (j = 0; j < T; j++)
                acc = _mm512_fmadd_ps(_mm512_set1_ps(scratch[j]), _mm512_loadu_ps(v + (size_t)j * ld + d), acc);
            _mm512_storeu_ps(o + d, _mm512_mul_ps(acc, vi));
        }
    }
}
