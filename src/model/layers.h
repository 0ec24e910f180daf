/*
 * layers.h — the training variants of the encoder's operations (they keep what the backward pass needs) and their
 * backward passes (layers.c). The inference variants are the kernels' (fused epilogues, attention_head, layernorm).
 */
#ifndef BERTC_LAYERS_H
#define BERTC_LAYERS_H

#include "kernels/kernels.h"

/* Counter-based uniform in [0, 1): the same mask whatever the thread count. */
static inline uint64_t mix64(uint64_t x) {
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

/* Dropout: the key of one site (an activation tensor) of one micro-batch, and the keep-and-scale factor of its
 * element idx: 0 with probability p, else 1 / (1 - p) (24-bit uniform draws). */
static inline uint64_t site_key(uint64_t key, uint64_t site) { return mix64(key ^ mix64(site * 0x9E3779B97F4A7C15ull)); }
static inline float drop_factor(uint64_t sk, size_t idx, float p, float scale) {
    uint32_t u = (uint32_t)(mix64(sk + idx) >> 40);
    return (float)u >= p * 16777216.0f ? scale : 0.0f;
}

/* x[i] *= drop_factor(sk, i, p, 1 / (1 - p)); nothing when p <= 0. */
void dropout_apply(float *x, size_t n, float p, uint64_t sk);

/* y = LayerNorm(x) with xhat (M x C) and rstd (M) kept. */
void ln_forward(threadpool *tp, float *y, float *xhat, float *rstd, const float *x, const float *g, const float *b, int M,
                int C, float eps);
#define LN_CHUNKS 8
/* dx = LayerNorm backward of dy; dg += sum dy * xhat, db += sum dy (when not NULL); part: LN_CHUNKS x 2C floats. */
void ln_backward(threadpool *tp, float *dx, const float *dy, const float *xhat, const float *rstd, const float *g,
                 float *dg, float *db, int M, int C, float *part);

/* forward: y = act(x); backward: y *= act'(x) (y holds dy): the kernels' activation_forward / _backward over fixed
 * chunks. */
void act_run(threadpool *tp, float *y, const float *x, size_t n, enum epilogue a, bool backward);
/* dst += src */
void add_into(threadpool *tp, float *dst, const float *src, size_t n);

/* Buffers of lin_dw: dyt max(N) x M, xpack ceil(max(K) / NR) NR x max(M, bf16_pairs(M)), dw N x K, zeros (NR-padded
 * max(K)). bf16: the dW GEMM takes bf16 inputs. */
typedef struct dw_scratch {
    float *dyt, *xpack, *dw, *zeros;
    bool bf16;
} dw_scratch;
/* gW [N, K] += dy^T x, gb [N] += column sums of dy (when not NULL); dy [M, N], x [M, K]. */
void lin_dw(threadpool *tp, const dw_scratch *a, float *gW, float *gb, const float *dy, const float *x, int M, int N,
            int K);

/* Attention per (sequence, head) over the sequence's own tokens on the fused [M, 3H] q | k | v rows, keeping the
 * softmax probabilities P (before dropout; sequence s's heads from pofs[s], T x T each); dropout p on them with key
 * sk. backward: dqkv from dctx, P and qkv, the same masks. */
typedef struct att_job {
    int heads, H, max_T;
    const int *seq_off, *seq_len;
    const size_t *pofs;
    float *scratch; /* per task: (2 + H / heads) x max_T */
    float *ctx, *P;
    const float *qkv;
    float *dqkv;
    const float *dctx;
    bool backward;
    float p;
    uint64_t sk;
    /* optional: an additive bias on the scaled scores by the key's offset from the query, per head: rel[h (2 R - 1) +
     * R - 1 + j - i] (R >= the longest sequence); backward (drel not NULL): each (sequence, head) task writes the
     * gradient over those values into its own row of drel (task (2 R - 1) + h ... see att_task), zeroed first */
    const float *rel;
    int rel_R;
    float *drel;
} att_job;
void attention_kept(threadpool *tp, const att_job *j, int n_seq);

/* The activations a family's training pass keeps (deberta.c, modernbert.c), in one 64-byte-aligned block reused
 * across steps in *slot: a header of hdr bytes whose first member is the size_t capacity in floats after it, then
 * one slice per sz[] entry, each rounded up to 16 floats. acts_block grows the block (by a quarter over what is
 * asked) when it is short and returns the header, or NULL when out of memory (*slot is then NULL); acts_carve points
 * dst[i] at slice i for i < ndst and rest[i - ndst] at the slices after them (ints, size_t in float-sized slots). */
void *acts_block(void **slot, size_t hdr, const size_t *sz, int nsz);
void acts_carve(void *block, size_t hdr, const size_t *sz, int nsz, float **const *dst, int ndst, void **rest);

#endif
