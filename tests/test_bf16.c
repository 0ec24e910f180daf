/*
 * test_bf16.c — bf16 compute (bertc_model_params.compute = BERTC_COMPUTE_BF16): the GEMM tiers against an exact
 * double-precision sum of the bf16-rounded inputs and against each other, the rounding of the inputs, the
 * model-level plumbing (info, refused combinations, packed memory), and the end-to-end effect on the fixtures'
 * logits and on the default model's SST-2 dev labels.
 *
 * Bounds. The products of two bf16 values (8-bit significands) are exact in fp32, so both tiers only round their
 * K additions (bias + K products, each added in fp32 with round to nearest). The classic bound of recursive
 * summation then gives |y - exact| <= gamma_K * (|b| + sum |x_k w_k|), gamma_K = K u / (1 - K u), u = 2^-24, for
 * any order of the additions: the AVX512-BF16 tier (vdpbf16ps, two roundings per pair, in whatever order the
 * hardware takes them) and the portable one are each held to that bound against a double-precision reference
 * (whose own error, about 2^-53 K, is far below it). The two tiers are compared with each other within twice the
 * bound, and the measured difference is printed.
 */
#include "test.h"

#include "kernels/tiers.h"
#include "model/model.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static uint32_t rng = 424242;
static float frand(void) {
    rng = rng * 1664525u + 1013904223u;
    return (float)((rng >> 8) & 0xFFFFFF) / 8388608.0f - 1.0f; /* 24 random bits: most values are not bf16 */
}

static float bf(float f) { return weight_to_float(weight_from_float(f, WEIGHT_BF16), WEIGHT_BF16); }

/* Round to nearest even at the bf16 boundary, and the vector conversion of the packing routine equals the scalar
 * one for normal numbers (ties included). */
static void t_bf16_rounding(void) {
    static const float v[] = {1.0f, 1.00390625f /* 1 + 2^-8: a tie, to even (1) */, 1.01171875f /* 1 + 3*2^-8: tie, up */,
                              1.0039063f, -3.14159265f, 65504.0f, 1e-30f, -7.5e-20f, 3.4e38f, 0.0f, -0.0f};
    CHECK(weight_from_float(1.00390625f, WEIGHT_BF16) == 0x3F80, "tie 1 + 2^-8 -> %04x", weight_from_float(1.00390625f, WEIGHT_BF16));
    CHECK(weight_from_float(1.01171875f, WEIGHT_BF16) == 0x3F82, "tie 1 + 3 2^-8 -> %04x", weight_from_float(1.01171875f, WEIGHT_BF16));
    if (!cpu_has_avx512bf16()) {
        printf("  skipped the AVX512-BF16 packing check: %s\n", getenv("BERTC_NO_AVX512BF16") ? "BERTC_NO_AVX512BF16 is set"
                                                                                                 : "this CPU has no AVX512-BF16");
        return;
    }
    enum { M = 13, K = 11 }; /* a full block of 12 rows and a block of 1; an odd K (the last pair's high half 0) */
    float x[M * K];
    for (int i = 0; i < M * K; i++) x[i] = i < (int)(sizeof v / sizeof *v) ? v[i] : frand() * 100.0f;
    int K2 = (K + 1) / 2, nb = 2;
    uint32_t *xp = calloc((size_t)nb * GEMM_AVX512_MR * K2, sizeof *xp);
    pack_rows_bf16_avx512(xp, x, M, K, K2, 0, 1);
    pack_rows_bf16_avx512(xp, x, M, K, K2, 1, nb);
    int bad = 0;
    for (int b = 0; b < nb; b++)
        for (int kk = 0; kk < K2; kk++)
            for (int i = 0; i < GEMM_AVX512_MR; i++) {
                int m = b * GEMM_AVX512_MR + i;
                uint32_t want = 0;
                if (m < M) {
                    want = weight_from_float(x[m * K + 2 * kk], WEIGHT_BF16);
                    if (2 * kk + 1 < K) want |= (uint32_t)weight_from_float(x[m * K + 2 * kk + 1], WEIGHT_BF16) << 16;
                }
                uint32_t got = xp[((size_t)b * GEMM_AVX512_MR) * K2 + (size_t)kk * GEMM_AVX512_MR + i];
                if (got != want && bad++ < 5) CHECK(0, "row %d pair %d: packed %08x, want %08x", m, kk, got, want);
            }
    free(xp);
}

typedef struct gemm_case {
    int M, N, K;
    float *x, *W, *bias;
    double *exact, *bound;
} gemm_case;

/* The exact sums of the bf16-rounded inputs (double: every product exact, the sum's error ~ K 2^-53) and the
 * recursive-summation bound of an fp32 sum of them. */
static void make_case(gemm_case *c, int M, int N, int K) {
    c->M = M, c->N = N, c->K = K;
    c->x = malloc(sizeof(float) * M * K);
    c->W = malloc(sizeof(float) * N * K);
    c->bias = malloc(sizeof(float) * N);
    c->exact = malloc(sizeof(double) * M * N);
    c->bound = malloc(sizeof(double) * M * N);
    for (int i = 0; i < M * K; i++) c->x[i] = frand() * 4.0f;
    for (int i = 0; i < N * K; i++) c->W[i] = frand() * 0.25f;
    for (int i = 0; i < N; i++) c->bias[i] = frand();
    double u = ldexp(1.0, -24), gamma = K * u / (1 - K * u);
    for (int m = 0; m < M; m++)
        for (int n = 0; n < N; n++) {
            double s = c->bias[n], a = fabs(c->bias[n]);
            for (int k = 0; k < K; k++) {
                double p = (double)bf(c->x[m * K + k]) * (double)bf(c->W[n * K + k]);
                s += p;
                a += fabs(p);
            }
            c->exact[m * N + n] = s;
            c->bound[m * N + n] = gamma * a + 1e-30;
        }
}

static void free_case(gemm_case *c) {
    free(c->x); free(c->W); free(c->bias); free(c->exact); free(c->bound);
}

/* The portable tier's output for a case (x rounded as its packing does). */
static void run_portable(const gemm_case *c, const packed_linear *pl, float *y) {
    int Kp = pl->K2 * 2;
    uint16_t *xh = calloc((size_t)c->M * Kp, sizeof *xh);
    for (int m = 0; m < c->M; m++)
        for (int k = 0; k < c->K; k++) xh[(size_t)m * Kp + k] = weight_from_float(c->x[m * c->K + k], WEIGHT_BF16);
    gemm_panel_bf16_ref(y, xh, pl, c->M, 0, (c->N + GEMM_NR - 1) / GEMM_NR);
    free(xh);
}

static void t_bf16_gemm_tiers(void) {
    static const int Ms[] = {1, 11, 12, 13, 97, 200}, Ns[] = {5, 16, 33, 48, 80}, Ks[] = {1, 7, 256, 300, 768, 1537};
    bool vec = cpu_has_avx512bf16();
    if (!vec)
        printf("  skipped the AVX512-BF16 tier: %s; portable tier only\n",
               getenv("BERTC_NO_AVX512BF16") ? "BERTC_NO_AVX512BF16 is set" : "this CPU has no AVX512-BF16");
    double worst_p = 0, worst_v = 0, worst_pv = 0; /* in units of the bound */
    long avx2_checked = 0;
    long identical = 0, total = 0;
    for (int a = 0; a < 6; a++)
        for (int b = 0; b < 5; b++)
            for (int d = 0; d < 6; d++) {
                gemm_case c;
                make_case(&c, Ms[a], Ns[b], Ks[d]);
                int M = c.M, N = c.N, K = c.K, np = (N + GEMM_NR - 1) / GEMM_NR;
                packed_linear pl;
                CHECK(linear_pack_bf16(&pl, c.W, c.bias, N, K), "pack");
                CHECK(pl.wb && !pl.w && !pl.wh && !pl.wq && pl.K2 == bf16_pairs(K), "bf16 linear holds bf16 weights only");
                float *yp = malloc(sizeof(float) * M * N), *yv = malloc(sizeof(float) * M * N);
                run_portable(&c, &pl, yp);
                for (int i = 0; i < M * N; i++) {
                    double e = fabs(yp[i] - c.exact[i]) / c.bound[i];
                    if (e > worst_p) worst_p = e;
                    if (e > 1.0 && e < 1e30)
                        CHECK(0, "portable M %d N %d K %d [%d]: %.9g vs exact %.9g (bound %.3g)", M, N, K, i, yp[i],
                              c.exact[i], c.bound[i]);
                }
                if (cpu_has_avx2_fma()) { /* the AVX2 + FMA tier: the portable tier's bits */
                    float *ya = malloc(sizeof(float) * M * N);
                    linear_forward_on(NULL, ya, c.x, &pl, M, EPI_NONE, NULL, BF16_AVX2, INT8_PORTABLE);
                    int diff = 0;
                    for (int i = 0; i < M * N; i++) diff += memcmp(&ya[i], &yp[i], 4) != 0;
                    CHECK(!diff, "avx2 M %d N %d K %d: %d outputs differ from the portable tier", M, N, K, diff);
                    avx2_checked += M * N;
                    free(ya);
                }
                if (vec) {
                    int nb = (M + GEMM_AVX512_MR - 1) / GEMM_AVX512_MR;
                    uint32_t *xp = malloc(sizeof(uint32_t) * nb * GEMM_AVX512_MR * pl.K2);
                    pack_rows_bf16_avx512(xp, c.x, M, K, pl.K2, 0, nb);
                    /* the whole range, then split at an odd panel (a single panel, then pairs): the same bits */
                    gemm_panel_bf16_avx512(yv, xp, &pl, M, 0, np, NULL);
                    float *ys = malloc(sizeof(float) * M * N);
                    gemm_panel_bf16_avx512(ys, xp, &pl, M, 0, 1, NULL);
                    gemm_panel_bf16_avx512(ys, xp, &pl, M, 1, np, NULL);
                    CHECK(!memcmp(ys, yv, sizeof(float) * M * N), "M %d N %d K %d: split panels differ", M, N, K);
                    free(ys);
                    free(xp);
                    for (int i = 0; i < M * N; i++) {
                        double e = fabs(yv[i] - c.exact[i]) / c.bound[i], dpv = fabs(yv[i] - yp[i]) / c.bound[i];
                        if (e > worst_v) worst_v = e;
                        if (dpv > worst_pv) worst_pv = dpv;
                        identical += yv[i] == yp[i];
                        total++;
                        if (e > 1.0)
                            CHECK(0, "avx512bf16 M %d N %d K %d [%d]: %.9g vs exact %.9g (bound %.3g)", M, N, K, i, yv[i],
                                  c.exact[i], c.bound[i]);
                        if (dpv > 2.0)
                            CHECK(0, "M %d N %d K %d [%d]: avx512bf16 %.9g vs portable %.9g", M, N, K, i, yv[i], yp[i]);
                    }
                }
                linear_free(&pl);
                free(yp);
                free(yv);
                free_case(&c);
            }
    if (avx2_checked) printf("  avx2 tier: %ld outputs, each the portable tier's bits\n", avx2_checked);
    else printf("  skipped the AVX2 bf16 tier: no AVX2 + FMA here\n");
    printf("  worst error / bound: portable %.3f%s", worst_p, vec ? "" : "\n");
    if (vec)
        printf(", avx512bf16 %.3f; avx512bf16 vs portable %.3f of the bound, %ld of %ld outputs bit-identical\n", worst_v,
               worst_pv, identical, total);
}

/* linear_forward (threads, x rounding, epilogues) on this process's tier against the portable panels plus the
 * fp32 epilogue, within the bound; GELU and the residual fused or not are the same operations. */
static void t_bf16_linear_forward(void) {
    threadpool *tp = threadpool_new(3);
    static const enum epilogue acts[] = {EPI_NONE, EPI_GELU, EPI_RELU};
    for (int ai = 0; ai < 3; ai++)
        for (int r = 0; r < 2; r++) {
            gemm_case c;
            make_case(&c, 50, 70, 129);
            int M = c.M, N = c.N;
            packed_linear pl;
            CHECK(linear_pack_bf16(&pl, c.W, c.bias, N, c.K), "pack");
            float *res = malloc(sizeof(float) * M * N), *y = malloc(sizeof(float) * M * N), *yp = malloc(sizeof(float) * M * N);
            for (int i = 0; i < M * N; i++) res[i] = frand();
            linear_forward(tp, y, c.x, &pl, M, acts[ai], r ? res : NULL);
            run_portable(&c, &pl, yp);
            int bad = 0;
            for (int i = 0; i < M * N; i++) {
                double v = yp[i], e = c.exact[i];
                if (acts[ai] == EPI_GELU) v = 0.5 * v * (1 + erf(v / sqrt(2.0))), e = 0.5 * e * (1 + erf(e / sqrt(2.0)));
                if (acts[ai] == EPI_RELU) v = v > 0 ? v : 0, e = e > 0 ? e : 0;
                if (r) v += res[i], e += res[i];
                /* the sum's bound (GELU's slope is below 1.13), the activation's own error (< 1e-6 relative), the
                 * residual's rounding */
                double tol = 1.13 * c.bound[i] + 2e-6 * (fabs(e) + 1e-3) + (r ? ldexp(fabs(e), -23) : 0);
                if (fabs(y[i] - e) > tol && bad++ < 5)
                    CHECK(0, "act %d res %d [%d]: %.9g, exact %.9g, portable %.9g", ai, r, i, y[i], e, v);
            }
            linear_free(&pl);
            free(res); free(y); free(yp);
            free_case(&c);
        }
    threadpool_free(tp);
}

static bertc_model *load_p(const char *dir, bertc_dtype dt, bertc_compute cm, bertc_status *st, bertc_error *err) {
    bertc_model_params p = bertc_model_default_params();
    p.dtype = dt;
    p.compute = cm;
    p.n_threads = 2;
    bertc_model *m = NULL;
    *st = bertc_model_load(dir, &p, &m, err);
    return m;
}

/* The API: default fp32; info names the mode and the tier; fp16 / int8 storage and unknown values are refused;
 * the encoder's linears hold bf16 weights only (half of fp32's bytes), the head stays fp32. */
static void t_bf16_model(void) {
    bertc_model_params dp = bertc_model_default_params();
    CHECK(dp.compute == BERTC_COMPUTE_FP32, "default compute %d", (int)dp.compute);
    bertc_status s;
    bertc_error err;
    bertc_model *m = load_p(TD "tiny-distilbert", BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16, &s, &err);
    CHECK(s == BERTC_OK, "load: %s", s ? err.message : "");
    if (m) {
        bertc_model_info in;
        bertc_model_get_info(m, &in);
        CHECK(in.compute_mode == BERTC_COMPUTE_BF16, "info compute_mode %d", (int)in.compute_mode);
        CHECK(!strcmp(in.compute_isa, bf16_tier_name(kernels_bf16_tier())) && bf16_tier_available(kernels_bf16_tier()),
              "compute_isa %s", in.compute_isa);
        for (int l = 0; l < m->cfg.layers; l++) {
            const layer_w *L = &m->layer[l];
            const packed_linear *ls[4] = {&L->qkv, &L->out, &L->ffn1, &L->ffn2};
            for (int k = 0; k < 4; k++) CHECK(ls[k]->wb && !ls[k]->w && !ls[k]->wh, "layer %d linear %d not bf16", l, k);
        }
        CHECK(m->head_dense.w && !m->head_dense.wb, "the head stays fp32");
    }
    bertc_model_free(m);
    m = load_p(TD "tiny-distilbert", BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32, &s, &err);
    if (m) {
        bertc_model_info in;
        bertc_model_get_info(m, &in);
        CHECK(in.compute_mode == BERTC_COMPUTE_FP32 && !strcmp(in.compute_isa, in.isa), "fp32 info %d %s",
              (int)in.compute_mode, in.compute_isa);
        CHECK(!m->layer[0].qkv.wb && m->layer[0].qkv.w, "fp32 compute packs fp32");
    }
    bertc_model_free(m);
    static const bertc_dtype refused[] = {BERTC_DTYPE_FP16, BERTC_DTYPE_INT8};
    for (int k = 0; k < 2; k++) {
        m = load_p(TD "tiny-distilbert", refused[k], BERTC_COMPUTE_BF16, &s, &err);
        CHECK(!m && s == BERTC_ERR_INVALID_ARG && strstr(err.message, "compute bf16 needs dtype fp32 or bf16"),
              "dtype %d with bf16 compute: %d %s", (int)refused[k], (int)s, s ? err.message : "");
        bertc_model_free(m);
    }
    m = load_p(TD "tiny-distilbert", BERTC_DTYPE_FP32, (bertc_compute)7, &s, &err);
    CHECK(!m && s == BERTC_ERR_INVALID_ARG && strstr(err.message, "unknown compute"), "compute 7: %d", (int)s);
    bertc_model_free(m);
    /* bf16 storage + bf16 compute: the same bf16 weights as fp32 storage of a bf16 checkpoint, so the same logits */
    char out[4096], out2[4096];
    int rc = run_cli("@ classify --logits --compute bf16 --model " TD "tiny-distilbert-bf16 'a charming journey' 2>&1", out, sizeof out);
    int rc2 = run_cli("@ classify --logits --compute bf16 --dtype bf16 --model " TD "tiny-distilbert-bf16 'a charming journey' 2>&1",
                      out2, sizeof out2);
    CHECK(rc == 0 && rc2 == 0 && !strcmp(out, out2), "bf16 checkpoint, dtype fp32 vs bf16: %s | %s", out, out2);
    rc = run_cli("@ info --compute bf16 --model " TD "tiny-distilbert", out, sizeof out);
    CHECK(rc == 0 && strstr(out, "\"compute_mode\": \"bf16\"") && strstr(out, "\"compute_isa\": \""), "info: %d %s", rc, out);
    rc = run_cli("@ info --compute fp16 --model " TD "tiny-distilbert 2>&1", out, sizeof out);
    CHECK(rc == 2 && strstr(out, "--compute must be fp32 or bf16"), "--compute fp16: %d %s", rc, out);
    rc = run_cli("@ info --compute bf16 --dtype int8 --model " TD "tiny-distilbert 2>&1", out, sizeof out);
    CHECK(rc != 0 && strstr(out, "compute bf16 needs dtype fp32 or bf16"), "--dtype int8 --compute bf16: %d %s", rc, out);
}

/* The fixtures' reference texts: logits in bf16 compute against fp32 compute (measured, then bounded). */
static void t_bf16_fixtures(void) {
    static const char *const names[] = {"tiny-distilbert", "tiny-bert", "tiny-roberta", "tiny-xlmr", "tiny-distilbert-bf16",
                                        "tiny-mpnet", "tiny-electra"};
    for (size_t f = 0; f < sizeof names / sizeof *names; f++) {
        char dir[256], path[256];
        snprintf(dir, sizeof dir, TD "%s", names[f]);
        snprintf(path, sizeof path, TD "%s.ref.jsonl", names[f]);
        FILE *fp = fopen(path, "r");
        CHECK(fp, "open %s", path);
        if (!fp) continue;
        json_t *rows[256];
        size_t n = 0;
        char *line = NULL;
        size_t cap = 0;
        while (n < 256 && getline(&line, &cap, fp) > 0) rows[n++] = json_loads(line, JSON_ALLOW_NUL, NULL);
        free(line);
        fclose(fp);
        bertc_text *in = calloc(n, sizeof *in);
        for (size_t i = 0; i < n; i++) {
            json_t *t = json_object_get(rows[i], "text");
            in[i].text = json_string_value(t);
            in[i].len = json_string_length(t);
        }
        bertc_status s1, s2;
        bertc_error err;
        bertc_model *m32 = load_p(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_FP32, &s1, &err);
        bertc_model *m16 = load_p(dir, BERTC_DTYPE_FP32, BERTC_COMPUTE_BF16, &s2, &err);
        CHECK(m32 && m16, "load %s", dir);
        bertc_classification *a = calloc(n, sizeof *a), *b = calloc(n, sizeof *b);
        if (m32 && m16 && bertc_classify(m32, in, n, NULL, a, &err) == BERTC_OK &&
            bertc_classify(m16, in, n, NULL, b, &err) == BERTC_OK) {
            double worst = 0, scale = 0;
            int agree = 0;
            for (size_t i = 0; i < n; i++) {
                for (int k = 0; k < a[i].n_labels; k++) {
                    double d = fabs(a[i].logits[k] - b[i].logits[k]);
                    if (d > worst) worst = d;
                    if (fabs(a[i].logits[k]) > scale) scale = fabs(a[i].logits[k]);
                }
                agree += a[i].label_id == b[i].label_id;
            }
            printf("  %-22s bf16 vs fp32 compute: worst logit diff %.2e (largest |logit| %.2f), labels agree %d/%zu\n",
                   names[f], worst, scale, agree, n);
            /* measured on Zen 5 (both tiers, bit-identical): at most 1.6e-2 (tiny-bert) with logits up to 2; the
             * bound leaves 3x */
            CHECK(worst <= 5e-2, "%s: logits differ by %.3g", names[f], worst);
        } else {
            CHECK(0, "%s classify failed: %s", names[f], err.message);
        }
        bertc_classification_free(a, n);
        bertc_classification_free(b, n);
        free(a);
        free(b);
        bertc_model_free(m32);
        bertc_model_free(m16);
        free(in);
        for (size_t i = 0; i < n; i++) json_decref(rows[i]);
    }
    /* the portable tier end to end (a fresh process with BERTC_NO_AVX512BF16=1) against this process's tier */
    char o1[8192], o2[8192];
    int r1 = run_cli("@ classify --logits --compute bf16 --model " TD "tiny-bert 'a charming journey' 'bleak and desperate' "
                     "'the movie is neither good nor bad , but it is long'", o1, sizeof o1);
    int r2 = run_cli("BERTC_NO_AVX512BF16=1 @ classify --logits --compute bf16 --model " TD "tiny-bert 'a charming journey' "
                     "'bleak and desperate' 'the movie is neither good nor bad , but it is long'", o2, sizeof o2);
    CHECK(r1 == 0 && r2 == 0, "classify: %d %d", r1, r2);
    double worst = 0;
    const char *p1 = o1, *p2 = o2;
    int seen = 0;
    while ((p1 = strstr(p1, "\"logits\": [")) && (p2 = strstr(p2, "\"logits\": ["))) {
        p1 += 11, p2 += 11;
        for (int k = 0; k < 2; k++) {
            char *e1, *e2;
            double v1 = strtod(p1, &e1), v2 = strtod(p2, &e2);
            if (fabs(v1 - v2) > worst) worst = fabs(v1 - v2);
            p1 = e1 + (*e1 == ','), p2 = e2 + (*e2 == ',');
            seen++;
        }
    }
    CHECK(seen == 6, "parsed %d logits: %s", seen, o1);
    printf("  tiny-bert, portable vs this CPU's tier (%s): worst logit diff %.2e\n", bf16_tier(), worst);
    CHECK(worst <= 1e-5, "tiers differ by %.3g", worst);
}

/* The default model on SST-2 dev (872 sentences; 120 in the sanitizer build) through `bertc eval --compute bf16`:
 * the labels agree with fp32 compute's on at least 99% (measured on the distilled default, AMX tier: accuracy 0.9094 against fp32 compute's 0.9106). */
static void t_bf16_sst2(void) {
    char out[512], pa32[64], pa16[64], data[64], cmd[512];
    snprintf(pa32, sizeof pa32, "/tmp/bertc-test-bf16-%d-fp32.jsonl", (int)getpid()); /* suites may run side by side */
    snprintf(pa16, sizeof pa16, "/tmp/bertc-test-bf16-%d-bf16.jsonl", (int)getpid());
    int want = 872;
    snprintf(data, sizeof data, TD "sst2-dev.tsv");
#if defined(__SANITIZE_ADDRESS__)
    /* the sanitizer build runs the 22M-parameter model some 20x slower: the first 120 sentences there */
    want = 120;
    snprintf(data, sizeof data, "/tmp/bertc-test-bf16-%d-dev.tsv", (int)getpid());
    snprintf(cmd, sizeof cmd, "head -n %d " TD "sst2-dev.tsv > %s", want + 1, data);
    CHECK(system(cmd) == 0, "%s", cmd);
#endif
    snprintf(cmd, sizeof cmd, "@ eval --data %s --quiet --predictions %s > /dev/null", data, pa32);
    int r1 = run_cli(cmd, out, sizeof out);
    snprintf(cmd, sizeof cmd, "@ eval --data %s --quiet --compute bf16 --predictions %s > /dev/null", data, pa16);
    int r2 = run_cli(cmd, out, sizeof out);
    CHECK(r1 == 0 && r2 == 0, "eval: %d %d", r1, r2);
    FILE *a = fopen(pa32, "r"), *b = fopen(pa16, "r");
    CHECK(a && b, "predictions files");
    if (!a || !b) {
        if (a) fclose(a);
        if (b) fclose(b);
        remove(pa32);
        remove(pa16);
        return;
    }
    char *la = NULL, *lb = NULL;
    size_t ca = 0, cb = 0;
    int n = 0, agree = 0, right32 = 0, right16 = 0;
    while (getline(&la, &ca, a) > 0 && getline(&lb, &cb, b) > 0) {
        json_t *ja = json_loads(la, 0, NULL), *jb = json_loads(lb, 0, NULL);
        const char *pa = json_string_value(json_object_get(ja, "pred")), *pb = json_string_value(json_object_get(jb, "pred"));
        const char *g = json_string_value(json_object_get(ja, "gold"));
        if (pa && pb && g) {
            n++;
            agree += !strcmp(pa, pb);
            right32 += !strcmp(pa, g);
            right16 += !strcmp(pb, g);
        }
        json_decref(ja);
        json_decref(jb);
    }
    free(la);
    free(lb);
    fclose(a);
    fclose(b);
    remove(pa32);
    remove(pa16);
    if (want != 872) remove(data);
    CHECK(n == want, "%d predictions", n);
    printf("  SST-2 dev (%d sentences), default model: accuracy fp32 %.4f, bf16 compute %.4f; labels agree %d/%d\n",
           n, n ? (double)right32 / n : 0, n ? (double)right16 / n : 0, agree, n);
    CHECK(agree * 100 >= n * 99, "labels agree on %d of %d", agree, n);
}

void tests_bf16(void) {
    run_test("bf16/rounding", t_bf16_rounding);
    run_test("bf16/gemm_tiers", t_bf16_gemm_tiers);
    run_test("bf16/linear_forward", t_bf16_linear_forward);
    run_test("bf16/model", t_bf16_model);
    run_test("bf16/fixtures", t_bf16_fixtures);
    run_test("bf16/sst2_dev", t_bf16_sst2);
}
