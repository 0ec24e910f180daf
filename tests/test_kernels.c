/*
 * test_kernels.c — each kernel against its scalar reference on random shapes, odd sizes included, and the
 * thread count changing nothing.
 */
#include "test.h"
#include "kernels/tiers.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static uint32_t rng = 12345;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFF) / 32768.0f - 1.0f;
}

static void t_gemm_vs_reference(void) {
    threadpool *tp1 = threadpool_new(1), *tp3 = threadpool_new(3);
    static const int Ms[] = {1, 5, 6, 7, 13, 100}, Ns[] = {1, 15, 16, 17, 40, 96}, Ks[] = {1, 3, 64, 255, 256, 300};
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 6; b++)
            for (int c = 0; c < 6; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c];
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                float *y = malloc(sizeof(float) * M * N), *y3 = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
                for (int i = 0; i < M * K; i++) x[i] = frand();
                for (int i = 0; i < N * K; i++) W[i] = frand();
                for (int i = 0; i < N; i++) bias[i] = frand();
                packed_linear pl;
                CHECK(linear_pack(&pl, W, bias, N, K), "pack");
                linear_forward(tp1, y, x, &pl, M, EPI_NONE, NULL);
                linear_forward(tp3, y3, x, &pl, M, EPI_NONE, NULL);
                linear_ref(r, x, W, bias, M, N, K);
                double worst = 0;
                for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(y[i] - r[i]));
                CHECK(worst < 1e-4 * sqrt(K), "M %d N %d K %d: worst %.2e", M, N, K, worst);
                CHECK(!memcmp(y, y3, sizeof(float) * M * N), "M %d N %d K %d: 1 vs 3 threads differ", M, N, K);
                linear_free(&pl);
                free(x); free(W); free(bias); free(y); free(y3); free(r);
            }
    threadpool_free(tp1);
    threadpool_free(tp3);
}

/* int8 linears: the kernel's output equals, to the bit, the arithmetic the header specifies (per-channel weight
 * quantization, 7-bit activations with zero point 64, exact int32 sums, (sx * sw) * f + b), on 1 and 3 threads,
 * and is close to the fp32 result. */
static void t_gemm_int8(void) {
    threadpool *tp1 = threadpool_new(1), *tp3 = threadpool_new(3);
    static const int Ms[] = {1, 4, 5, 6, 11, 100}, Ns[] = {1, 16, 17, 40}, Ks[] = {1, 3, 4, 64, 301};
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 4; b++)
            for (int c = 0; c < 5; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c];
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                float *y = malloc(sizeof(float) * M * N), *y3 = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
                for (int i = 0; i < M * K; i++) x[i] = frand();
                for (int i = 0; i < N * K; i++) W[i] = frand();
                for (int i = 0; i < N; i++) bias[i] = frand();
                packed_linear pl;
                CHECK(linear_pack_int8(&pl, W, bias, N, K), "pack int8");
                linear_forward(tp1, y, x, &pl, M, EPI_NONE, NULL);
                linear_forward(tp3, y3, x, &pl, M, EPI_NONE, NULL);
                int exact = 1;
                double worst = 0;
                linear_ref(r, x, W, bias, M, N, K);
                for (int m = 0; m < M; m++) {
                    float amax = 0;
                    for (int k = 0; k < K; k++) amax = fmaxf(amax, fabsf(x[m * K + k]));
                    float sx = amax > 0 ? amax / 63.0f : 1.0f, inv = 1.0f / sx;
                    for (int n = 0; n < N; n++) {
                        float wmax = 0;
                        for (int k = 0; k < K; k++) wmax = fmaxf(wmax, fabsf(W[n * K + k]));
                        float sw = wmax > 0 ? wmax / 127.0f : 1.0f;
                        int32_t acc = 0;
                        for (int k = 0; k < K; k++) {
                            long q = lrintf(x[m * K + k] * inv), w = lrintf(W[n * K + k] / sw);
                            q = q > 63 ? 63 : q < -63 ? -63 : q;
                            w = w > 127 ? 127 : w < -127 ? -127 : w;
                            acc += (int32_t)(q * w);
                        }
                        float want = sx * sw * (float)acc + bias[n];
                        exact &= y[m * N + n] == want;
                        worst = fmax(worst, fabs(y[m * N + n] - r[m * N + n]));
                    }
                }
                CHECK(exact, "M %d N %d K %d: int8 result differs from its specification", M, N, K);
                CHECK(!memcmp(y, y3, sizeof(float) * M * N), "M %d N %d K %d: int8 1 vs 3 threads differ", M, N, K);
                CHECK(worst < 0.02 * sqrt(K), "M %d N %d K %d: int8 vs fp32 %.3f", M, N, K, worst);
                linear_free(&pl);
                free(x); free(W); free(bias); free(y); free(y3); free(r);
            }
    threadpool_free(tp1);
    threadpool_free(tp3);
}

static void t_epilogues(void) {
    threadpool *tp = threadpool_new(2);
    int M = 7, N = 19, K = 11;
    float x[7 * 11], W[19 * 11], y[7 * 19], r[7 * 19], res[7 * 19];
    for (int i = 0; i < M * K; i++) x[i] = frand() * 3;
    for (int i = 0; i < N * K; i++) W[i] = frand();
    for (int i = 0; i < M * N; i++) res[i] = frand();
    packed_linear pl;
    linear_pack(&pl, W, NULL, N, K);
    linear_ref(r, x, W, NULL, M, N, K);
    linear_forward(tp, y, x, &pl, M, EPI_GELU, res);
    double worst = 0;
    for (int i = 0; i < M * N; i++) {
        double g = 0.5 * r[i] * (1 + erf(r[i] / sqrt(2.0))) + res[i];
        worst = fmax(worst, fabs(y[i] - g));
    }
    CHECK(worst < 1e-5, "erf GELU + residual: %.2e", worst);
    linear_forward(tp, y, x, &pl, M, EPI_TANH, NULL);
    worst = 0;
    for (int i = 0; i < M * N; i++) worst = fmax(worst, fabs(y[i] - tanh(r[i])));
    CHECK(worst < 1e-5, "tanh: %.2e", worst);
    linear_free(&pl);
    /* GELU and the residual, fused into the AVX-512 kernels' last stores, give the bits of the separate pass:
     * fp32 and int8, short and long batches, one and several k blocks */
    if (cpu_has_avx2_fma()) {
        static const int Ms[] = {7, 200}, Ks[] = {11, 1000};
        for (int a = 0; a < 2; a++)
            for (int c = 0; c < 2; c++)
                for (int q = 0; q < 2; q++) {
                    int MM = Ms[a], KK = Ks[c];
                    float *xx = malloc(sizeof(float) * MM * KK), *WW = malloc(sizeof(float) * N * KK);
                    float *rr = malloc(sizeof(float) * MM * N), *y1 = malloc(sizeof(float) * MM * N),
                          *y2 = malloc(sizeof(float) * MM * N);
                    for (int i = 0; i < MM * KK; i++) xx[i] = frand();
                    for (int i = 0; i < N * KK; i++) WW[i] = frand() * 0.1f;
                    for (int i = 0; i < MM * N; i++) rr[i] = frand();
                    CHECK(q ? linear_pack_int8(&pl, WW, NULL, N, KK) : linear_pack(&pl, WW, NULL, N, KK), "pack");
                    linear_forward(tp, y1, xx, &pl, MM, EPI_GELU, rr);
                    linear_forward(tp, y2, xx, &pl, MM, EPI_NONE, NULL);
                    for (int m = 0; m < MM; m++) gelu_avx2(y2 + m * N, N, rr + m * N);
                    CHECK(!memcmp(y1, y2, sizeof(float) * MM * N), "%s M %d K %d GELU + residual: fused != separate",
                          q ? "int8" : "fp32", MM, KK);
                    linear_forward(tp, y1, xx, &pl, MM, EPI_NONE, rr);
                    linear_forward(tp, y2, xx, &pl, MM, EPI_NONE, NULL);
                    for (int i = 0; i < MM * N; i++) y2[i] += rr[i];
                    CHECK(!memcmp(y1, y2, sizeof(float) * MM * N), "%s M %d K %d residual: fused != separate",
                          q ? "int8" : "fp32", MM, KK);
                    linear_free(&pl);
                    free(xx), free(WW), free(rr), free(y1), free(y2);
                }
    }
    threadpool_free(tp);
}

/* The vectorized exact-erf GELU against double-precision erf, over the range activations take. */
static void t_gelu_vector(void) {
    if (!cpu_has_avx2_fma()) return;
    enum { n = 4001 };
    static float v[n];
    for (int i = 0; i < n; i++) v[i] = -10.0f + 20.0f * (float)i / (n - 1);
    gelu_avx2(v, n, NULL);
    double worst = 0;
    for (int i = 0; i < n; i++) {
        double x = (double)(-10.0f + 20.0f * (float)i / (n - 1));
        double g = 0.5 * x * (1 + erf(x / sqrt(2.0)));
        worst = fmax(worst, fabs(v[i] - g) / fmax(1.0, fabs(g)));
    }
    CHECK(worst < 1e-6, "vector GELU vs erf: %.2e", worst);
    if (cpu_has_avx512()) { /* the 16-lane version gives the same bits, tails and residual included */
        static float a[n], b[n], r[n];
        for (int i = 0; i < n; i++) {
            a[i] = b[i] = -10.0f + 20.0f * (float)i / (n - 1);
            r[i] = frand();
        }
        gelu_avx2(a, n - 7, r);
        gelu_avx512(b, n - 7, r);
        CHECK(!memcmp(a, b, sizeof a), "GELU: AVX-512 != AVX2");
    }
}

static void t_layernorm(void) {
    float x[3 * 50], g[50], b[50];
    for (int i = 0; i < 150; i++) x[i] = frand() * 10 + 3;
    for (int i = 0; i < 50; i++) { g[i] = frand(); b[i] = frand(); }
    float ref[150];
    for (int m = 0; m < 3; m++) {
        double mean = 0, var = 0;
        for (int c = 0; c < 50; c++) mean += x[m * 50 + c];
        mean /= 50;
        for (int c = 0; c < 50; c++) var += (x[m * 50 + c] - mean) * (x[m * 50 + c] - mean);
        var /= 50;
        for (int c = 0; c < 50; c++) ref[m * 50 + c] = (float)((x[m * 50 + c] - mean) / sqrt(var + 1e-12) * g[c] + b[c]);
    }
    layernorm(x, g, b, 3, 50, 1e-12f);
    double worst = 0;
    for (int i = 0; i < 150; i++) worst = fmax(worst, fabs(x[i] - ref[i]));
    CHECK(worst < 1e-5, "layernorm: %.2e", worst);
}

/* Attention against a double-precision reference on odd lengths and head sizes (the vector paths' 4-key and
 * 8-lane blocks and their tails); the first-query-only form gives the first row of the full one, to the bit. */
static void t_attention(void) {
    static const int Ts[] = {1, 4, 9, 13}, dhs[] = {8, 12, 64};
    double worst = 0;
    int same = 1;
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++) {
            int T = Ts[a], dh = dhs[b], H = 3 * dh;
            float *qkv = malloc(sizeof(float) * T * 3 * H), *out = malloc(sizeof(float) * T * H);
            float *one = malloc(sizeof(float) * T * H), scratch[4 * (13 + 8)]; /* attention_head: 4 (T + 8) floats */
            for (int i = 0; i < T * 3 * H; i++) qkv[i] = frand() * 2;
            for (int h = 0; h < 3; h++) {
                attention_head(out, qkv, T, T, H, h, dh, scratch);
                attention_head(one, qkv, T, 1, H, h, dh, scratch);
                same &= !memcmp(out + h * dh, one + h * dh, sizeof(float) * dh);
            }
            for (int h = 0; h < 3; h++)
                for (int i = 0; i < T; i++) {
                    double sc[13], mx = -1e30, sum = 0;
                    for (int j = 0; j < T; j++) {
                        double d = 0;
                        for (int k = 0; k < dh; k++) d += qkv[i * 3 * H + h * dh + k] * qkv[j * 3 * H + H + h * dh + k];
                        sc[j] = d / sqrt(dh);
                        mx = fmax(mx, sc[j]);
                    }
                    for (int j = 0; j < T; j++) sum += sc[j] = exp(sc[j] - mx);
                    for (int k = 0; k < dh; k++) {
                        double o = 0;
                        for (int j = 0; j < T; j++) o += sc[j] / sum * qkv[j * 3 * H + 2 * H + h * dh + k];
                        worst = fmax(worst, fabs(o - out[i * H + h * dh + k]));
                    }
                }
            free(qkv);
            free(out);
            free(one);
        }
    CHECK(worst < 1e-5, "attention: %.2e", worst);
    CHECK(same, "first query only != first row of the full attention");
}

/* Every SIMD tier the CPU has gives the same bits: AVX-512 (two panels at a time, masked tails) against AVX2,
 * fp32 and int8, on shapes that take every path (short and long M, odd panel counts, partial last panels, k
 * blocks). On a CPU without AVX-512 only the AVX2 tier runs (and is checked against the reference above). */
static void t_gemm_isas_agree(void) {
    if (!cpu_has_avx2_fma()) return;
    static const int Ms[] = {1, 11, 12, 13, 97, 200}, Ns[] = {5, 16, 33, 48, 80}, Ks[] = {7, 256, 300, 768};
    int compared = 0;
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 5; b++)
            for (int c = 0; c < 4; c++) {
                int M = Ms[a], N = Ns[b], K = Ks[c], np = (N + 15) / 16;
                float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *bias = malloc(sizeof(float) * N);
                float *y2 = malloc(sizeof(float) * M * N), *y5 = malloc(sizeof(float) * M * N);
                for (int i = 0; i < M * K; i++) x[i] = frand();
                for (int i = 0; i < N * K; i++) W[i] = frand();
                for (int i = 0; i < N; i++) bias[i] = frand();
                packed_linear pl, pq;
                CHECK(linear_pack(&pl, W, bias, N, K) && linear_pack_int8(&pq, W, bias, N, K), "pack");
                uint8_t *xq = malloc((size_t)M * pq.K4);
                float *sx = malloc(sizeof(float) * M);
                quantize_rows_avx2(xq, sx, x, M, K, pq.K4);
                gemm_panel_avx2(y2, x, &pl, M, 0, np);
                if (cpu_has_avx512()) {
                    /* the whole range, and a split at an odd panel (a single panel, then pairs) */
                    int nb = (M + GEMM_AVX512_MR - 1) / GEMM_AVX512_MR;
                    float *xp = malloc(sizeof(float) * nb * GEMM_AVX512_MR * K);
                    pack_rows_avx512(xp, x, M, K, 0, 1);
                    pack_rows_avx512(xp, x, M, K, 1, nb);
                    gemm_panel_avx512(y5, xp, &pl, M, 0, np, NULL);
                    CHECK(!memcmp(y2, y5, sizeof(float) * M * N), "fp32 M %d N %d K %d: AVX-512 != AVX2", M, N, K);
                    memset(y5, 0, sizeof(float) * M * N);
                    gemm_panel_avx512(y5, xp, &pl, M, 0, 1, NULL);
                    gemm_panel_avx512(y5, xp, &pl, M, 1, np, NULL);
                    free(xp);
                    CHECK(!memcmp(y2, y5, sizeof(float) * M * N), "fp32 M %d N %d K %d: split AVX-512 != AVX2", M, N, K);
                    gemm_panel_int8_avx2(y2, xq, sx, &pq, M, 0, np);
                    gemm_panel_int8_avx512(y5, xq, sx, &pq, M, 0, np, NULL);
                    CHECK(!memcmp(y2, y5, sizeof(float) * M * N), "int8 M %d N %d K %d: AVX-512 != AVX2", M, N, K);
                    compared++;
                }
                linear_free(&pl);
                linear_free(&pq);
                free(x); free(W); free(bias); free(y2); free(y5); free(xq); free(sx);
            }
    if (cpu_has_avx512()) CHECK(compared == 120, "compared %d shapes", compared);
}

/* 16-bit weight storage: every fp16 and bf16 value survives the round trip; rounding is to nearest even (F16C's
 * conversion is the reference for fp16 where the CPU has it); packed fp16 / bf16 linears compute exactly what
 * fp32 linears compute on the rounded weights, on every SIMD tier. */
static void t_half_weights(void) {
    for (int wt = WEIGHT_F16; wt <= WEIGHT_BF16; wt++) {
        int bad = 0;
        for (uint32_t h = 0; h < 65536; h++) {
            float f = weight_to_float((uint16_t)h, wt);
            if (f != f) continue; /* NaN */
            bad += weight_from_float(f, wt) != h;
        }
        CHECK(!bad, "%s: %d values do not round-trip", wt == WEIGHT_F16 ? "fp16" : "bf16", bad);
    }
    /* ties and edges */
    CHECK(weight_from_float(1.0f + 1.0f / 2048, WEIGHT_F16) == 0x3C00, "fp16 tie to even (down)");
    CHECK(weight_from_float(1.0f + 3.0f / 2048, WEIGHT_F16) == 0x3C02, "fp16 tie to even (up)");
    CHECK(weight_from_float(65520.0f, WEIGHT_F16) == 0x7C00 && weight_from_float(65519.0f, WEIGHT_F16) == 0x7BFF, "fp16 max");
    CHECK(weight_from_float(ldexpf(1, -25), WEIGHT_F16) == 0 && weight_from_float(ldexpf(1.5f, -25), WEIGHT_F16) == 1,
          "fp16 smallest subnormal");
    CHECK(weight_from_float(1.0f + 1.0f / 256, WEIGHT_BF16) == 0x3F80, "bf16 tie to even");
    if (cpu_has_avx2_fma()) {
        int bad = 0;
        for (int i = 0; i < 200000; i++) {
            float f = frand() * ldexpf(1, (i % 40) - 26);
            bad += weight_from_float(f, WEIGHT_F16) != cpu_f16c_round(f);
        }
        CHECK(!bad, "fp16 rounding differs from F16C on %d of 200000", bad);
        /* the vectorized widening of checkpoint tensors: every fp16 and bf16 value, as weight_to_float (NaNs: NaN) */
        for (int wt = WEIGHT_F16; wt <= WEIGHT_BF16; wt++) {
            static uint8_t raw[2 * 65537];
            static float got[65537];
            for (uint32_t h = 0; h < 65537; h++) {
                raw[2 * h] = (uint8_t)(h & 0xFF);
                raw[2 * h + 1] = (uint8_t)((h >> 8) & 0xFF);
            }
            widen_half_avx2(got, raw, 65537, wt); /* odd length: the scalar tail too */
            int wbad = 0;
            for (uint32_t h = 0; h < 65537; h++) {
                float want = weight_to_float((uint16_t)(h & 0xFFFF), wt);
                wbad += want == want ? memcmp(&want, &got[h], 4) != 0 : got[h] == got[h];
            }
            CHECK(!wbad, "%s widening differs from weight_to_float on %d values", wt == WEIGHT_F16 ? "fp16" : "bf16", wbad);
        }
    }
    threadpool *tp = threadpool_new(2);
    static const int Ms[] = {1, 7, 13, 150}, Ns[] = {5, 33, 64}, Ks[] = {9, 300};
    for (int wt = WEIGHT_F16; wt <= WEIGHT_BF16; wt++)
        for (int a = 0; a < 4; a++)
            for (int b = 0; b < 3; b++)
                for (int c = 0; c < 2; c++) {
                    int M = Ms[a], N = Ns[b], K = Ks[c];
                    float *x = malloc(sizeof(float) * M * K), *W = malloc(sizeof(float) * N * K), *Wr = malloc(sizeof(float) * N * K);
                    float *bias = malloc(sizeof(float) * N), *y = malloc(sizeof(float) * M * N), *r = malloc(sizeof(float) * M * N);
                    for (int i = 0; i < M * K; i++) x[i] = frand();
                    for (int i = 0; i < N * K; i++) Wr[i] = weight_to_float(weight_from_float(W[i] = frand(), wt), wt);
                    for (int i = 0; i < N; i++) bias[i] = frand();
                    packed_linear ph, pf;
                    CHECK(linear_pack_half(&ph, W, bias, N, K, wt) && linear_pack(&pf, Wr, bias, N, K), "pack");
                    linear_forward(tp, y, x, &ph, M, EPI_NONE, NULL);
                    linear_forward(tp, r, x, &pf, M, EPI_NONE, NULL);
                    CHECK(!memcmp(y, r, sizeof(float) * M * N), "%s M %d N %d K %d: differs from fp32 on rounded weights",
                          wt == WEIGHT_F16 ? "fp16" : "bf16", M, N, K);
                    if (cpu_has_avx2_fma()) {
                        gemm_panel_avx2(y, x, &ph, M, 0, (N + 15) / 16);
                        CHECK(!memcmp(y, r, sizeof(float) * M * N), "AVX2 %s M %d N %d K %d", wt == WEIGHT_F16 ? "fp16" : "bf16", M, N, K);
                    }
                    linear_free(&ph);
                    linear_free(&pf);
                    free(x); free(W); free(Wr); free(bias); free(y); free(r);
                }
    threadpool_free(tp);
}

/* The buffer ops the trainer and the loader call: the bits of the per-tier calls they replace (act_task's chunks of
 * 2^20 through gelu_avx512 / gelu_avx2 / gelu_grad_avx2, model.c's widen_half_avx2), the portable formulas
 * elsewhere; widening equals weight_to_float element by element, at an odd offset (no alignment). */
static void t_buffer_ops(void) {
    enum { n = (1 << 20) + 37 };
    float *x = malloc(sizeof(float) * n), *y = malloc(sizeof(float) * n), *e = malloc(sizeof(float) * n);
    float *dy = malloc(sizeof(float) * n), *de = malloc(sizeof(float) * n);
    for (size_t i = 0; i < n; i++) x[i] = frand() * 6, dy[i] = de[i] = frand();
    static const enum epilogue acts[] = {EPI_GELU, EPI_GELU_TANH, EPI_RELU, EPI_TANH, EPI_NONE};
    for (int a = 0; a < 5; a++) {
        activation_forward(y, x, n, acts[a]);
        memcpy(e, x, sizeof(float) * n);
        if (acts[a] == EPI_GELU && cpu_has_avx2_fma()) {
            for (size_t i = 0; i < n; i += 1 << 20) {
                int len = (int)(n - i < (1u << 20) ? n - i : (1u << 20));
                if (cpu_has_avx512()) gelu_avx512(e + i, len, NULL);
                else gelu_avx2(e + i, len, NULL);
            }
        } else {
            for (size_t i = 0; i < n; i++) {
                float v = x[i];
                e[i] = acts[a] == EPI_GELU ? 0.5f * v * (1.0f + erff(v * 0.70710678118654752f))
                     : acts[a] == EPI_GELU_TANH ? 0.5f * v * (1.0f + tanhf(0.79788456080286536f * (v + 0.044715f * v * v * v)))
                     : acts[a] == EPI_RELU ? (v > 0.0f ? v : 0.0f)
                     : acts[a] == EPI_TANH ? tanhf(v) : v;
            }
        }
        CHECK(!memcmp(y, e, sizeof(float) * n), "activation_forward %d: not the per-tier bits", (int)acts[a]);
    }
    memcpy(y, x, sizeof(float) * n);
    activation_forward(y, y, n, EPI_GELU); /* in place */
    activation_forward(e, x, n, EPI_GELU);
    CHECK(!memcmp(y, e, sizeof(float) * n), "activation_forward in place differs");
    activation_backward(dy, x, n, EPI_GELU);
    if (cpu_has_avx2_fma()) {
        for (size_t i = 0; i < n; i += 1 << 20)
            gelu_grad_avx2(de + i, x + i, (int)(n - i < (1u << 20) ? n - i : (1u << 20)));
    } else {
        for (size_t i = 0; i < n; i++) {
            float v = x[i], cdf = 0.5f * (1.0f + erff(v * 0.70710678118654752f));
            de[i] *= cdf + v * 0.3989422804014327f * expf(-0.5f * v * v);
        }
    }
    CHECK(!memcmp(dy, de, sizeof(float) * n), "activation_backward: not the per-tier bits");
    memcpy(dy, de, sizeof(float) * n);
    activation_backward(dy, x, n, EPI_RELU);
    for (size_t i = 0; i < n; i++) de[i] *= x[i] > 0.0f ? 1.0f : 0.0f;
    CHECK(!memcmp(dy, de, sizeof(float) * n), "activation_backward relu");

    enum { nh = 1003 };
    uint8_t *raw = malloc(2 * nh + 1);
    for (int i = 0; i < 2 * nh + 1; i++) raw[i] = (uint8_t)(frand() * 127 + 128);
    raw[1 + 2 * 5] = 0x00, raw[1 + 2 * 5 + 1] = 0x7E; /* an fp16 NaN, a bf16 +inf */
    for (int wt = WEIGHT_F16; wt <= WEIGHT_BF16; wt++) {
        float *w = malloc(sizeof(float) * nh);
        widen_half(w, (const uint16_t *)(const void *)(raw + 1), nh, wt);
        int bad = 0;
        for (int i = 0; i < nh; i++) {
            float r = weight_to_float((uint16_t)(raw[1 + 2 * i] | (raw[2 + 2 * i] << 8)), wt);
            bad += isnan(r) ? !isnan(w[i]) : memcmp(&r, &w[i], 4) != 0;
        }
        CHECK(bad == 0, "widen_half (%s): %d values differ from weight_to_float", wt == WEIGHT_F16 ? "f16" : "bf16", bad);
        if (cpu_has_avx2_fma()) {
            float *v = malloc(sizeof(float) * nh);
            widen_half_avx2(v, raw + 1, nh, wt);
            CHECK(!memcmp(v, w, sizeof(float) * nh), "widen_half != widen_half_avx2");
            free(v);
        }
        free(w);
    }
    free(raw);
    free(x), free(y), free(e), free(dy), free(de);
}

/* The dispatch table: filled once, every op set, each the widest tier this CPU has (the portable *_ref where it has
 * none), every bf16 / int8 GEMM tier present; the names the tier queries report. */
static void t_dispatch_table(void) {
    const kernel_table *k = kernel_ops();
    CHECK(k == kernel_ops(), "the table is filled once");
    bool avx2 = cpu_has_avx2_fma(), avx512 = cpu_has_avx512(), avx512bf16 = cpu_has_avx512bf16();
    CHECK(!strcmp(k->simd, avx512 ? "avx512" : avx2 ? "avx2" : "portable"), "simd %s", k->simd);
    CHECK(!strcmp(simd_isa(), k->simd), "simd_isa %s", simd_isa());
    CHECK(k->layernorm == (avx2 ? layernorm_avx2 : layernorm_ref), "layernorm tier");
    CHECK(k->attention == (avx2 ? attention_head_avx2 : attention_head_ref), "attention tier");
    CHECK(k->attention_dh16 == (avx512 ? attention_head_avx512 : k->attention), "attention (dh a multiple of 16) tier");
    CHECK(k->gelu == (avx512 ? gelu_avx512 : avx2 ? gelu_avx2 : gelu_ref), "gelu tier");
    CHECK(k->gelu_grad == (avx2 ? gelu_grad_avx2 : gelu_grad_ref), "gelu_grad tier");
    CHECK(k->add == (avx2 ? add_avx2 : add_ref), "add tier");
    CHECK(k->quantize_rows == (avx2 ? quantize_rows_avx2 : quantize_rows_ref), "quantize tier");
    CHECK(k->widen_half == (avx2 ? widen_half_avx2 : widen_half_ref), "widen tier");
    CHECK(k->bf16_row == (avx512bf16 ? bf16_row_avx512 : bf16_row_ref), "bf16_row tier");
    CHECK(k->bf16_pair_rows == (avx512bf16 ? bf16_pair_rows_avx512 : bf16_pair_rows_ref), "bf16_pair_rows tier");
    CHECK(k->f32.panel_f32 && k->f32_unpacked.panel_f32 && !k->f32_unpacked.pack_f32, "fp32 GEMM tiers");
    CHECK((k->f32.pack_f32 != NULL) == avx512 && k->f32.fuses == avx512 && k->f32.pairs == avx512, "fp32 GEMM: AVX-512 packs");
    for (int t = 0; t < BF16_TIERS; t++)
        CHECK(k->bf16[t].panel_bf16 && k->bf16[t].pack_bf16 && (k->bf16[t].attention_bf16 != NULL) == bf16_tier_is_amx(t) &&
                  k->bf16[t].tiles == bf16_tier_is_amx(t), "bf16 tier %s", bf16_tier_name(t));
    for (int t = 0; t < INT8_TIERS; t++)
        CHECK(k->int8[t].panel_int8 && k->int8[t].tiles == int8_tier_is_amx(t), "int8 tier %s", int8_tier_name(t));
    /* the ops through the table: the tier's bits */
    enum { M = 5, C = 77 };
    float x[M * C], y[M * C], g[C], b[C];
    for (int i = 0; i < M * C; i++) x[i] = y[i] = frand() * 4 + 1;
    for (int i = 0; i < C; i++) g[i] = frand(), b[i] = frand();
    layernorm(x, g, b, M, C, 1e-5f);
    (avx2 ? layernorm_avx2 : layernorm_ref)(y, g, b, M, C, 1e-5f);
    CHECK(!memcmp(x, y, sizeof x), "layernorm != its tier");
}

void tests_kernels(void) {
    run_test("kernels/gemm_vs_reference", t_gemm_vs_reference);
    run_test("kernels/gemm_int8", t_gemm_int8);
    run_test("kernels/gemm_isas_agree", t_gemm_isas_agree);
    run_test("kernels/half_weights", t_half_weights);
    run_test("kernels/epilogues", t_epilogues);
    run_test("kernels/layernorm", t_layernorm);
    run_test("kernels/gelu_vector", t_gelu_vector);
    run_test("kernels/attention", t_attention);
    run_test("kernels/buffer_ops", t_buffer_ops);
    run_test("kernels/dispatch_table", t_dispatch_table);
}
