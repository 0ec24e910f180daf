/*
 * attention.c — self-attention of one head of one sequence: the portable head (attention_head_ref, the spec: scores
 * scaled by 1/sqrt(dh), a max-subtracted softmax, all in fp32, as PyTorch), and the calls the encoder makes, through
 * the dispatch table to attention_avx2.c / attention_avx512.c, or for bf16 compute to the AMX tier's head
 * (gemm_amx.c).
 */
#include "tiers.h"

#include <math.h>

void attention_head_ref(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
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

void attention_head(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch) {
    const kernel_table *k = kernel_ops();
    (dh % 16 == 0 ? k->attention_dh16 : k->attention)(out, qkv, T, nq, H, head, dh, scratch);
}

void attention_head_rel_ref(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                            const float *rel) {
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    float *o0 = scratch + T; /* the output row, accumulated over the keys */
    for (int i = 0; i < nq; i++) {
        const float *qi = q + (size_t)i * ld, *ri = rel - i;
        float mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            const float *kj = k + (size_t)j * ld;
            float s = 0.0f;
            for (int d = 0; d < dh; d++) s += qi[d] * kj[d];
            s = s * scale + ri[j];
            scratch[j] = s;
            if (s > mx) mx = s;
        }
        float sum = 0.0f;
        for (int j = 0; j < T; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        for (int d = 0; d < dh; d++) o0[d] = 0.0f;
        for (int j = 0; j < T; j++) {
            const float p = scratch[j], *vj = v + (size_t)j * ld;
            for (int d = 0; d < dh; d++) o0[d] += p * vj[d];
        }
        float inv = 1.0f / sum, *o = out + (size_t)i * H + head * dh;
        for (int d = 0; d < dh; d++) o[d] = o0[d] * inv;
    }
}

void attention_head_rel(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                        const float *rel) {
    kernel_ops()->attention_rel(out, qkv, T, nq, H, head, dh, scratch, rel);
}

void attention_head_bf16(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                         int bf16_tier_id) {
    if (bf16_tier_id >= 0 && bf16_tier_id < BF16_TIERS) {
        bool (*head_bf16)(float *, const float *, int, int, int, int, int) = kernel_ops()->bf16[bf16_tier_id].attention_bf16;
        if (head_bf16 && head_bf16(out, qkv, T, nq, H, head, dh)) return;
    }
    attention_head(out, qkv, T, nq, H, head, dh, scratch);
}
