/*
 * quant.c — number formats: fp16 / bf16 to and from fp32 (weights stored in 16 bits, bf16 compute's rounding), and
 * rows of activations quantized to int8. The portable tiers (*_ref) are the spec; the ops the library calls go
 * through the dispatch table to quant_avx2.c / quant_avx512bf16.c where the CPU has them.
 */
#include "tiers.h"

#include <math.h>
#include <string.h>

float weight_to_float(uint16_t h, int wtype) { return half_to_float(h, wtype); }
uint16_t weight_from_float(float f, int wtype) { return float_to_half(f, wtype); }

void widen_half_ref(float *dst, const uint8_t *src, size_t n, int wtype) {
    for (size_t i = 0; i < n; i++) dst[i] = half_to_float((uint16_t)(src[2 * i] | (src[2 * i + 1] << 8)), wtype);
}

void widen_half(float *dst, const uint16_t *src, size_t n, int wtype) {
    /* little-endian halves, read bytewise (mapped files need no alignment) */
    kernel_ops()->widen_half(dst, (const uint8_t *)src, n, wtype);
}

void bf16_pair_rows_ref(uint32_t *dst, const float *r0, const float *r1, int n) {
    for (int c = 0; c < n; c++)
        dst[c] = float_to_half(r0[c], WEIGHT_BF16) | (r1 ? (uint32_t)float_to_half(r1[c], WEIGHT_BF16) << 16 : 0);
}

void bf16_pair_rows(uint32_t *dst, const float *r0, const float *r1, int n) { kernel_ops()->bf16_pair_rows(dst, r0, r1, n); }

void bf16_row_ref(uint16_t *dst, const float *src, int n) {
    for (int c = 0; c < n; c++) dst[c] = float_to_half(src[c], WEIGHT_BF16);
}

void bf16_row(uint16_t *dst, const float *src, int n) { kernel_ops()->bf16_row(dst, src, n); }

/* Rows of x to u8 with zero point 64: q = clamp(round(x / s), -63, 63) + 64, s = max|x| / 63 per row. */
void quantize_rows_ref(uint8_t *xq, float *sx, const float *x, int M, int K, int K4) {
    for (int m = 0; m < M; m++) {
        const float *r = x + (size_t)m * K;
        float amax = 0;
        for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(r[k]));
        float s = amax > 0 ? amax / 63.0f : 1.0f, inv = 1.0f / s;
        sx[m] = s;
        uint8_t *q = xq + (size_t)m * K4;
        for (int k = 0; k < K; k++) {
            long v = lrintf(r[k] * inv);
            q[k] = (uint8_t)((v > 63 ? 63 : v < -63 ? -63 : v) + 64);
        }
        for (int k = K; k < K4; k++) q[k] = 64;
    }
}
