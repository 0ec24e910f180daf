/*
 * activation.c — activations over a buffer (the trainer's forward and backward passes): exact-erf GELU on the
 * vector tier where there is one, the portable formulas otherwise and for the other activations.
 */
#include "kernels.h"

#include <string.h>

/* The portable activation, the same function as the GEMM epilogue's (gemm.c) */
static inline float act_ref(float v, enum epilogue a) {
    switch (a) {
    case EPI_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case EPI_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case EPI_RELU: return v > 0.0f ? v : 0.0f;
    case EPI_TANH: return tanhf(v);
    default: return v;
    }
}

/* Its derivative (EPI_TANH and EPI_NONE: 1, as the trainer has always taken it) */
static inline float act_grad_ref(float v, enum epilogue a) {
    switch (a) {
    case EPI_GELU: {
        float cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
        return cdf + v * 0.3989422804014327f * expf(-0.5f * v * v);
    }
    case EPI_GELU_TANH: {
        float u = 0.79788456080286536f * (v + 0.044715f * v * v * v), t = tanhf(u);
        return 0.5f * (1.0f + t) + 0.5f * v * (1.0f - t * t) * 0.79788456080286536f * (1.0f + 3.0f * 0.044715f * v * v);
    }
    case EPI_RELU: return v > 0.0f ? 1.0f : 0.0f;
    default: return 1.0f;
    }
}

/* The vector GELU takes int lengths: the buffer in chunks of 2^20 from its start. */
enum { ACT_CHUNK = 1 << 20 };

void activation_forward(float *y, const float *x, size_t n, enum epilogue act) {
    if (act == EPI_GELU && cpu_has_avx2_fma()) {
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            int len = (int)(n - i < ACT_CHUNK ? n - i : ACT_CHUNK);
            if (y != x) memcpy(y + i, x + i, (size_t)len * sizeof(float));
            if (cpu_has_avx512()) gelu_avx512(y + i, len, NULL);
            else gelu_avx2(y + i, len, NULL);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = act_ref(x[i], act);
}

void activation_backward(float *dy, const float *x, size_t n, enum epilogue act) {
    if (act == EPI_GELU && cpu_has_avx2_fma()) {
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            int len = (int)(n - i < ACT_CHUNK ? n - i : ACT_CHUNK);
            gelu_grad_avx2(dy + i, x + i, len);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) dy[i] *= act_grad_ref(x[i], act);
}
