/*
 * attention_local.c — attention of one head of one sequence over its own contiguous q, k, v rows, each query over a
 * window of keys (|i - j| <= w; w >= T - 1: all of them), as ModernBERT's local (sliding-window) and global layers
 * compute it: softmax(q k^T / sqrt(dh)) v, the max subtracted before exp as PyTorch's softmax does. Each query's
 * window is scored on its own: time and memory linear in the window, no T x T matrix. And the row softmax of a
 * block of scores (the global layers' long sequences score blocks of queries with the GEMM). The portable code
 * here, the AVX2 + FMA code in attention_local_avx2.c, picked by the SIMD tier of this CPU (simd_isa()).
 */
#include "kernels.h"

#include <math.h>
#include <string.h>

void attention_window_avx2(float *out, int ldo, const float *q, const float *k, const float *v, int ld, int T, int dh,
                           int w, int q0, int q1, float *scratch);
void softmax_rows_avx2(float *S, int rows, int T, float scale);

static inline float dot8(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += a[k + u] * b[k + u];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; k++) s += a[k] * b[k];
    return s;
}

static void attention_window_ref(float *out, int ldo, const float *q, const float *k, const float *v, int ld, int T,
                                 int dh, int w, int q0, int q1, float *scratch) {
    const float scale = 1.0f / sqrtf((float)dh);
    for (int i = q0; i < q1; i++) {
        const int lo = i - w > 0 ? i - w : 0, hi = w < T - 1 - i ? i + w : T - 1; /* keys lo..hi */
        const float *qi = q + (size_t)i * ld;
        float mx = -INFINITY;
        for (int j = lo; j <= hi; j++) {
            float s = dot8(qi, k + (size_t)j * ld, dh) * scale;
            scratch[j - lo] = s;
            if (s > mx) mx = s;
        }
        float sum = 0.0f;
        for (int j = 0; j <= hi - lo; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        const float inv = 1.0f / sum;
        float *o = out + (size_t)i * ldo;
        for (int d = 0; d < dh; d++) o[d] = 0.0f;
        for (int j = lo; j <= hi; j++) {
            const float p = scratch[j - lo];
            const float *vj = v + (size_t)j * ld;
            for (int d = 0; d < dh; d++) o[d] += p * vj[d];
        }
        for (int d = 0; d < dh; d++) o[d] *= inv;
    }
}

static void softmax_rows_ref(float *S, int rows, int T, float scale) {
    for (int r = 0; r < rows; r++) {
        float *s = S + (size_t)r * T, mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < T; j++) {
            s[j] *= scale;
            if (s[j] > mx) mx = s[j];
        }
        for (int j = 0; j < T; j++) {
            s[j] = expf(s[j] - mx);
            sum += s[j];
        }
        const float inv = 1.0f / sum;
        for (int j = 0; j < T; j++) s[j] *= inv;
    }
}

static bool use_avx2(void) {
    static int v = -1; /* a benign race: every thread computes the same value */
    if (v < 0) v = strcmp(simd_isa(), "portable") != 0;
    return v;
}

void attention_window(float *out, int ldo, const float *q, const float *k, const float *v, int ld, int T, int dh, int w,
                      int q0, int q1, float *scratch) {
    (use_avx2() ? attention_window_avx2 : attention_window_ref)(out, ldo, q, k, v, ld, T, dh, w, q0, q1, scratch);
}

void softmax_rows(float *S, int rows, int T, float scale) {
    (use_avx2() ? softmax_rows_avx2 : softmax_rows_ref)(S, rows, T, scale);
}
