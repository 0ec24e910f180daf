/*
 * activation.c — activations: the portable GELU, its derivative and the residual add (the GEMM epilogue's separate
 * pass and the table's fallback; activation_avx2.c and activation_avx512.c hold the vector tiers), and the
 * activations over a buffer the trainer's forward and backward passes call.
 */
#include "tiers.h"

#include <string.h>

void gelu_ref(float *v, int n, const float *residual) {
    for (int i = 0; i < n; i++) {
        float g = act_ref(v[i], EPI_GELU);
        v[i] = residual ? g + residual[i] : g;
    }
}

/* The derivative of act_ref's function (EPI_TANH and EPI_NONE: 1, as the trainer has always taken it) */
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

void gelu_grad_ref(float *dy, const float *x, int n) {
    for (int i = 0; i < n; i++) dy[i] *= act_grad_ref(x[i], EPI_GELU);
}

void add_ref(float *v, const float *r, int n) {
    for (int i = 0; i < n; i++) v[i] += r[i];
}

/* The table's GELU takes int lengths: the buffer in chunks of 2^20 from its start. */
enum { ACT_CHUNK = 1 << 20 };

void activation_forward(float *y, const float *x, size_t n, enum epilogue act) {
    if (act == EPI_GELU) {
        void (*gelu)(float *, int, const float *) = kernel_ops()->gelu;
        for (size_t i = 0; i < n; i += ACT_CHUNK) {
            int len = (int)(n - i < ACT_CHUNK ? n - i : ACT_CHUNK);
            if (y != x) memcpy(y + i, x + i, (size_t)len * sizeof(float));
            gelu(y + i, len, NULL);
        }
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = act_ref(x[i], act);
}

void activation_backward(float *dy, const float *x, size_t n, enum epilogue act) {
    if (act == EPI_GELU) {
        void (*gelu_grad)(float *, const float *, int) = kernel_ops()->gelu_grad;
        for (size_t i = 0; i < n; i += ACT_CHUNK) gelu_grad(dy + i, x + i, (int)(n - i < ACT_CHUNK ? n - i : ACT_CHUNK));
        return;
    }
    for (size_t i = 0; i < n; i++) dy[i] *= act_grad_ref(x[i], act);
}
