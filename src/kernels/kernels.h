/*
 * kernels.h — the numeric kernels as the library calls them: packed GEMM, LayerNorm, activations, attention, number
 * formats, the thread pool that splits them, per-thread scratch and the tier queries. Each op runs on the tier the
 * dispatch table (dispatch.c) picked once for this CPU; the per-tier entry points are private to src/kernels
 * (tiers.h). Kernels know nothing of checkpoints. Shapes are named as in the math: M rows (tokens), K inputs,
 * N outputs; T tokens of one sequence, H hidden, nh heads, dh head size.
 */
#ifndef BERTC_KERNELS_H
#define BERTC_KERNELS_H

#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* ---- thread pool: persistent workers, no thread creation per call ---- */
typedef struct threadpool threadpool;
typedef void (*task_fn)(void *ctx, int task, int n_tasks);
threadpool *threadpool_new(int n_threads);
void threadpool_free(threadpool *p);
int threadpool_size(const threadpool *p);
/* Runs fn(ctx, i, n_tasks) for i in [0, n_tasks) across the pool and waits. Calls from several threads are
 * serialized. */
void threadpool_run(threadpool *p, task_fn fn, void *ctx, int n_tasks);

/* ---- packed weights for y = x W^T + b (PyTorch Linear: W is [N, K]) ---- */
#define GEMM_NR 16
enum weight_type { WEIGHT_F32 = 0, WEIGHT_F16 = 1, WEIGHT_BF16 = 2 };
typedef struct packed_linear {
    int N, K;
    float *w;    /* panels of GEMM_NR outputs: w[(p * K + k) * NR + j] = W[p*NR + j][k], zero-padded */
    /* fp16 / bf16 storage (w == NULL then): the same layout in 16-bit halves, widened to fp32 in the kernels */
    uint16_t *wh;
    int wtype; /* enum weight_type of w / wh */
    float *bias; /* N entries (zeros when the layer has none) */
    /* int8 form (w == NULL then): per-output-channel symmetric weights, wq[((p * K4/4 + k4) * NR + j) * 4 + i] =
     * round(W[p*NR + j][4 k4 + i] / wscale[n]) in [-127, 127], zero past K (K4 = int8_depth(K): whole AMX tiles);
     * colsum[n] = sum over k of the quantized row. */
    int8_t *wq;
    float *wscale;
    int32_t *colsum;
    int K4;
    /* bf16 compute (w, wh, wq == NULL then): weights rounded to bf16 (nearest even) once at pack time, in k pairs
     * for vdpbf16ps and tdpbf16ps: wb[((p * K2 + kk) * NR + j) * 2 + i] = bf16(W[p*NR + j][2 kk + i]), zero-padded
     * (K2 = bf16_pairs(K): whole AMX tiles). Activations are rounded to bf16 per call; products are accumulated in
     * fp32. */
    uint16_t *wb;
    int K2;
} packed_linear;

/* The padded depths of the bf16 and int8 packs: k pairs in multiples of 16, k in multiples of 64 (one AMX tile row
 * of 64 bytes); the padding is zeros, which every tier sums exactly. */
static inline int bf16_pairs(int K) { return ((K + 1) / 2 + 15) / 16 * 16; }
static inline int int8_depth(int K) { return (K + 63) / 64 * 64; }

/* Packs W [N, K] (row-major) and bias (may be NULL). Returns false on OOM. */
bool linear_pack(packed_linear *pl, const float *W, const float *bias, int N, int K);
/* Packs new values of the same shape into an fp32 linear made by linear_pack (the trainer, after each step). */
void linear_repack(packed_linear *pl, const float *W, const float *bias);
/* The int8 form: weights quantized per output channel; activations are quantized per row at run time to 7 bits
 * with zero point 64 (so that AVX2's u8 x s8 pair sums cannot saturate), accumulated exactly in int32. */
bool linear_pack_int8(packed_linear *pl, const float *W, const float *bias, int N, int K);
/* 16-bit storage (WEIGHT_F16 or WEIGHT_BF16, rounded to nearest even): half the memory and traffic. */
bool linear_pack_half(packed_linear *pl, const float *W, const float *bias, int N, int K, int wtype);
/* bf16 compute: matmul inputs (these weights, and the activations at run time) rounded to bf16, fp32 sums. */
bool linear_pack_bf16(packed_linear *pl, const float *W, const float *bias, int N, int K);
/* The buffers of a bf16-compute pack of N x K (zero bias, weights unset), for packers of other layouts. */
bool linear_alloc_bf16(packed_linear *pl, int N, int K);
/* dst[c] = bf16(r0[c]) | bf16(r1[c]) << 16 for c < n (r1 NULL: zero high halves): two rows' columns as the k pairs of
 * the bf16 layouts; bf16_row: n floats to n bf16. Nearest even, as weight_from_float; AVX512-BF16 where present. */
void bf16_pair_rows(uint32_t *dst, const float *r0, const float *r1, int n);
void bf16_row(uint16_t *dst, const float *src, int n);
/* New weights of the same shape into a bf16-compute pack (training re-packs after each optimizer step). */
void linear_repack_bf16(packed_linear *pl, const float *W, const float *bias);
void linear_free(packed_linear *pl);
/* Where panel p's k row kb starts (bytes: fp32 or 16-bit storage), and how many 64-byte lines k rows take. */
static inline const char *linear_weights(const packed_linear *pl, int p, int kb) {
    size_t i = ((size_t)p * (size_t)pl->K + (size_t)kb) * GEMM_NR;
    return pl->wtype == WEIGHT_F32 ? (const char *)(pl->w + i) : (const char *)(pl->wh + i);
}
static inline int linear_lines(const packed_linear *pl, int k_rows) {
    return pl->wtype == WEIGHT_F32 ? k_rows : (k_rows + 1) / 2;
}
/* One stored 16-bit weight as fp32 (exact), and the nearest-even 16-bit form of a float. */
float weight_to_float(uint16_t h, int wtype);
uint16_t weight_from_float(float f, int wtype);

enum epilogue { EPI_NONE = 0, EPI_GELU = 1, EPI_RELU = 2, EPI_TANH = 3, EPI_GELU_TANH = 4 };

/* n little-endian fp16 / bf16 values (wtype) widened to fp32, exactly (weight_to_float's values; NaNs come back
 * quiet); src needs no alignment. */
void widen_half(float *dst, const uint16_t *src, size_t n, int wtype);
/* y [n] = act(x) (y may be x), and dy [n] *= act'(x): exact-erf GELU through the vector erf of the fused epilogue
 * (absolute error < 1.5e-7) where the CPU has AVX2, the portable formulas otherwise; the derivative of EPI_TANH and
 * EPI_NONE is taken as 1. The same bits for the same buffer whatever the thread count, provided it is split at the
 * same points. */
void activation_forward(float *y, const float *x, size_t n, enum epilogue act);
void activation_backward(float *dy, const float *x, size_t n, enum epilogue act);

/* y [M, N] = act(x [M, K] W^T + b) (+ residual [M, N] when not NULL, added after act). ldy = N. bf16 and int8
 * packs run on this process's tiers (kernels_bf16_tier, kernels_int8_tier). */
void linear_forward(threadpool *tp, float *y, const float *x, const packed_linear *pl, int M, enum epilogue act,
                    const float *residual);
/* The same on the given tiers (enum bf16_tier_id / int8_tier_id, which must be available here; tests, calibration). */
void linear_forward_on(threadpool *tp, float *y, const float *x, const packed_linear *pl, int M, enum epilogue act,
                       const float *residual, int bf16_tier_id, int int8_tier_id);

/* Reference (scalar, unpacked) version of the same, the spec for tests. */
void linear_ref(float *y, const float *x, const float *W, const float *b, int M, int N, int K);

/* One row's LayerNorm statistics as the portable kernel computes them: the mean, then the biased variance of the
 * deviations, in fp32 (two passes); returns 1 / sqrt(var + eps). */
static inline float layernorm_stats(const float *r, int C, float eps, float *mean_out) {
    float mean = 0.0f;
    for (int c = 0; c < C; c++) mean += r[c];
    mean /= (float)C;
    float var = 0.0f;
    for (int c = 0; c < C; c++) {
        float d = r[c] - mean;
        var += d * d;
    }
    var /= (float)C;
    *mean_out = mean;
    return 1.0f / sqrtf(var + eps);
}

/* x [M, C] in place: (x - mean) / sqrt(var + eps) * g + b, biased variance, fp32 with two passes. */
void layernorm(float *x, const float *g, const float *b, int M, int C, float eps);
/* The same with rows split across the pool (rows are independent: same result). */
void layernorm_pool(threadpool *tp, float *x, const float *g, const float *b, int M, int C, float eps);

/* Self-attention of one sequence: qkv [T, 3H] (q | k | v per row), out [T, H]; softmax(q k^T / sqrt(dh)) v
 * per head, for the first nq query rows (nq = T: all; 1: the first token's only); scratch holds 4 (T + 8) floats
 * (the AVX-512 tier scores four query rows at once).
 * Only the sequence's own T positions exist: nothing is padded. */
void attention_head(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch);
/* attention_head with an additive bias on the scaled scores that depends on the key's offset from the query:
 * score(i, j) = q_i k_j / sqrt(dh) + rel[j - i] (rel points at offset 0, valid over -(T-1) .. T-1; MPNet's relative
 * position buckets). scratch holds T + 8 + dh floats. */
void attention_head_rel(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                        const float *rel);
/* attention_head for a bf16-compute model: on the AMX tiers (bf16_tier_id), the tile head; else (or out of memory)
 * the fp32 head. */
void attention_head_bf16(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                         int bf16_tier_id);

/* ---- CPU features (dispatch.c), cached at first call: what the dispatch table is filled from. The kernels never
 * ask them per call; the rest of the library asks the tier queries below. ---- */
bool cpu_has_avx2_fma(void);
/* AVX-512 F/BW/VL with VNNI (and the OS saving zmm state); false when BERTC_NO_AVX512 or BERTC_NO_AVX2 is set. */
bool cpu_has_avx512(void);

/* AVX512-BF16 (cpuid leaf 7 subleaf 1 EAX bit 5) on top of cpu_has_avx512(); false when BERTC_NO_AVX512BF16 (or
 * BERTC_NO_AVX512 / BERTC_NO_AVX2) is set: bf16 compute then takes the portable path. */
bool cpu_has_avx512bf16(void);
/* ---- tiers (kernels/tiers.c): which kernels bf16 compute and int8 run on, chosen once per process by measuring
 * the candidates this CPU has on a GEMM of an encoder's shape (not by flag presence: vdpbf16ps is half the fp32 rate
 * on Intel cores and full rate on AMD Zen 4/5), or forced by the environment:
 *   BERTC_BF16_TIER / BERTC_INT8_TIER = a tier's name (one this CPU has; else the measured choice stands);
 *   BERTC_NO_AMX=1 leaves the tile unit out; BERTC_AMX=emulate runs both on the AMX tier's code through the tile
 *   model (amx_emu.c: slow, for tests and diagnosis on CPUs without AMX); BERTC_NO_AVX512BF16 / BERTC_NO_AVX512 /
 *   BERTC_NO_AVX2 as before. ---- */
enum bf16_tier_id { BF16_PORTABLE = 0, BF16_AVX2, BF16_AVX512BF16, BF16_AMX, BF16_AMX_EMULATED, BF16_TIERS };
enum int8_tier_id { INT8_PORTABLE = 0, INT8_AVX2, INT8_AVX512, INT8_AMX, INT8_AMX_EMULATED, INT8_TIERS };
/* AMX-TILE, AMX-BF16 and AMX-INT8 in cpuid, the tile state enabled in XCR0, and the kernel's permission for it
 * (arch_prctl ARCH_REQ_XCOMP_PERM, asked once per process; refused by kernels before 5.16); false when BERTC_NO_AMX
 * is set. */
bool cpu_has_amx(void);
/* The SIMD tier of the fp32 kernels here: "avx512", "avx2" or "portable". */
const char *simd_isa(void);
bool bf16_tier_available(int tier);
bool int8_tier_available(int tier);
int kernels_bf16_tier(void);
int kernels_int8_tier(void);
const char *bf16_tier_name(int tier);
const char *int8_tier_name(int tier);
/* True when bf16 compute runs as fp32 here: the fp32 kernels measured more than 25% faster than every bf16 tier (or
 * BERTC_BF16_TIER=fp32). Models then pack fp32 weights for --compute bf16, and training with bf16 trains in fp32. */
bool bf16_compute_fallback(void);
/* The tier bf16 compute runs on here ("amx", "avx512bf16", "avx2", "portable", "amx-emulated", or "fp32-avx512" /
 * "fp32-avx2" / "fp32-portable" for the fp32 fallback), and int8's. */
const char *bf16_tier(void);
const char *int8_tier(void);
/* What the choice measured: GFLOP/s (bf16) and GOP/s (int8) of one thread on each candidate (0: not measured), and
 * how it was made ("measured", "forced", "only"). */
typedef struct tier_choice {
    double bf16_rate[BF16_TIERS], int8_rate[INT8_TIERS], fp32_rate;
    const char *bf16_how, *int8_how;
} tier_choice;
const tier_choice *kernels_tier_choice(void);
/* Tests: run later calls on these tiers (-1: leave as is; an unavailable tier is ignored). Not thread-safe against
 * GEMMs in flight. */
void kernels_force_tiers(int bf16, int int8);

/* ---- per-thread scratch (kernels/scratch.c): n regions of the given byte sizes, 64-byte aligned, valid until
 * the same thread takes the same slot again. False on OOM. ---- */
enum { SCRATCH_ACTIVATIONS = 0, SCRATCH_INT8 = 1, SCRATCH_PACK = 2, SCRATCH_ATTN = 3, SCRATCH_SLOTS = 4 };
bool scratch_take(int slot, const size_t *sizes, void **out, int n);

#endif
