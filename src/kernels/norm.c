/*
 * norm.c — LayerNorm as PyTorch computes it: biased variance, eps inside the square root, fp32, two passes
 * (layernorm_ref, the spec; norm_avx2.c the vector tier), and the same split by rows across the pool.
 */
#include "tiers.h"

#include <math.h>

void layernorm_ref(float *x, const float *g, const float *b, int M, int C, float eps) {
    for (int m = 0; m < M; m++) {
        float *r = x + (size_t)m * C, mean;
        float inv = layernorm_stats(r, C, eps, &mean);
        for (int c = 0; c < C; c++) r[c] = (r[c] - mean) * inv * g[c] + b[c];
    }
}

void layernorm(float *x, const float *g, const float *b, int M, int C, float eps) {
    kernel_ops()->layernorm(x, g, b, M, C, eps);
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
