/*
 * activation_avx512.c — exact-erf GELU on 16 lanes (gelu_avx2's bits).
 */
#include "tiers.h"
#include "simd_avx512.h"

void gelu_avx512(float *v, int n, const float *residual) {
    int i = 0;
    for (; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1);
        __m512 g = gelu16(_mm512_maskz_loadu_ps(m, v + i));
        if (residual) g = _mm512_add_ps(g, _mm512_maskz_loadu_ps(m, residual + i));
        _mm512_mask_storeu_ps(v + i, m, g);
    }
}
