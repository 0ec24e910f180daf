/*
 * tiers.h — private to src/kernels (and the kernel tests): the dispatch table and every tier's entry points.
 *
 * Each op has a portable `*_ref` (the spec, and the table's fallback by name) and vector tiers beside it in files
 * named by ISA suffix (`*_avx2.c`, `*_avx512.c`, `*_avx512bf16.c`, `*_amx.c`: the Makefile compiles each suffix with
 * its flags). dispatch.c fills the table once per process from the CPU's features; the library's calls (kernels.h)
 * go through it, one pointer per GEMM, per attention head, per LayerNorm, per buffer: never per element. The bf16 and
 * int8 GEMMs keep every tier in the table; the one a call runs on is tiers.c's measured (or forced) choice, an index.
 */
#ifndef BERTC_KERNELS_TIERS_H
#define BERTC_KERNELS_TIERS_H

#include "kernels.h"

#include <string.h>

/* Epilogues the AVX-512 panels apply in registers before the last store: the same bits as the separate pass. */
typedef struct gemm_epilogue {
    bool gelu;             /* exact-erf GELU (gelu_avx2's function) */
    const float *residual; /* then + residual [M, N] (NULL: none) */
} gemm_epilogue;

/* The AVX-512 kernels read x packed in blocks of 12 rows. */
#define GEMM_AVX512_MR 12

/* ---- the dispatch table ---- */

/* How the bf16 compute tiers read x, rounded to bf16 once per call: blocks of 12 rows of k pairs (uint32), rows of
 * 2 K2 floats holding bf16 values, or rows of 2 K2 bf16. */
enum bf16_x_layout { BF16_X_HALVES = 0, BF16_X_FLOATS, BF16_X_BLOCKS };

/* One GEMM tier: panels p0..p1 of y = x W^T + b for tasks of the pool. */
typedef struct gemm_tier {
    /* fp32 weights (fp32, fp16 or bf16 storage): x as given, or first packed by pack_f32 (NULL: not packed) */
    void (*panel_f32)(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *epi);
    void (*pack_f32)(float *xp, const float *x, int M, int K, int b0, int b1);
    /* bf16 compute: x rounded to bf16 and laid out as bf16_x says (rows b0..b1, or blocks of 12 rows) */
    void (*panel_bf16)(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *epi);
    int bf16_x; /* enum bf16_x_layout */
    /* x [M, K] rounded into that layout, units u0..u1 (rows, or blocks of 12 rows); units past M are zeros */
    void (*pack_bf16)(void *xb, const float *x, int M, int K, int K2, int u0, int u1);
    /* int8 weights: x quantized to u8 rows (zero point 64) with their scales */
    void (*panel_int8)(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1,
                       const gemm_epilogue *epi);
    /* bf16 attention of one head on this tier (NULL, or false returned: the fp32 head) */
    bool (*attention_bf16)(float *out, const float *qkv, int T, int nq, int H, int head, int dh);
    bool pairs; /* takes panels in pairs: tasks get whole pairs */
    bool fuses; /* applies gemm_epilogue (GELU, residual) in registers; else the separate pass runs */
    bool tiles; /* reads whole AMX tiles of 16 rows: x padded with zero rows */
} gemm_tier;

typedef void (*attention_fn)(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch);

typedef struct kernel_table {
    const char *simd; /* the SIMD tier of the fp32 kernels: "avx512", "avx2", "portable" */
    /* fp32 GEMM: the widest tier, and the one reading x as given (the driver's fallback when the buffer for packed x
     * cannot be had) */
    gemm_tier f32, f32_unpacked;
    /* bf16 compute and int8, every tier (enum bf16_tier_id / int8_tier_id; only available ones are called) */
    gemm_tier bf16[BF16_TIERS], int8[INT8_TIERS];
    /* the GEMM epilogue's separate pass: exact-erf GELU (+ residual), residual add */
    void (*gelu)(float *v, int n, const float *residual);
    void (*gelu_grad)(float *dy, const float *x, int n);
    void (*add)(float *v, const float *r, int n);
    attention_fn attention;      /* any head size */
    attention_fn attention_dh16; /* head sizes that are multiples of 16 */
    /* attention_head_rel: a bias by the key's offset from the query added to the scaled scores (any head size) */
    void (*attention_rel)(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                          const float *rel);
    void (*layernorm)(float *x, const float *g, const float *b, int M, int C, float eps);
    void (*quantize_rows)(uint8_t *xq, float *sx, const float *x, int M, int K, int K4);
    void (*widen_half)(float *dst, const uint8_t *src, size_t n, int wtype);
    void (*bf16_row)(uint16_t *dst, const float *src, int n);
    void (*bf16_pair_rows)(uint32_t *dst, const float *r0, const float *r1, int n);
} kernel_table;

/* The table for this process, filled on first call (thread-safe). */
const kernel_table *kernel_ops(void);

static inline bool bf16_tier_is_amx(int t) { return t == BF16_AMX || t == BF16_AMX_EMULATED; }
static inline bool int8_tier_is_amx(int t) { return t == INT8_AMX || t == INT8_AMX_EMULATED; }

/* weight_to_float and weight_from_float inline, for the kernels' inner loops (the same functions) */
static inline float half_to_float(uint16_t h, int wtype) {
    uint32_t bits;
    if (wtype == WEIGHT_BF16) {
        bits = (uint32_t)h << 16;
    } else {
        uint32_t sign = (uint32_t)(h >> 15) << 31, exp = (h >> 10) & 0x1F, man = h & 0x3FF;
        if (exp == 0) {
            if (man == 0) bits = sign;
            else { /* subnormal: normalize */
                exp = 127 - 15 + 1;
                while (!(man & 0x400)) {
                    man <<= 1;
                    exp--;
                }
                bits = sign | (exp << 23) | ((man & 0x3FF) << 13);
            }
        } else if (exp == 31) bits = sign | 0x7F800000u | (man << 13);
        else bits = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

static inline uint16_t float_to_half(float f, int wtype) {
    uint32_t x;
    memcpy(&x, &f, 4);
    if (wtype == WEIGHT_BF16) {
        if ((x & 0x7FFFFFFFu) > 0x7F800000u) return (uint16_t)((x >> 16) | 0x40); /* NaN stays a (quiet) NaN */
        return (uint16_t)((x + 0x7FFFu + ((x >> 16) & 1)) >> 16);
    }
    uint16_t sign = (uint16_t)((x >> 16) & 0x8000);
    uint32_t ax = x & 0x7FFFFFFFu;
    if (ax > 0x7F800000u) return sign | 0x7E00;       /* NaN */
    if (ax >= 0x477FF000u) return sign | 0x7C00;      /* rounds to or beyond 65520: infinity */
    if (ax < 0x38800000u) {                           /* below 2^-14: subnormal half (or zero) */
        if (ax < 0x33000000u) return sign;            /* below half the smallest subnormal */
        uint32_t e = ax >> 23, m = (ax & 0x7FFFFF) | 0x800000, shift = 126 - e; /* value = m * 2^(e - 150) */
        uint32_t q = m >> (shift + 0), rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        /* units of 2^-24: m * 2^(e-150) / 2^-24 = m >> (126 - e) */
        if (rem > half || (rem == half && (q & 1))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t r = ax + 0xFFFu + ((ax >> 13) & 1); /* round mantissa to 10 bits, nearest even */
    return sign | (uint16_t)(((r >> 13) - ((127 - 15) << 10)) & 0x7FFF);
}

/* ---- portable tiers (the spec of each op; the table's fallback) ---- */

/* fp32 panels p0..p1 (epi ignored: the separate pass applies it). Each output is one fp32 sum in k order from the
 * bias; fp16 / bf16 storage is widened exactly. */
void gemm_panel_ref(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1);
/* bf16 compute: xh [M, 2 K2] is x rounded by weight_from_float (bf16), zero-padded; y = bias + the pairs' products
 * summed in fp32, in k order, each pair's odd element first. */
void gemm_panel_bf16_ref(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1);
/* int8 panels of y = sx * wscale * (xq . wq - 64 colsum) + bias, exact int32 sums. */
void gemm_panel_int8_ref(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1);
/* Rows of x to u8 with zero point 64: q = clamp(round(x / s), -63, 63) + 64, s = max|x| / 63 per row. */
void quantize_rows_ref(uint8_t *xq, float *sx, const float *x, int M, int K, int K4);
void attention_head_ref(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch);
void attention_head_rel_ref(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                            const float *rel);
void layernorm_ref(float *x, const float *g, const float *b, int M, int C, float eps);
/* v = gelu(v) (+ residual) with erff; dy *= gelu'(x); v += r */
void gelu_ref(float *v, int n, const float *residual);
void gelu_grad_ref(float *dy, const float *x, int n);
void add_ref(float *v, const float *r, int n);
/* An epilogue's function on one value (the GEMM's separate pass, activation_forward) */
static inline float act_ref(float v, enum epilogue act) {
    switch (act) {
    case EPI_GELU: return 0.5f * v * (1.0f + erff(v * 0.70710678118654752f));
    case EPI_GELU_TANH: return 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)));
    case EPI_RELU: return v > 0.0f ? v : 0.0f;
    case EPI_TANH: return tanhf(v);
    case EPI_NONE: break;
    }
    return v;
}
void widen_half_ref(float *dst, const uint8_t *src, size_t n, int wtype);
void bf16_row_ref(uint16_t *dst, const float *src, int n);
void bf16_pair_rows_ref(uint32_t *dst, const float *r0, const float *r1, int n);

/* ---- AVX2 + FMA (+ F16C): *_avx2.c, only called when cpu_has_avx2_fma() ---- */
void gemm_panel_avx2(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1);
void attention_head_avx2(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch);
void attention_head_rel_avx2(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch,
                             const float *rel);
/* v = gelu(v) (+ residual), exact-erf GELU with a vectorized erf (absolute error < 1.5e-7). */
void gelu_avx2(float *v, int n, const float *residual);
/* dy *= gelu'(x) (the derivative of gelu_avx2's function), for the backward pass. */
void gelu_grad_avx2(float *dy, const float *x, int n);
/* n little-endian fp16 / bf16 values widened to fp32 (F16C / shifts: exact, as weight_to_float; NaNs come back
 * quiet) */
void widen_half_avx2(float *dst, const uint8_t *src, size_t n, int wtype);
/* v += r */
void add_avx2(float *v, const float *r, int n);
void layernorm_avx2(float *x, const float *g, const float *b, int M, int C, float eps);
/* f rounded to fp16 by the F16C instruction (tests compare the portable conversion against it). */
uint16_t cpu_f16c_round(float f);
/* Rows of x to u8 with zero point 64 (7 bits), bit-identical to quantize_rows_ref. */
void quantize_rows_avx2(uint8_t *xq, float *sx, const float *x, int M, int K, int K4);
/* int8 panels p0..p1 of y = dequant(xq . wq) + bias; xq [M, K4] u8 with zero point 64, sx per row. */
void gemm_panel_int8_avx2(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1);
/* bf16 compute: xf [M, 2 K2] holds x rounded to bf16 values (as floats, zero-padded); each output is
 * gemm_panel_bf16_ref's sum, with fused multiply-adds whose products are exact: the same bits. */
void gemm_panel_bf16_avx2(float *y, const float *xf, const packed_linear *pl, int M, int p0, int p1);
/* One row of K floats rounded to bf16 values (weight_from_float's rounding) into Kp floats, zeros past K; x NULL:
 * all zeros. */
void bf16_round_rows_avx2(float *dst, const float *x, int K, int Kp);

/* ---- AVX-512 (F/BW/VL/VNNI): *_avx512.c, only called when cpu_has_avx512(); the same results to the bit ----
 * The fp32 panels read x packed by pack_rows_avx512: blocks of 12 rows, k-major (row 12 b + i, column k at
 * xp[(12 b) K + 12 k + i]; missing rows of the last block are zeros); b0..b1 are the blocks to pack. epi (may be NULL)
 * is applied in registers before the last store. */
void pack_rows_avx512(float *xp, const float *x, int M, int K, int b0, int b1);
void gemm_panel_avx512(float *y, const float *xp, const packed_linear *pl, int M, int p0, int p1,
                       const gemm_epilogue *epi);
void gemm_panel_int8_avx512(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0,
                            int p1, const gemm_epilogue *epi);
/* Attention for head sizes that are multiples of 16 (the same function, other summation order). */
void attention_head_avx512(float *out, const float *qkv, int T, int nq, int H, int head, int dh, float *scratch);
/* gelu_avx2's function on 16 lanes (the same bits). */
void gelu_avx512(float *v, int n, const float *residual);

/* ---- AVX512-BF16: *_avx512bf16.c, only called when cpu_has_avx512bf16(). x is first rounded to bf16
 * (vcvtneps2bf16: nearest even; denormal inputs read as zero) and packed in blocks of 12 rows, k pairs major (row
 * 12 b + i, pair kk at xp[(12 b) K2 + 12 kk + i], a uint32 holding bf16 x[2kk] low, x[2kk+1] high; missing rows, the
 * odd K's last half and the pairs from (K + 1) / 2 to K2 are zeros); b0..b1 are the blocks to pack. ---- */
void pack_rows_bf16_avx512(uint32_t *xp, const float *x, int M, int K, int K2, int b0, int b1);
void bf16_pair_rows_avx512(uint32_t *dst, const float *r0, const float *r1, int n);
void bf16_row_avx512(uint16_t *dst, const float *src, int n);
/* Panels p0..p1 of y = x W^T + b with vdpbf16ps (fp32 sums), epi applied as gemm_panel_avx512 does. */
void gemm_panel_bf16_avx512(float *y, const uint32_t *xp, const packed_linear *pl, int M, int p0, int p1,
                            const gemm_epilogue *epi);

/* ---- AMX (gemm_amx.c), natively (*_amx: only when cpu_has_amx()) and through the tile model (*_amxemu,
 * gemm_amxemu.c + amx_emu.c: any CPU): xh [round16(M), 2 K2] bf16 rows, xq [round16(M), K4] u8 rows (zero point 64),
 * the rows past M padding. ---- */
void gemm_panel_bf16_amx(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1);
void gemm_panel_bf16_amxemu(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1);
void gemm_panel_int8_amx(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1);
void gemm_panel_int8_amxemu(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0,
                            int p1);
/* bf16 attention of one head of one sequence on the AMX tier (attention_head's arguments, no scratch: it takes its
 * own): S = bf16(q) bf16(k)^T in fp32, scaled, fp32 softmax, out = bf16(p) bf16(v) in fp32, as torch's bf16 autocast.
 * False (nothing written) when its scratch cannot be had. */
bool attention_head_bf16_amx(float *out, const float *qkv, int T, int nq, int H, int head, int dh);
bool attention_head_bf16_amxemu(float *out, const float *qkv, int T, int nq, int H, int head, int dh);
/* One tile instruction replayed on a recorded case (the tests' check of the model against the hardware). */
void amx_tile_op_amx(int op, int M, int N, int Kb, const void *A, const void *B, void *C);
void amx_tile_op_amxemu(int op, int M, int N, int Kb, const void *A, const void *B, void *C);

#endif
