/*
 * attention_local.c — sliding-window (local) self-attention of one head of one sequence, as ModernBERT's local
 * layers compute it: query i sees the keys j with |i - j| <= w, softmax(q k^T / sqrt(dh)) v over that window only.
 * Each query's window is scored on its own: time and memory are linear in the window (T (2w + 1) dh per head), no
 * T x T matrix. Portable C: eight partial sums per dot product (the compiler vectorizes them), fp32 throughout,
 * the max subtracted before exp as PyTorch's softmax does.
 */
#include "kernels.h"

#include <math.h>

static inline float dot8(const float *a, const float *b, int n) {
    float acc[8] = {0};
    int k = 0;
    for (; k + 8 <= n; k += 8)
        for (int u = 0; u < 8; u++) acc[u] += a[k + u] * b[k + u];
    float s = ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7]));
    for (; k < n; k++) s += a[k] * b[k];
    return s;
}

void attention_head_local(float *out, const float *qkv, int T, int H, int head, int dh, int w, int q0, int q1,
                          float *scratch) {
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    for (int i = q0; i < q1; i++) {
        const int lo = i - w > 0 ? i - w : 0, hi = i + w < T - 1 ? i + w : T - 1; /* keys lo..hi */
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
        float *o = out + (size_t)i * H + head * dh;
        for (int d = 0; d < dh; d++) o[d] = 0.0f;
        for (int j = lo; j <= hi; j++) {
            const float p = scratch[j - lo];
            const float *vj = v + (size_t)j * ld;
            for (int d = 0; d < dh; d++) o[d] += p * vj[d];
        }
        for (int d = 0; d < dh; d++) o[d] *= inv;
    }
}
