/*
 * amx.h — the tile instructions of the AMX tier (gemm_amx.c), and a C model of them (amx_emu.c).
 *
 * gemm_amx.c is compiled twice: as gemm_amx.o with -mamx-tile -mamx-bf16 -mamx-int8, where the T_* macros below are
 * the CPU's instructions, and as gemm_amxemu.o (gemm_amxemu.c defines BERTC_AMX_EMULATED), where they call the
 * model. The emulated tier is the same packing, blocking, edge tiles and K steps running on any CPU: the suite tests
 * it against the portable reference everywhere, and the model itself against tile results recorded on AMX hardware
 * (tests/data/amx/tile-vectors.bin).
 *
 * The model, instruction by instruction (Intel SDM vol. 2, "AMX"; the bf16 rule found from the recorded results):
 *  - ldtilecfg: palette 1, 8 tiles of rows <= 16 and colsb <= 64 bytes; reserved bytes and tiles 8..15 zero; zeroes
 *    every tile. Palette 0 releases the state. Anything else is what the CPU would fault on (#GP): counted, ignored.
 *  - tileloadd / tilestored: rows x colsb bytes at base + r * stride (any stride, 0 included); a load zeroes the
 *    bytes past colsb and the rows past rows.
 *  - tdpbusd (and the bssd / bsud / buud forms): C[m][n] += sum over the quads k and bytes j of A[m][4k+j] * B[k][4n+j]
 *    (A unsigned, B signed for busd), wrapping in int32: exact, bit for bit the hardware's.
 *  - tdpbf16ps: bf16 inputs with denormals read as zero; for each C[m][n] two fp32 chains, one over the even elements
 *    of the pairs and one over the odd, each from +0 with one fused multiply-add per pair (a product is never rounded
 *    nor overflows by itself); then C + (even + odd). Results that would be denormal are flushed to zero. This equals
 *    the hardware bit for bit on all 11,847 recorded elements (NaNs compared as NaNs: which NaN comes out is not
 *    modelled).
 * Misuse the CPU would fault on (no configuration, shapes that do not fit, the same tile twice) is counted in
 * amx_emu_faults() and leaves the tiles unchanged.
 */
#ifndef BERTC_AMX_H
#define BERTC_AMX_H

#include <stddef.h>
#include <stdint.h>

typedef struct amx_tilecfg {
    uint8_t palette, start_row, reserved[14];
    uint16_t colsb[16];
    uint8_t rows[16];
} amx_tilecfg; /* the 64-byte operand of ldtilecfg */

void amx_emu_loadconfig(const amx_tilecfg *cfg);
void amx_emu_release(void);
void amx_emu_loadd(int t, const void *base, long stride);
void amx_emu_stored(int t, void *base, long stride);
void amx_emu_zero(int t);
void amx_emu_dpbf16ps(int c, int a, int b);
void amx_emu_dpbusd(int c, int a, int b);
void amx_emu_dpbssd(int c, int a, int b);
void amx_emu_dpbsud(int c, int a, int b);
void amx_emu_dpbuud(int c, int a, int b);
/* Faults the hardware would have raised, in this thread, since it started. */
unsigned long amx_emu_faults(void);

#ifdef BERTC_AMX_EMULATED
#define T_CONFIG(c) amx_emu_loadconfig(c)
#define T_RELEASE() amx_emu_release()
#define T_LOAD(t, p, s) amx_emu_loadd(t, p, (long)(s))
#define T_STORE(t, p, s) amx_emu_stored(t, p, (long)(s))
#define T_ZERO(t) amx_emu_zero(t)
#define T_DPBF16(c, a, b) amx_emu_dpbf16ps(c, a, b)
#define T_DPBUSD(c, a, b) amx_emu_dpbusd(c, a, b)
#define T_DPBSSD(c, a, b) amx_emu_dpbssd(c, a, b)
#define T_DPBSUD(c, a, b) amx_emu_dpbsud(c, a, b)
#define T_DPBUUD(c, a, b) amx_emu_dpbuud(c, a, b)
#else
#include <immintrin.h>
#define T_CONFIG(c) _tile_loadconfig(c)
#define T_RELEASE() _tile_release()
#define T_LOAD(t, p, s) _tile_loadd(t, p, (long)(s))
#define T_STORE(t, p, s) _tile_stored(t, p, (long)(s))
#define T_ZERO(t) _tile_zero(t)
#define T_DPBF16(c, a, b) _tile_dpbf16ps(c, a, b)
#define T_DPBUSD(c, a, b) _tile_dpbusd(c, a, b)
#define T_DPBSSD(c, a, b) _tile_dpbssd(c, a, b)
#define T_DPBSUD(c, a, b) _tile_dpbsud(c, a, b)
#define T_DPBUUD(c, a, b) _tile_dpbuud(c, a, b)
#endif

#endif
