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
#include "kernels.h"
#include "amx.h"

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
