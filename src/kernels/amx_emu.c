/*
 * amx_emu.c — a C model of the AMX tile instructions the AMX tier uses (see amx.h for the rules), so that the tier's
 * code runs, and is tested, on every CPU. One tile state per thread, as the hardware keeps one per thread.
 */
#include "amx.h"

#include <math.h>
#include <string.h>

typedef struct tile_state {
    int configured;
    uint8_t rows[8];
    uint16_t colsb[8];
    uint8_t data[8][16][64];
    unsigned long faults;
} tile_state;

static _Thread_local tile_state S;

unsigned long amx_emu_faults(void) { return S.faults; }

void amx_emu_release(void) {
    S.configured = 0;
    memset(S.rows, 0, sizeof S.rows);
    memset(S.colsb, 0, sizeof S.colsb);
    memset(S.data, 0, sizeof S.data);
}

void amx_emu_loadconfig(const amx_tilecfg *cfg) {
    if (cfg->palette == 0) {
        amx_emu_release();
        return;
    }
    int bad = cfg->palette != 1;
    for (int i = 0; i < 14; i++) bad |= cfg->reserved[i] != 0;
    for (int t = 0; t < 16; t++) {
        if (t >= 8) bad |= cfg->rows[t] != 0 || cfg->colsb[t] != 0;
        else bad |= cfg->rows[t] > 16 || cfg->colsb[t] > 64 || (cfg->rows[t] == 0) != (cfg->colsb[t] == 0);
    }
    if (bad) {
        S.faults++;
        return;
    }
    amx_emu_release();
    S.configured = 1;
    for (int t = 0; t < 8; t++) {
        S.rows[t] = cfg->rows[t];
        S.colsb[t] = cfg->colsb[t];
    }
}

static int usable(int t) { return S.configured && t >= 0 && t < 8 && S.rows[t] != 0; }

void amx_emu_loadd(int t, const void *base, long stride) {
    if (!usable(t)) {
        S.faults++;
        return;
    }
    memset(S.data[t], 0, sizeof S.data[t]);
    for (int r = 0; r < S.rows[t]; r++) memcpy(S.data[t][r], (const char *)base + (long)r * stride, S.colsb[t]);
}

void amx_emu_stored(int t, void *base, long stride) {
    if (!usable(t)) {
        S.faults++;
        return;
    }
    for (int r = 0; r < S.rows[t]; r++) memcpy((char *)base + (long)r * stride, S.data[t][r], S.colsb[t]);
}

void amx_emu_zero(int t) {
    if (!usable(t)) {
        S.faults++;
        return;
    }
    memset(S.data[t], 0, sizeof S.data[t]);
}

/* The shape rules of the dot-product instructions (#UD otherwise): distinct configured tiles, A's rows = C's rows,
 * B's row bytes = C's row bytes, A's row bytes = 4 x B's rows, whole 4-byte elements. */
static int shapes_fit(int c, int a, int b) {
    if (!usable(c) || !usable(a) || !usable(b) || c == a || c == b || a == b) return 0;
    return S.rows[a] == S.rows[c] && S.colsb[b] == S.colsb[c] && S.colsb[a] == 4 * S.rows[b] && S.colsb[c] % 4 == 0;
}

static float f32_of(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static uint32_t bits_of(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

/* bf16 to fp32, denormals read as (signed) zero */
static float bf16_daz(const uint8_t *p) {
    uint32_t h = (uint32_t)p[0] | (uint32_t)p[1] << 8;
    if (((h >> 7) & 0xFF) == 0) h &= 0x8000;
    return f32_of(h << 16);
}

static float flush(float f) {
    uint32_t u = bits_of(f);
    return ((u >> 23) & 0xFF) == 0 ? f32_of(u & 0x80000000u) : f;
}

void amx_emu_dpbf16ps(int c, int a, int b) {
    if (!shapes_fit(c, a, b)) {
        S.faults++;
        return;
    }
    int M = S.rows[c], N = S.colsb[c] / 4, K = S.colsb[a] / 4;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            float even = 0.0f, odd = 0.0f;
            for (int k = 0; k < K; k++) {
                const uint8_t *pa = S.data[a][m] + 4 * k, *pb = S.data[b][k] + 4 * n;
                even = flush(fmaf(bf16_daz(pa), bf16_daz(pb), even));
                odd = flush(fmaf(bf16_daz(pa + 2), bf16_daz(pb + 2), odd));
            }
            uint8_t *pc = S.data[c][m] + 4 * n;
            uint32_t cu;
            memcpy(&cu, pc, 4);
            float r = flush(f32_of(cu) + flush(even + odd));
            cu = bits_of(r);
            memcpy(pc, &cu, 4);
        }
}

/* int8 quads: sa / sb say whether A's / B's bytes are signed */
static void dp_int8(int c, int a, int b, int sa, int sb) {
    if (!shapes_fit(c, a, b)) {
        S.faults++;
        return;
    }
    int M = S.rows[c], N = S.colsb[c] / 4, K = S.colsb[a] / 4;
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            uint8_t *pc = S.data[c][m] + 4 * n;
            uint32_t acc;
            memcpy(&acc, pc, 4);
            for (int k = 0; k < K; k++)
                for (int j = 0; j < 4; j++) {
                    uint8_t xa = S.data[a][m][4 * k + j], xb = S.data[b][k][4 * n + j];
                    int32_t va = sa ? (int32_t)(int8_t)xa : (int32_t)xa, vb = sb ? (int32_t)(int8_t)xb : (int32_t)xb;
                    acc += (uint32_t)(va * vb); /* |va * vb| <= 2^14: no overflow; the sum wraps as the hardware's */
                }
            memcpy(pc, &acc, 4);
        }
}

void amx_emu_dpbusd(int c, int a, int b) { dp_int8(c, a, b, 0, 1); }
void amx_emu_dpbssd(int c, int a, int b) { dp_int8(c, a, b, 1, 1); }
void amx_emu_dpbsud(int c, int a, int b) { dp_int8(c, a, b, 1, 0); }
void amx_emu_dpbuud(int c, int a, int b) { dp_int8(c, a, b, 0, 0); }
