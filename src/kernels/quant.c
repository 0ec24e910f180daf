/*
 * quant.c — number formats: 16-bit weights (fp16, bf16) widened to fp32.
 */
#include "kernels.h"

void widen_half(float *dst, const uint16_t *src, size_t n, int wtype) {
    const uint8_t *b = (const uint8_t *)src; /* little-endian halves, read bytewise (mapped files need no alignment) */
    if (cpu_has_avx2_fma()) {
        widen_half_avx2(dst, b, n, wtype);
        return;
    }
    for (size_t i = 0; i < n; i++) dst[i] = weight_to_float((uint16_t)(b[2 * i] | (b[2 * i + 1] << 8)), wtype);
}
