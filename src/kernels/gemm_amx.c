/*
 * gemm_amx.c — the AMX tier: y = x W^T + b on the tile unit of Sapphire Rapids and later Xeons. bf16 compute with
 * tdpbf16ps (fp32 sums) and int8 with tdpbusd (u8 x s8 summed exactly in int32, so the int8 tier's results are the
 * bits of the VNNI, AVX2 and portable tiers). Compiled natively (gemm_amx.o, -mamx-*; functions *_amx) and against
 * the tile model of amx_emu.c (gemm_amxemu.c; functions *_amxemu), see amx.h.
 *
 * Layouts. The weights need no packing of their own: the bf16 pack (linear_pack_bf16) stores panel p's k pair kk
 * for its 16 outputs in 64 bytes, wb[((p K2 + kk) 16 + j) 2 + i], which is a row of a B tile for tdpbf16ps (16
 * pairs x 16 columns = one 1 KiB tile per 16 pairs); the int8 pack stores quads the same way, a B tile row for
 * tdpbusd. K2 is padded to a multiple of 16 pairs and K4 to 64 bytes (zeros) so that every tile is whole. The
 * activations are the rows the portable tier reads (bf16, 2 K2 per row; or u8, K4 per row), loaded as A tiles
 * straight from them with the row stride, padded with zero rows to a multiple of 16.
 *
 * Blocking. Eight tiles: four C accumulators (32 rows x 2 panels), two A tiles (16 rows x 16 pairs / 64 bytes
 * each) and two B tiles (one per panel). Per step of 16 pairs (64 bytes): two A loads, two B loads, four dot
 * products. bf16 accumulators start from the bias rows (a tile load with stride 0); int8 ones from zero, and the
 * result is dequantized as the other int8 tiers do it (the same expression, so the same bits). Edge blocks use
 * fewer tiles; output rows and columns past M and N are computed and dropped.
 */
#include "tiers.h"
#include "amx.h"

#include <math.h>
#include <string.h>

#ifdef BERTC_AMX_EMULATED
#define AMX_FN(name) name##_amxemu
#else
#define AMX_FN(name) name##_amx
#endif

static void config_tiles(void) {
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    for (int t = 0; t < 8; t++) {
        cfg.rows[t] = 16;
        cfg.colsb[t] = 64;
    }
    T_CONFIG(&cfg);
}

/* C tiles 0 (rows 0-15, panel 0), 1 (rows 0-15, panel 1), 2 (rows 16-31, panel 0), 3 (rows 16-31, panel 1);
 * A tiles 4, 5; B tiles 6, 7. MT row tiles (1, 2) x NT panels (1, 2); BF16: tdpbf16ps from the bias rows (fp32 out),
 * else tdpbusd from zero (int32 out). */
#define DP(c, a, b)                                                                                                  \
    do {                                                                                                             \
        if (BF16) T_DPBF16(c, a, b);                                                                                 \
        else T_DPBUSD(c, a, b);                                                                                      \
    } while (0)
static inline __attribute__((always_inline)) void block(const int BF16, const int MT, const int NT, const char *a,
                                                         size_t lda, const char *b0, const char *b1, int steps,
                                                         const float *bias, void *cb) {
    if (BF16) {
        T_LOAD(0, bias, 0);
        if (NT == 2) T_LOAD(1, bias + 16, 0);
        if (MT == 2) T_LOAD(2, bias, 0);
        if (MT == 2 && NT == 2) T_LOAD(3, bias + 16, 0);
    } else {
        T_ZERO(0);
        if (NT == 2) T_ZERO(1);
        if (MT == 2) T_ZERO(2);
        if (MT == 2 && NT == 2) T_ZERO(3);
    }
    for (int s = 0; s < steps; s++) {
        T_LOAD(4, a + (size_t)s * 64, lda);
        if (MT == 2) T_LOAD(5, a + 16 * lda + (size_t)s * 64, lda);
        T_LOAD(6, b0 + (size_t)s * 1024, 64);
        if (NT == 2) T_LOAD(7, b1 + (size_t)s * 1024, 64);
        DP(0, 4, 6);
        if (NT == 2) DP(1, 4, 7);
        if (MT == 2) DP(2, 5, 6);
        if (MT == 2 && NT == 2) DP(3, 5, 7);
    }
    char *c = cb;
    T_STORE(0, c, 64);
    if (NT == 2) T_STORE(1, c + 1024, 64);
    if (MT == 2) T_STORE(2, c + 2048, 64);
    if (MT == 2 && NT == 2) T_STORE(3, c + 3072, 64);
}
#undef DP

/* One 32 x 32 block (or its edge) into cb: four 16 x 16 tiles of 4-byte results, tile 2 i + j at cb + 1024 (2 i + j). */
static void run_block(int bf16, int mt, int nt, const char *a, size_t lda, const char *b0, const char *b1, int steps,
                      const float *bias, void *cb) {
    if (bf16) {
        if (mt == 2 && nt == 2) block(1, 2, 2, a, lda, b0, b1, steps, bias, cb);
        else if (mt == 2) block(1, 2, 1, a, lda, b0, b1, steps, bias, cb);
        else if (nt == 2) block(1, 1, 2, a, lda, b0, b1, steps, bias, cb);
        else block(1, 1, 1, a, lda, b0, b1, steps, bias, cb);
    } else {
        if (mt == 2 && nt == 2) block(0, 2, 2, a, lda, b0, b1, steps, bias, cb);
        else if (mt == 2) block(0, 2, 1, a, lda, b0, b1, steps, bias, cb);
        else if (nt == 2) block(0, 1, 2, a, lda, b0, b1, steps, bias, cb);
        else block(0, 1, 1, a, lda, b0, b1, steps, bias, cb);
    }
}

void AMX_FN(gemm_panel_bf16)(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1) {
    const int N = pl->N, K2 = pl->K2, steps = K2 / 16;
    const size_t lda = (size_t)K2 * 4;
    _Alignas(64) float cb[4 * 256];
    config_tiles();
    for (int p = p0; p < p1; p += 2) {
        const int nt = p1 - p >= 2 ? 2 : 1;
        const char *b0 = (const char *)(pl->wb + (size_t)p * K2 * 32), *b1 = b0 + (size_t)K2 * 64;
        const float *bias = pl->bias + (size_t)p * GEMM_NR;
        for (int m = 0; m < M; m += 32) {
            const int mt = M - m > 16 ? 2 : 1;
            const char *a = (const char *)xh + (size_t)m * lda;
            run_block(1, mt, nt, a, lda, b0, b1, steps, bias, cb);
            for (int i = 0; i < mt; i++)
                for (int j = 0; j < nt; j++) {
                    int c0 = (p + j) * GEMM_NR, nc = N - c0 < GEMM_NR ? N - c0 : GEMM_NR;
                    for (int r = 0; r < 16 && m + 16 * i + r < M; r++)
                        memcpy(y + (size_t)(m + 16 * i + r) * N + c0, cb + (2 * i + j) * 256 + r * 16,
                               (size_t)nc * sizeof(float));
                }
        }
    }
    T_RELEASE();
}

void AMX_FN(gemm_panel_int8)(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0,
                             int p1) {
    const int N = pl->N, K4 = pl->K4, steps = K4 / 64;
    const size_t lda = (size_t)K4;
    _Alignas(64) int32_t cb[4 * 256];
    config_tiles();
    for (int p = p0; p < p1; p += 2) {
        const int nt = p1 - p >= 2 ? 2 : 1;
        const char *b0 = (const char *)(pl->wq + (size_t)p * K4 * GEMM_NR), *b1 = b0 + (size_t)K4 * GEMM_NR;
        for (int m = 0; m < M; m += 32) {
            const int mt = M - m > 16 ? 2 : 1;
            const char *a = (const char *)xq + (size_t)m * lda;
            run_block(0, mt, nt, a, lda, b0, b1, steps, NULL, cb);
            for (int i = 0; i < mt; i++)
                for (int j = 0; j < nt; j++) {
                    int c0 = (p + j) * GEMM_NR, nc = N - c0 < GEMM_NR ? N - c0 : GEMM_NR;
                    for (int r = 0; r < 16 && m + 16 * i + r < M; r++) {
                        int row = m + 16 * i + r;
                        const int32_t *acc = cb + (2 * i + j) * 256 + r * 16;
                        float *yr = y + (size_t)row * N + c0;
                        for (int c = 0; c < nc; c++) /* gemm_panel_int8_ref's expression */
                            yr[c] = sx[row] * pl->wscale[c0 + c] * (float)(acc[c] - 64 * pl->colsum[c0 + c]) +
                                    pl->bias[c0 + c];
                    }
                }
        }
    }
    T_RELEASE();
}

/* One tile instruction on one case, as tests/data/amx/tile-vectors.bin records them: C (M x N 4-byte elements, row
 * stride 4 N) += A (M x Kb bytes) . B (Kb / 4 rows x 4 N bytes), op 0 tdpbf16ps, 1 tdpbusd, 2 tdpbssd, 3 tdpbsud,
 * 4 tdpbuud. M, N <= 16, Kb <= 64 and a multiple of 4. */
void AMX_FN(amx_tile_op)(int op, int M, int N, int Kb, const void *A, const void *B, void *C) {
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 1;
    cfg.rows[0] = (uint8_t)M, cfg.colsb[0] = (uint16_t)(4 * N);
    cfg.rows[1] = (uint8_t)M, cfg.colsb[1] = (uint16_t)Kb;
    cfg.rows[2] = (uint8_t)(Kb / 4), cfg.colsb[2] = (uint16_t)(4 * N);
    T_CONFIG(&cfg);
    T_LOAD(0, C, 4 * N);
    T_LOAD(1, A, Kb);
    T_LOAD(2, B, 4 * N);
    switch (op) {
    case 0: T_DPBF16(0, 1, 2); break;
    case 1: T_DPBUSD(0, 1, 2); break;
    case 2: T_DPBSSD(0, 1, 2); break;
    case 3: T_DPBSUD(0, 1, 2); break;
    default: T_DPBUUD(0, 1, 2); break;
    }
    T_STORE(0, C, 4 * N);
    T_RELEASE();
}

/* ---- bf16 attention on tiles: one head of one sequence ----
 * As torch's bf16 autocast computes it: S = bf16(q) bf16(k)^T with fp32 sums, scaled by 1 / sqrt(dh); softmax in
 * fp32; out = bf16(p) bf16(v) with fp32 sums. Layouts, per call, in this thread's scratch:
 *   Qb [16-row blocks of queries][dq] bf16 (dq = dh rounded up to 32: whole 16-pair steps, zero padded);
 *   Kp [dq / 2 pairs][Tk] k pairs of each key (Tk = T rounded up to 32), a B tile per 16 keys and 16 pairs;
 *   S  [queries][Tk] fp32 scores; P [queries][Tk] bf16 probabilities (zero past T);
 *   Vp [Tk / 2 key pairs][dv] pairs of keys for each of the dv = dh rounded up to 16 output columns.
 * Up to four C tiles at a time (tile_group: 4 key blocks of S, or 4 column blocks of out, the latter through cb,
 * 16 rows x 64 columns). */
/* nc (1..4) C tiles side by side: C[c] = A . B[c] over steps of 16 pairs. A: 16 rows from a (row stride lda bytes),
 * 64 bytes per step; B[c]: 16 pair-rows from b + 16 c words (row stride ldb bytes), the next step 16 rows further;
 * C[c] stored as 16 rows of 16 floats at d + 16 c (row stride ldd bytes). */
static void tile_group(int nc, const char *a, size_t lda, int steps, const uint32_t *b, size_t ldb, float *d,
                       size_t ldd) {
    T_ZERO(0);
    if (nc > 1) T_ZERO(1);
    if (nc > 2) T_ZERO(2);
    if (nc > 3) T_ZERO(3);
    for (int st = 0; st < steps; st++) {
        const uint32_t *bs = (const uint32_t *)((const char *)b + (size_t)st * 16 * ldb);
        T_LOAD(4, a + (size_t)st * 64, lda);
        T_LOAD(6, bs, ldb);
        T_DPBF16(0, 4, 6);
        if (nc > 1) {
            T_LOAD(7, bs + 16, ldb);
            T_DPBF16(1, 4, 7);
        }
        if (nc > 2) {
            T_LOAD(6, bs + 32, ldb);
            T_DPBF16(2, 4, 6);
        }
        if (nc > 3) {
            T_LOAD(7, bs + 48, ldb);
            T_DPBF16(3, 4, 7);
        }
    }
    T_STORE(0, d, ldd);
    if (nc > 1) T_STORE(1, d + 16, ldd);
    if (nc > 2) T_STORE(2, d + 32, ldd);
    if (nc > 3) T_STORE(3, d + 48, ldd);
}

bool AMX_FN(attention_head_bf16)(float *out, const float *qkv, int T, int nq, int H, int head, int dh) {
    const int ld = 3 * H, Tq = (nq + 15) / 16 * 16, Tk = (T + 31) / 32 * 32, dq = (dh + 31) / 32 * 32,
              dv = (dh + 15) / 16 * 16;
    size_t sizes[6] = {(size_t)Tq * dq * 2, (size_t)dq / 2 * Tk * 4, (size_t)Tq * Tk * 4, (size_t)Tq * Tk * 2,
                       (size_t)Tk / 2 * dv * 4, 16 * 64 * sizeof(float)};
    void *part[6];
    if (!scratch_take(SCRATCH_ATTN, sizes, part, 6)) return false;
    uint16_t *Qb = part[0], *P = part[3];
    uint32_t *Kp = part[1], *Vp = part[4];
    float *S = part[2], *cb = part[5];
    const float *q = qkv + (size_t)head * dh, *k = qkv + H + (size_t)head * dh, *v = qkv + 2 * H + (size_t)head * dh;
    for (int i = 0; i < Tq; i++)
        for (int d = 0; d < dq; d++)
            Qb[(size_t)i * dq + d] = i < nq && d < dh ? weight_from_float(q[(size_t)i * ld + d], WEIGHT_BF16) : 0;
    for (int kk = 0; kk < dq / 2; kk++)
        for (int j = 0; j < Tk; j++) {
            uint32_t pr = 0;
            if (j < T && 2 * kk < dh) {
                pr = weight_from_float(k[(size_t)j * ld + 2 * kk], WEIGHT_BF16);
                if (2 * kk + 1 < dh) pr |= (uint32_t)weight_from_float(k[(size_t)j * ld + 2 * kk + 1], WEIGHT_BF16) << 16;
            }
            Kp[(size_t)kk * Tk + j] = pr;
        }
    for (int jp = 0; jp < Tk / 2; jp++)
        for (int d = 0; d < dv; d++) {
            uint32_t pr = 0;
            if (d < dh) {
                if (2 * jp < T) pr = weight_from_float(v[(size_t)(2 * jp) * ld + d], WEIGHT_BF16);
                if (2 * jp + 1 < T) pr |= (uint32_t)weight_from_float(v[(size_t)(2 * jp + 1) * ld + d], WEIGHT_BF16) << 16;
            }
            Vp[(size_t)jp * dv + d] = pr;
        }
    config_tiles();
    /* S = Q K^T: per block of 16 queries, key blocks four at a time */
    const size_t ldq = (size_t)dq * 2, ldk = (size_t)Tk * 4;
    for (int qb = 0; qb < Tq; qb += 16)
        for (int kb = 0; kb < Tk; kb += 64)
            tile_group((Tk - kb) / 16 < 4 ? (Tk - kb) / 16 : 4, (const char *)(Qb + (size_t)qb * dq), ldq, dq / 32,
                       Kp + kb, ldk, S + (size_t)qb * Tk + kb, ldk);
    /* softmax of each query row in fp32 (max-subtracted, as the fp32 heads), rounded to bf16 for P V */
    const float scale = 1.0f / sqrtf((float)dh);
    for (int i = 0; i < Tq; i++) {
        float *sr = S + (size_t)i * Tk;
        uint16_t *pr = P + (size_t)i * Tk;
        if (i >= nq) {
            memset(pr, 0, (size_t)Tk * 2);
            continue;
        }
        float mx = -INFINITY, sum = 0.0f;
        for (int j = 0; j < T; j++) {
            sr[j] *= scale;
            if (sr[j] > mx) mx = sr[j];
        }
        for (int j = 0; j < T; j++) {
            sr[j] = expf(sr[j] - mx);
            sum += sr[j];
        }
        float inv = 1.0f / sum;
        for (int j = 0; j < Tk; j++) pr[j] = j < T ? weight_from_float(sr[j] * inv, WEIGHT_BF16) : 0;
    }
    /* out = P V: per block of 16 queries, output columns four blocks of 16 at a time */
    const size_t ldp = (size_t)Tk * 2, ldv = (size_t)dv * 4;
    for (int qb = 0; qb < Tq; qb += 16)
        for (int db = 0; db < dv; db += 64) {
            int nc = (dv - db) / 16 < 4 ? (dv - db) / 16 : 4;
            tile_group(nc, (const char *)(P + (size_t)qb * Tk), ldp, Tk / 32, Vp + db, ldv, cb, 64 * 4);
            for (int r = 0; r < 16 && qb + r < nq; r++)
                for (int c = 0; c < nc * 16 && db + c < dh; c++)
                    out[(size_t)(qb + r) * H + (size_t)head * dh + db + c] = cb[r * 64 + c];
        }
    T_RELEASE();
    return true;
}
