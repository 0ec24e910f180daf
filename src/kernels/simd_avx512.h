/*
 * simd_avx512.h — AVX-512 helpers several kernel files share (included only by *_avx512*.c files): the 16-lane exp
 * and GELU (gelu_avx2's operations lane for lane), and, where AVX512-BF16 is on, floats to bf16 lanes. Static inline:
 * the same operations, so the same bits, wherever they are used.
 */
#ifndef BERTC_SIMD_AVX512_H
#define BERTC_SIMD_AVX512_H

#include <immintrin.h>

/* ---- GELU, 16 lanes: the same operations as gelu_avx2 lane for lane (A&S erf, Cephes exp), so the same bits ---- */

static inline __m512 exp_neg_avx512(__m512 x) {
    x = _mm512_max_ps(x, _mm512_set1_ps(-87.0f));
    __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)),
                                    _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
    __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
    r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_fmadd_ps(_mm512_mul_ps(p, r), r, _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

static inline __m512 gelu16(__m512 x) {
    /* sign and magnitude with integer ops (the float forms need AVX512DQ) */
    const __m512i sgn = _mm512_set1_epi32((int)0x80000000u);
    __m512 z = _mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f));
    __m512i zi = _mm512_castps_si512(z), sign = _mm512_and_si512(zi, sgn);
    __m512 az = _mm512_castsi512_ps(_mm512_andnot_si512(sgn, zi));
    __m512 t = _mm512_div_ps(_mm512_set1_ps(1.0f), _mm512_fmadd_ps(az, _mm512_set1_ps(0.3275911f), _mm512_set1_ps(1.0f)));
    __m512 y = _mm512_set1_ps(1.061405429f);
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-1.453152027f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(1.421413741f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(-0.284496736f));
    y = _mm512_fmadd_ps(y, t, _mm512_set1_ps(0.254829592f));
    y = _mm512_mul_ps(y, t);
    __m512 e = exp_neg_avx512(_mm512_sub_ps(_mm512_setzero_ps(), _mm512_mul_ps(az, az)));
    __m512 erf = _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(_mm512_fnmadd_ps(y, e, _mm512_set1_ps(1.0f))), sign));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), erf));
}

#ifdef __AVX512BF16__
static inline __m512i bf16_lanes(__m512 v) { /* 16 floats to bf16 in the low halves of 16 int32 lanes */
    return _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(v));
}
#endif

#endif
