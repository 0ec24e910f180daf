/*
 * test_amx.c — the AMX tier on every machine. The tile model (src/kernels/amx_emu.c) against tile results recorded
 * on AMX hardware, bit for bit; the model's fault rules; then the tier's GEMMs (packing, 32 x 32 blocking, edge tiles
 * of rows and panels, K steps and padding) through the model — and natively too where the CPU has AMX — against:
 *  - bf16: a scalar statement of the arithmetic the tier performs (from the bias, per step of 16 pairs, C + (even
 *    chain + odd chain), each chain fused multiply-adds from +0), bit for bit; and the exact sum within the
 *    recursive-summation bound of an fp32 sum;
 *  - int8: the portable tier, bit for bit (u8 x s8 products summed exactly in int32 by every tier).
 * Then linear_forward on the tier (threads, epilogues), and whole models through the CLI under BERTC_AMX=emulate.
 */
#include "test.h"

#include "kernels/amx.h"
#include "kernels/tiers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 777;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFFFF) / 8388608.0f - 1.0f;
}

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static bool same_float(float a, float b) { return (isnan(a) && isnan(b)) || bits(a) == bits(b); }

typedef void (*tile_op_fn)(int op, int M, int N, int Kb, const void *A, const void *B, void *C);

static void t_hardware_vectors(void) {
    FILE *f = fopen(TD "amx/tile-vectors.bin", "rb");
    CHECK(f, "no " TD "amx/tile-vectors.bin");
    if (!f) return;
    char magic[8];
    CHECK(fread(magic, 1, 8, f) == 8 && !memcmp(magic, "AMXVEC1", 8), "bad magic");
    static uint8_t A[1024], B[1024], C0[1024], R[1024], C[1024];
    long elems[5] = {0}, equal[2][5] = {{0}}, cases = 0;
    unsigned long faults0 = amx_emu_faults();
    tile_op_fn fns[2] = {amx_tile_op_amxemu, cpu_has_amx() ? amx_tile_op_amx : NULL};
    uint8_t h[4];
    while (fread(h, 1, 4, f) == 4) {
        int op = h[0], M = h[1], N = h[2], Kb = h[3];
        size_t na = (size_t)M * Kb, nb = (size_t)(Kb / 4) * N * 4, nc = (size_t)M * N * 4;
        CHECK(op < 5 && M >= 1 && M <= 16 && N >= 1 && N <= 16 && Kb >= 4 && Kb <= 64 && Kb % 4 == 0, "case header");
        if (op >= 5 || M > 16 || N > 16 || Kb > 64 || fread(A, 1, na, f) != na || fread(B, 1, nb, f) != nb ||
            fread(C0, 1, nc, f) != nc || fread(R, 1, nc, f) != nc)
            break;
        cases++;
        elems[op] += M * N;
        for (int w = 0; w < 2; w++) {
            if (!fns[w]) continue;
            memcpy(C, C0, nc);
            fns[w](op, M, N, Kb, A, B, C);
            for (int i = 0; i < M * N; i++) {
                uint32_t got, want;
                memcpy(&got, C + 4 * i, 4);
                memcpy(&want, R + 4 * i, 4);
                float fg, fw;
                memcpy(&fg, &got, 4);
                memcpy(&fw, &want, 4);
                bool ok = op == 0 ? same_float(fg, fw) : got == want;
                equal[w][op] += ok;
                if (!ok && equal[w][op] + 5 > elems[op])
                    CHECK(0, "%s op %d case %ld element %d: %08x, hardware %08x", w ? "native" : "model", op, cases, i, got, want);
            }
        }
    }
    fclose(f);
    CHECK(cases == 300, "%ld cases read", cases);
    CHECK(amx_emu_faults() == faults0, "the model faulted on %lu recorded cases", amx_emu_faults() - faults0);
    static const char *const names[5] = {"tdpbf16ps", "tdpbusd", "tdpbssd", "tdpbsud", "tdpbuud"};
    for (int op = 0; op < 5; op++) {
        CHECK(equal[0][op] == elems[op], "%s: model equals hardware on %ld of %ld", names[op], equal[0][op], elems[op]);
        printf("  %-9s model = hardware on %ld of %ld elements%s\n", names[op], equal[0][op], elems[op],
               fns[1] ? (equal[1][op] == elems[op] ? "; native too" : "; NATIVE DIFFERS") : "");
        if (fns[1]) CHECK(equal[1][op] == elems[op], "%s native: %ld of %ld", names[op], equal[1][op], elems[op]);
    }
    if (!fns[1]) printf("  native replay skipped: %s\n", getenv("BERTC_NO_AMX") ? "BERTC_NO_AMX is set" : "this CPU has no AMX");
}

/* What the hardware faults on is counted and changes nothing; loads zero what lies past a tile's shape. */
static void t_model_rules(void) {
    amx_emu_release();
    unsigned long f0 = amx_emu_faults();
    static uint8_t buf[2048];
    amx_emu_loadd(0, buf, 64); /* no configuration */
    CHECK(amx_emu_faults() == f0 + 1, "load without a configuration: faults %lu", amx_emu_faults() - f0);
    amx_tilecfg cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.palette = 2;
    amx_emu_loadconfig(&cfg);
    CHECK(amx_emu_faults() == f0 + 2, "palette 2 accepted");
    cfg.palette = 1;
    cfg.rows[0] = 17, cfg.colsb[0] = 64;
    amx_emu_loadconfig(&cfg);
    CHECK(amx_emu_faults() == f0 + 3, "17 rows accepted");
    cfg.rows[0] = 4, cfg.colsb[0] = 8;   /* C: 4 x 2 */
    cfg.rows[1] = 4, cfg.colsb[1] = 12;  /* A: 4 x 3 quads */
    cfg.rows[2] = 3, cfg.colsb[2] = 8;   /* B: 3 x 2 */
    cfg.rows[3] = 2, cfg.colsb[3] = 12;  /* a misfit A */
    amx_emu_loadconfig(&cfg);
    CHECK(amx_emu_faults() == f0 + 3, "valid configuration refused");
    for (int i = 0; i < (int)sizeof buf; i++) buf[i] = (uint8_t)(i * 7 + 1);
    amx_emu_loadd(1, buf, 0); /* stride 0: the same 12 bytes on every row */
    uint8_t out[64] = {0};
    amx_emu_stored(1, out, 16);
    CHECK(!memcmp(out, buf, 12) && !memcmp(out + 16, buf, 12) && !memcmp(out + 48, buf, 12) && out[12] == 0,
          "stride-0 load / strided store");
    amx_emu_dpbusd(0, 3, 2); /* A's rows differ from C's */
    amx_emu_dpbusd(0, 0, 2); /* the same tile twice */
    amx_emu_dpbusd(0, 1, 4); /* an unconfigured tile */
    CHECK(amx_emu_faults() == f0 + 6, "misfit shapes: %lu faults", amx_emu_faults() - f0 - 3);
    amx_emu_zero(0);
    amx_emu_loadd(2, buf, 8);
    amx_emu_dpbusd(0, 1, 2);
    int32_t c[8];
    amx_emu_stored(0, c, 8);
    int bad = 0;
    for (int m = 0; m < 4; m++)
        for (int n = 0; n < 2; n++) {
            int32_t want = 0;
            for (int k = 0; k < 12; k++) want += (int32_t)buf[k] * (int8_t)buf[(k / 4) * 8 + 4 * n + k % 4];
            bad += c[m * 2 + n] != want;
        }
    CHECK(!bad, "tdpbusd on a 4 x 2 x 3 shape: %d wrong", bad);
    amx_emu_release();
    amx_emu_zero(0);
    CHECK(amx_emu_faults() == f0 + 7, "a tile used after release");
}

static float bf16v(float f) { return weight_to_float(weight_from_float(f, WEIGHT_BF16), WEIGHT_BF16); }
static float flushf(float f) { return fpclassify(f) == FP_SUBNORMAL ? copysignf(0.0f, f) : f; }

/* The tier's arithmetic, stated plainly: y = bias, then for each step of 16 pairs y = y + (even + odd). */
static float spec_bf16(const float *xr, const float *wr, int K, int K2, float bias) {
    float c = bias;
    for (int s = 0; s < K2; s += 16) {
        float even = 0.0f, odd = 0.0f;
        for (int kk = s; kk < s + 16; kk++) {
            float x0 = 2 * kk < K ? xr[2 * kk] : 0, x1 = 2 * kk + 1 < K ? xr[2 * kk + 1] : 0;
            float w0 = 2 * kk < K ? wr[2 * kk] : 0, w1 = 2 * kk + 1 < K ? wr[2 * kk + 1] : 0;
            even = flushf(fmaf(x0, w0, even));
            odd = flushf(fmaf(x1, w1, odd));
        }
        c = flushf(c + flushf(even + odd));
    }
    return c;
}

typedef void (*bf16_panel_fn)(float *y, const uint16_t *xh, const packed_linear *pl, int M, int p0, int p1);
typedef void (*int8_panel_fn)(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1);

static void t_bf16_gemm(void) {
    static const int Ms[] = {1, 15, 16, 17, 32, 33, 70}, Ns[] = {5, 16, 17, 32, 48, 83}, Ks[] = {1, 7, 32, 33, 100, 768};
    bf16_panel_fn fns[2] = {gemm_panel_bf16_amxemu, cpu_has_amx() ? gemm_panel_bf16_amx : NULL};
    double worst = 0;
    long n_out = 0;
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 6; b++)
            for (int d = 0; d < 6; d++) {
                int M = Ms[a], N = Ns[b], K = Ks[d], np = (N + GEMM_NR - 1) / GEMM_NR;
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                for (int i = 0; i < M * K; i++) x[i] = frand() * 3.0f;
                for (int i = 0; i < N * K; i++) W[i] = frand() * 0.3f;
                for (int i = 0; i < N; i++) bias[i] = frand();
                packed_linear pl;
                CHECK(linear_pack_bf16(&pl, W, bias, N, K), "pack");
                CHECK(pl.K2 % 16 == 0 && pl.K2 >= (K + 1) / 2, "K2 %d for K %d", pl.K2, K);
                int Mt = (M + 15) / 16 * 16, Kp = 2 * pl.K2;
                uint16_t *xh = calloc((size_t)Mt * Kp, sizeof *xh);
                float *xb = malloc(sizeof(float) * M * K), *Wb = malloc(sizeof(float) * N * K);
                for (int m = 0; m < M; m++)
                    for (int k = 0; k < K; k++) {
                        xh[(size_t)m * Kp + k] = weight_from_float(x[m * K + k], WEIGHT_BF16);
                        xb[m * K + k] = bf16v(x[m * K + k]);
                    }
                for (int i = 0; i < N * K; i++) Wb[i] = bf16v(W[i]);
                float *y = malloc(sizeof(float) * M * N), *ys = malloc(sizeof(float) * M * N);
                for (int w = 0; w < 2; w++) {
                    if (!fns[w]) continue;
                    fns[w](y, xh, &pl, M, 0, np);
                    /* split at an odd panel: a single panel, then pairs */
                    fns[w](ys, xh, &pl, M, 0, 1);
                    if (np > 1) fns[w](ys, xh, &pl, M, 1, np);
                    CHECK(!memcmp(y, ys, sizeof(float) * M * N), "%s M %d N %d K %d: split panels differ", w ? "native" : "model", M, N, K);
                    int bad = 0;
                    double u = ldexp(1.0, -24), gamma = (K + 2) * u / (1 - (K + 2) * u);
                    for (int m = 0; m < M; m++)
                        for (int n = 0; n < N; n++) {
                            float want = spec_bf16(xb + m * K, Wb + n * K, K, pl.K2, bias[n]), got = y[m * N + n];
                            if (bits(want) != bits(got) && bad++ < 3)
                                CHECK(0, "%s M %d N %d K %d [%d,%d]: %.9g, the tier's arithmetic %.9g", w ? "native" : "model",
                                      M, N, K, m, n, got, want);
                            double exact = bias[n], mag = fabs(bias[n]);
                            for (int k = 0; k < K; k++) {
                                double p = (double)xb[m * K + k] * Wb[n * K + k];
                                exact += p;
                                mag += fabs(p);
                            }
                            double e = fabs(got - exact) / (gamma * mag + 1e-30);
                            if (e > worst) worst = e;
                            if (e > 1.0) CHECK(0, "M %d N %d K %d [%d,%d]: %.9g vs exact %.9g", M, N, K, m, n, got, exact);
                            n_out++;
                        }
                }
                linear_free(&pl);
                free(x), free(W), free(bias), free(xh), free(xb), free(Wb), free(y), free(ys);
            }
    printf("  %ld outputs equal the tier's stated arithmetic; worst error / fp32-sum bound %.3f%s\n", n_out, worst,
           fns[1] ? " (model and native)" : "; native skipped: no AMX here");
}

static void t_int8_gemm(void) {
    static const int Ms[] = {1, 16, 17, 33, 64}, Ns[] = {5, 16, 33, 48}, Ks[] = {3, 64, 65, 200, 768};
    int8_panel_fn fns[2] = {gemm_panel_int8_amxemu, cpu_has_amx() ? gemm_panel_int8_amx : NULL};
    long n_out = 0;
    for (int a = 0; a < 5; a++)
        for (int b = 0; b < 4; b++)
            for (int d = 0; d < 5; d++) {
                int M = Ms[a], N = Ns[b], K = Ks[d], np = (N + GEMM_NR - 1) / GEMM_NR;
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                for (int i = 0; i < M * K; i++) x[i] = frand() * 5.0f;
                for (int i = 0; i < N * K; i++) W[i] = frand();
                for (int i = 0; i < N; i++) bias[i] = frand();
                packed_linear pl;
                CHECK(linear_pack_int8(&pl, W, bias, N, K), "pack");
                CHECK(pl.K4 % 64 == 0 && pl.K4 >= K, "K4 %d for K %d", pl.K4, K);
                float *ref = malloc(sizeof(float) * M * N), *y = malloc(sizeof(float) * M * N);
                linear_forward_on(NULL, ref, x, &pl, M, EPI_NONE, NULL, BF16_PORTABLE, INT8_PORTABLE);
                for (int w = 0; w < 2; w++) {
                    if (!fns[w]) continue;
                    int tier = w ? INT8_AMX : INT8_AMX_EMULATED;
                    memset(y, 0, sizeof(float) * M * N);
                    linear_forward_on(NULL, y, x, &pl, M, EPI_NONE, NULL, BF16_PORTABLE, tier);
                    int bad = 0;
                    for (int i = 0; i < M * N; i++) bad += bits(y[i]) != bits(ref[i]);
                    CHECK(!bad, "%s M %d N %d K %d: %d of %d outputs differ from the portable tier", w ? "native" : "model",
                          M, N, K, bad, M * N);
                    n_out += M * N;
                }
                (void)np;
                linear_free(&pl);
                free(x), free(W), free(bias), free(ref), free(y);
            }
    printf("  %ld int8 outputs bit-identical to the portable tier%s\n", n_out, fns[1] ? " (model and native)" : "");
}

/* The whole linear_forward on the tier: the pool splits panel pairs (3 threads: the same bits as 1), the epilogues
 * (GELU, ReLU, residual) act on the tier's sums. */
static void t_linear_forward(void) {
    threadpool *tp = threadpool_new(3);
    int tiers[2] = {BF16_AMX_EMULATED, cpu_has_amx() ? BF16_AMX : -1}, itiers[2] = {INT8_AMX_EMULATED, cpu_has_amx() ? INT8_AMX : -1};
    static const enum epilogue acts[] = {EPI_NONE, EPI_GELU, EPI_RELU};
    for (int w = 0; w < 2; w++) {
        if (tiers[w] < 0) continue;
        for (int ai = 0; ai < 3; ai++)
            for (int q = 0; q < 2; q++) { /* q: bf16, int8 */
                int M = 45, N = 70, K = 129;
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                float *res = malloc(sizeof(float) * M * N), *y1 = malloc(sizeof(float) * M * N), *y3 = malloc(sizeof(float) * M * N),
                      *y0 = malloc(sizeof(float) * M * N);
                for (int i = 0; i < M * K; i++) x[i] = frand() * 2;
                for (int i = 0; i < N * K; i++) W[i] = frand() * 0.2f;
                for (int i = 0; i < N; i++) bias[i] = frand();
                for (int i = 0; i < M * N; i++) res[i] = frand();
                packed_linear pl;
                CHECK(q ? linear_pack_int8(&pl, W, bias, N, K) : linear_pack_bf16(&pl, W, bias, N, K), "pack");
                int bt = q ? BF16_PORTABLE : tiers[w], it = q ? itiers[w] : INT8_PORTABLE;
                linear_forward_on(NULL, y0, x, &pl, M, EPI_NONE, NULL, bt, it);
                linear_forward_on(NULL, y1, x, &pl, M, acts[ai], res, bt, it);
                linear_forward_on(tp, y3, x, &pl, M, acts[ai], res, bt, it);
                CHECK(!memcmp(y1, y3, sizeof(float) * M * N), "%s %s act %d: 3 threads differ from 1", q ? "int8" : "bf16",
                      bf16_tier_name(tiers[w]), (int)acts[ai]);
                int bad = 0;
                for (int i = 0; i < M * N; i++) {
                    double v = y0[i];
                    if (acts[ai] == EPI_GELU) v = 0.5 * v * (1 + erf(v / sqrt(2.0)));
                    if (acts[ai] == EPI_RELU) v = v > 0 ? v : 0;
                    v += res[i];
                    if (fabs(y1[i] - v) > 2e-6 * (1 + fabs(v)) && bad++ < 3)
                        CHECK(0, "%s act %d [%d]: %.9g, want %.9g", q ? "int8" : "bf16", (int)acts[ai], i, y1[i], v);
                }
                linear_free(&pl);
                free(x), free(W), free(bias), free(res), free(y1), free(y3), free(y0);
            }
    }
    threadpool_free(tp);
}

static int logits_of(const char *out, double *v, int cap) {
    int n = 0;
    for (const char *p = out; (p = strstr(p, "\"logits\": [")) && n < cap;) {
        p += 11;
        while (n < cap) {
            char *e;
            v[n++] = strtod(p, &e);
            if (*e != ',') break;
            p = e + 1;
        }
    }
    return n;
}

/* Attention of one head on tiles, against torch's bf16-autocast arithmetic evaluated in double (bf16 q, k, v;
 * scores exact; softmax; p rounded to bf16): within a bf16 step of p on each term; and the fp32 head within 2e-2.
 * Sequences from 1 to 70 tokens (edge key blocks and pairs), head sizes 16 to 96 (padded steps, two column groups),
 * all query rows or the first only. */
typedef bool (*attn_fn)(float *out, const float *qkv, int T, int nq, int H, int head, int dh);
static void t_attention(void) {
    static const int Ts[] = {1, 2, 15, 16, 17, 33, 70}, dhs[] = {16, 32, 64, 96};
    attn_fn fns[2] = {attention_head_bf16_amxemu, cpu_has_amx() ? attention_head_bf16_amx : NULL};
    double worst = 0, worst32 = 0;
    for (int a = 0; a < 7; a++)
        for (int b = 0; b < 4; b++)
            for (int first = 0; first < 2; first++) {
                int T = Ts[a], dh = dhs[b], heads = 2, H = heads * dh, nq = first ? 1 : T, head = 1;
                float *qkv = malloc(sizeof(float) * T * 3 * H), *out = malloc(sizeof(float) * T * H),
                      *o32 = malloc(sizeof(float) * T * H), *scr = malloc(sizeof(float) * 4 * (T + 8));
                for (int i = 0; i < T * 3 * H; i++) qkv[i] = frand() * 2.0f;
                attention_head(o32, qkv, T, nq, H, head, dh, scr);
                for (int w = 0; w < 2; w++) {
                    if (!fns[w]) continue;
                    for (int i = 0; i < T * H; i++) out[i] = -7.0f;
                    CHECK(fns[w](out, qkv, T, nq, H, head, dh), "scratch");
                    for (int i = 0; i < nq; i++) {
                        double sc[80], mx = -1e300, sum = 0;
                        for (int j = 0; j < T; j++) {
                            double d = 0;
                            for (int e = 0; e < dh; e++)
                                d += (double)bf16v(qkv[i * 3 * H + head * dh + e]) * bf16v(qkv[j * 3 * H + H + head * dh + e]);
                            sc[j] = d / sqrt((double)dh);
                            mx = fmax(mx, sc[j]);
                        }
                        for (int j = 0; j < T; j++) sum += sc[j] = exp(sc[j] - mx);
                        for (int e = 0; e < dh; e++) {
                            double want = 0, mag = 0;
                            for (int j = 0; j < T; j++) {
                                double pv = bf16v((float)(sc[j] / sum)), vv = bf16v(qkv[j * 3 * H + 2 * H + head * dh + e]);
                                want += pv * vv;
                                mag += fabs(pv * vv);
                            }
                            float got = out[i * H + head * dh + e];
                            double err = fabs(got - want) / (ldexp(1.0, -7) * mag + 1e-6);
                            worst = fmax(worst, err);
                            if (err > 1.0) CHECK(0, "T %d dh %d row %d col %d: %.7g, want %.7g", T, dh, i, e, got, want);
                            worst32 = fmax(worst32, fabs(got - o32[i * H + head * dh + e]));
                        }
                    }
                    int touched = 0; /* other heads' columns and rows past nq are not written */
                    for (int i = 0; i < T; i++)
                        for (int c = 0; c < H; c++)
                            if ((i >= nq || c < head * dh || c >= (head + 1) * dh) && out[i * H + c] != -7.0f) touched++;
                    CHECK(!touched, "T %d dh %d: %d outputs outside the head written", T, dh, touched);
                }
                free(qkv), free(out), free(o32), free(scr);
            }
    CHECK(worst32 < 2e-2, "tile attention %.3g from the fp32 head", worst32);
    printf("  worst error / (a bf16 step of the terms) %.3f; largest difference from the fp32 head %.2e%s\n", worst,
           worst32, fns[1] ? " (model and native)" : "");
}

/* Whole models through the CLI with every matmul on the AMX tier's code (the tile model): int8 the same bits as
 * this CPU's own int8 tier; bf16 within 0.05 of fp32 (the bar). */
static void t_models(void) {
    static const char *const models[] = {"tiny-distilbert", "tiny-bert", "tiny-roberta"};
    static char out[4][65536];
    for (int i = 0; i < 3; i++) {
        char cmd[1024];
        const char *texts = "'a gorgeous, witty, seductive movie.' 'the plot is nothing but boilerplate clichés' "
                            "'an utterly charming and hilarious film that reminded me why I love the cinema of the 1970s'";
        snprintf(cmd, sizeof cmd, "@ classify --model " TD "%s --logits %s", models[i], texts);
        CHECK(run_cli(cmd, out[0], sizeof out[0]) == 0, "%s fp32", models[i]);
        snprintf(cmd, sizeof cmd, "BERTC_AMX=emulate @ classify --model " TD "%s --logits --compute bf16 %s", models[i], texts);
        CHECK(run_cli(cmd, out[1], sizeof out[1]) == 0, "%s bf16 emulated", models[i]);
        snprintf(cmd, sizeof cmd, "@ classify --model " TD "%s --logits --dtype int8 %s", models[i], texts);
        CHECK(run_cli(cmd, out[2], sizeof out[2]) == 0, "%s int8", models[i]);
        snprintf(cmd, sizeof cmd, "BERTC_AMX=emulate @ classify --model " TD "%s --logits --dtype int8 %s", models[i], texts);
        CHECK(run_cli(cmd, out[3], sizeof out[3]) == 0, "%s int8 emulated", models[i]);
        double v[4][32];
        int n[4];
        for (int k = 0; k < 4; k++) n[k] = logits_of(out[k], v[k], 32);
        CHECK(n[0] >= 6 && n[0] == n[1] && n[0] == n[2] && n[0] == n[3], "%s: logits counts %d %d %d %d", models[i], n[0],
              n[1], n[2], n[3]);
        double worst = 0;
        for (int k = 0; k < n[0] && k < n[1]; k++) worst = fmax(worst, fabs(v[1][k] - v[0][k]));
        CHECK(worst < 0.05, "%s: bf16 on the AMX tier %.3g from fp32", models[i], worst);
        CHECK(!strcmp(out[2], out[3]), "%s: int8 on the AMX tier differs from this CPU's int8 tier:\n%s\n%s", models[i],
              out[2], out[3]);
        printf("  %-16s AMX tier (model): bf16 within %.2e of fp32; int8 identical to the %s tier\n", models[i], worst,
               int8_tier());
    }
    CHECK(run_cli("BERTC_AMX=emulate @ info --compute bf16", out[0], sizeof out[0]) == 0 &&
              strstr(out[0], "\"compute_isa\": \"amx-emulated\""),
          "info under BERTC_AMX=emulate: %s", out[0]);
    CHECK(run_cli("BERTC_AMX=emulate @ info --dtype int8", out[0], sizeof out[0]) == 0 &&
              strstr(out[0], "\"compute_isa\": \"amx-emulated\""),
          "int8 info under BERTC_AMX=emulate: %s", out[0]);
    CHECK(run_cli("BERTC_BF16_TIER=portable @ info --compute bf16", out[0], sizeof out[0]) == 0 &&
              strstr(out[0], "\"compute_isa\": \"portable\""),
          "BERTC_BF16_TIER=portable: %s", out[0]);
}

/* The choice itself: a tier this CPU has, the measured rates where there were several candidates. */
static void t_choice(void) {
    const tier_choice *c = kernels_tier_choice();
    int b = kernels_bf16_tier(), i = kernels_int8_tier();
    CHECK(bf16_tier_available(b) && int8_tier_available(i), "chosen tiers not available");
    CHECK(b != BF16_AMX_EMULATED || getenv("BERTC_AMX"), "the emulated tier chosen without BERTC_AMX=emulate");
    printf("  bf16 compute: %s (%s", bf16_tier_name(b), c->bf16_how);
    for (int t = 0; t < BF16_TIERS; t++)
        if (c->bf16_rate[t] > 0) printf("; %s %.1f GFLOP/s", bf16_tier_name(t), c->bf16_rate[t]);
    if (c->fp32_rate > 0) printf("; fp32 %.1f GFLOP/s", c->fp32_rate);
    printf("); int8: %s (%s", int8_tier_name(i), c->int8_how);
    for (int t = 0; t < INT8_TIERS; t++)
        if (c->int8_rate[t] > 0) printf("; %s %.1f GOP/s", int8_tier_name(t), c->int8_rate[t]);
    printf(")\n");
    if (!strcmp(c->bf16_how, "measured")) {
        for (int t = 0; t < BF16_TIERS; t++) CHECK(c->bf16_rate[t] <= 1.03 * c->bf16_rate[b] || t < b, "a faster bf16 tier was passed over");
    }
}

/* bf16 compute where no bf16 tier beats the fp32 kernels runs as fp32 (BERTC_BF16_TIER=fp32 forces what the
 * measurement picks on such a CPU): fp32's logits to the bit, a name that says so, and training with --bf16 that
 * trains in fp32 and says why. */
static void t_fallback(void) {
    static char a[65536], b[65536];
    const char *texts = "'a gorgeous, witty, seductive movie.' 'the plot is nothing but boilerplate'";
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "BERTC_BF16_TIER=fp32 @ classify --model " TD "tiny-bert --logits --compute bf16 %s", texts);
    int r1 = run_cli(cmd, a, sizeof a);
    snprintf(cmd, sizeof cmd, "@ classify --model " TD "tiny-bert --logits %s", texts);
    int r2 = run_cli(cmd, b, sizeof b);
    CHECK(r1 == 0 && r2 == 0 && !strcmp(a, b), "fp32 fallback differs from fp32:\n%s\n%s", a, b);
    CHECK(run_cli("BERTC_BF16_TIER=fp32 @ info --compute bf16", a, sizeof a) == 0 && strstr(a, "\"compute_mode\": \"bf16\"") &&
              strstr(a, "\"compute_isa\": \"fp32-"),
          "fallback info: %s", a);
    /* training: --bf16 under the fallback trains exactly as fp32 does, with a warning that says so */
    const char *dir = "build/test-amx-fallback";
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s", dir, dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    const char *common = "--model " TD "tiny-bert --train " TD "sst2-dev.tsv --max-steps 3 --batch-size 8 --logging-steps 1 "
                         "--warmup-steps 1 --seed 7 --threads 1";
    snprintf(cmd, sizeof cmd, "BERTC_BF16_TIER=fp32 @ train %s --bf16 --output %s/fb 2>&1", common, dir);
    r1 = run_cli(cmd, a, sizeof a);
    snprintf(cmd, sizeof cmd, "@ train %s --output %s/fp 2>/dev/null", common, dir);
    r2 = run_cli(cmd, b, sizeof b);
    CHECK(r1 == 0 && r2 == 0, "train: %d %d\n%s", r1, r2, a);
    CHECK(strstr(a, "warning: bf16: no bf16 kernel tier is faster") && strstr(a, "trains in fp32"), "no fallback warning:\n%s", a);
    const char *la = strrchr(a, '{'), *lb = strrchr(b, '{');
    const char *ta = la ? strstr(la, "\"train_loss\"") : NULL, *tb = lb ? strstr(lb, "\"train_loss\"") : NULL;
    CHECK(ta && tb && atof(strchr(ta, ':') + 1) == atof(strchr(tb, ':') + 1), "train_loss: %s | %s", ta ? ta : "-", tb ? tb : "-");
    snprintf(cmd, sizeof cmd, "cmp -s %s/fb/model.safetensors %s/fp/model.safetensors", dir, dir);
    CHECK(system(cmd) == 0, "the fallback's weights differ from fp32 training's");
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "%s", cmd);
    /* the measured choice, unpinned: a tier of this CPU, or the fallback */
    CHECK(run_cli("env -u BERTC_BF16_TIER @ info --compute bf16", a, sizeof a) == 0 && strstr(a, "\"compute_isa\": \""), "%s", a);
}

void tests_amx(void) {
    run_test("amx/hardware_vectors", t_hardware_vectors);
    run_test("amx/model_rules", t_model_rules);
    run_test("amx/bf16_gemm", t_bf16_gemm);
    run_test("amx/int8_gemm", t_int8_gemm);
    run_test("amx/linear_forward", t_linear_forward);
    run_test("amx/attention", t_attention);
    run_test("amx/models", t_models);
    run_test("amx/tier_choice", t_choice);
    run_test("amx/fallback", t_fallback);
}
