/*
 * ops.c — LayerNorm and the reference attention head (portable C; the AVX2 head is in gemm_avx2.c).
 * Numerics follow PyTorch: LayerNorm with biased variance and eps inside the square root; attention scores
 * scaled by 1/sqrt(dh) and a max-subtracted softmax, all in fp32.
 */
#include "kernels.h"

#include <math.h>

void layernorm(float *x, const float *g, const float *b, int M, int C, float eps) {
    if (cpu_has_avx2_fma()) {
        layernorm_avx2(x, g, b, M, C, eps);
        return;
    }
    for (int m = 0; m < M; m++) {
        float *r = x + (size_t)m * C, mean;
        float inv = layernorm_stats(r, C, eps, &mean);
        for (int c = 0; c < C; c++) r[c] = (r[c] - mean) * inv * g[c] + b[c];
    }
}

void attention_head(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
    if (cpu_has_avx512() && dh % 16 == 0) {
        attention_head_avx512(out, qkv, T, nq, H, head, dh, scratch);
        return;
    }
    if (cpu_has_avx2_fma()) {
        attention_head_avx2(out, qkv, T, nq, H, head, dh, scratch);
        return;
    }
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    for (int i = 0; i < nq; i++) {
        float mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            float s = 0.0f;
            for (int d = 0; d < dh; d++) s += q[(size_t)i * ld + d] * k[(size_t)j * ld + d];
            s *= scale;
            scratch[j] = s;
            if (s > mx) mx = s;
        }
        float sum = 0.0f;
        for (int j = 0; j < T; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        float inv = 1.0f / sum;
        float *o = out + (size_t)i * H + head * dh;
        for (int d = 0; d < dh; d++) {
            float acc = 0.0f;
            for (int j = 0; j < T; j++) acc += scratch[j] * v[(size_t)j * ld + d];
            o[d] = acc * inv;
        }
    }
}

void attention_head_bf16(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                         int bf16_tier_id) {
    if (bf16_tier_id == BF16_AMX && attention_head_bf16_amx(out, qkv, T, nq, H, head, dh)) return;
    if (bf16_tier_id == BF16_AMX_EMULATED && attention_head_bf16_amxemu(out, qkv, T, nq, H, head, dh)) return;
    attention_head(out, qkv, T, nq, H, head, dh, scratch);
}

typedef struct ln_job {
    float *x;
    const float *g, *b;
    int M, C;
    float eps;
} ln_job;

static void ln_task(void *ctx, int task, int n_tasks) {
    ln_job *j = ctx;
    int m0 = (int)((long)j->M * task / n_tasks), m1 = (int)((long)j->M * (task + 1) / n_tasks);
    if (m1 > m0) layernorm(j->x + (size_t)m0 * j->C, j->g, j->b, m1 - m0, j->C, j->eps);
}

void layernorm_pool(threadpool *tp, float *x, const float *g, const float *b, int M, int C, float eps) {
    ln_job j = {x, g, b, M, C, eps};
    int n = threadpool_size(tp);
    threadpool_run(tp, ln_task, &j, M >= 16 && n > 1 ? n : 1);
}
