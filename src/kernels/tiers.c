/*
 * tiers.c — which kernels bf16 compute and int8 run on: the candidates this CPU has, each timed once per process on
 * one thread over a GEMM of an encoder's shape, the fastest kept. Flag presence alone misleads: vdpbf16ps runs at
 * half the fp32 FMA rate on Intel cores (bf16 compute there would be slower than fp32) and at full rate on AMD Zen
 * 4/5; the tile unit, where the kernel lets a process use it, beats both by an order of magnitude.
 *
 * The choice changes which kernels run, never the layouts: every bf16 tier reads the same packed weights (the pair
 * layout of linear_pack_bf16), every int8 tier the same quads, so a model packed before the choice runs on any of
 * them. The int8 tiers all give the same bits; the bf16 tiers each hold the fp32-summation bound (tests/test_bf16.c),
 * the AVX2 one bit for bit with the portable reference. The candidates are the dispatch table's tiers
 * (dispatch.c) that this CPU has; the choice is an index into the table's bf16 and int8 GEMMs.
 */
#include "tiers.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool amx_emulate(void) {
    const char *e = getenv("BERTC_AMX");
    return e && !strcmp(e, "emulate");
}

static const char *const bf16_names[BF16_TIERS] = {"portable", "avx2", "avx512bf16", "amx", "amx-emulated"};
static const char *const int8_names[INT8_TIERS] = {"portable", "avx2", "avx512", "amx", "amx-emulated"};

const char *bf16_tier_name(int t) { return t >= 0 && t < BF16_TIERS ? bf16_names[t] : "?"; }
const char *int8_tier_name(int t) { return t >= 0 && t < INT8_TIERS ? int8_names[t] : "?"; }

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* The calibration GEMM: 64 tokens through a 768 x 768 linear (DistilBERT's attention output; 75 MFLOP), the best of
 * three runs on this thread, the candidates interleaved. A few milliseconds, once per process. */
enum { CAL_M = 64, CAL_N = 768, CAL_K = 768, CAL_REPS = 3 };

static double rate(packed_linear *pl, const float *x, float *y, int bt, int it) {
    linear_forward_on(NULL, y, x, pl, CAL_M, EPI_NONE, NULL, bt, it); /* warm: scratch, tile permission, caches */
    double best = 1e30;
    for (int r = 0; r < CAL_REPS; r++) {
        double t0 = now_s();
        linear_forward_on(NULL, y, x, pl, CAL_M, EPI_NONE, NULL, bt, it);
        double t = now_s() - t0;
        if (t < best) best = t;
    }
    return 2.0 * CAL_M * CAL_N * CAL_K / (best > 1e-9 ? best : 1e-9) * 1e-9;
}

static tier_choice choice;
static int chosen_bf16 = -1, chosen_int8 = -1;
static bool fallback; /* bf16 compute runs as fp32: no bf16 tier beat the fp32 kernels here */

static int forced(const char *var, const char *const *names, int n, bool (*available)(int)) {
    const char *e = getenv(var);
    if (!e) return -1;
    if (!strcmp(var, "BERTC_BF16_TIER") && !strcmp(e, "fp32")) return BF16_TIERS; /* the fp32 fallback, forced */
    for (int t = 0; t < n; t++)
        if (!strcmp(e, names[t]) && available(t)) return t;
    return -1;
}

/* The fastest measured candidate; a later (wider) candidate must win by 3% to displace an earlier one, so that noise
 * does not flip the choice between near-equal tiers. */
static int fastest(const double *r, int n) {
    int best = -1;
    for (int t = 0; t < n; t++)
        if (r[t] > 0 && (best < 0 || r[t] > 1.03 * r[best])) best = t;
    return best;
}

/* The calibration operands: a 768 x 768 linear and 64 rows of input, deterministic. */
typedef struct cal_data {
    float *W, *x, *y;
} cal_data;

static bool cal_init(cal_data *c) {
    c->W = malloc(sizeof(float) * CAL_N * CAL_K);
    c->x = malloc(sizeof(float) * CAL_M * CAL_K);
    c->y = malloc(sizeof(float) * CAL_M * CAL_N);
    if (!c->W || !c->x || !c->y) return false;
    uint32_t s = 12345;
    for (int i = 0; i < CAL_N * CAL_K; i++) c->W[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) * 0x1p-27f - 0.0625f;
    for (int i = 0; i < CAL_M * CAL_K; i++) c->x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) * 0x1p-22f - 2.0f;
    return true;
}

static void cal_free(cal_data *c) {
    free(c->W);
    free(c->x);
    free(c->y);
}

/* bf16 compute: the candidates this CPU has and the fp32 kernels, timed in two interleaved rounds (the better figure
 * of each kept); the fastest candidate, or the fp32 fallback where fp32 wins clearly. */
static void choose_bf16(void) {
    choice.bf16_how = "only";
    if (amx_emulate()) {
        chosen_bf16 = BF16_AMX_EMULATED;
        choice.bf16_how = "forced";
        return;
    }
    int fb = forced("BERTC_BF16_TIER", bf16_names, BF16_TIERS, bf16_tier_available);
    if (fb >= 0) {
        fallback = fb == BF16_TIERS; /* BERTC_BF16_TIER=fp32 */
        chosen_bf16 = fallback ? BF16_PORTABLE : fb;
        choice.bf16_how = "forced";
        return;
    }
    bool cands[BF16_TIERS] = {false};
    int n = 0;
    chosen_bf16 = BF16_PORTABLE; /* unless measured: the widest tier this CPU has */
    for (int t = BF16_AVX2; t <= BF16_AMX; t++)
        if ((cands[t] = bf16_tier_available(t))) chosen_bf16 = t, n++;
    if (!n) cands[BF16_PORTABLE] = true; /* no vector tier: the portable one, against fp32 */
    cal_data c;
    packed_linear pb, pf;
    if (cal_init(&c) && linear_pack_bf16(&pb, c.W, NULL, CAL_N, CAL_K)) {
        if (linear_pack(&pf, c.W, NULL, CAL_N, CAL_K)) {
            for (int round = 0; round < 2; round++) {
                for (int t = 0; t < BF16_TIERS; t++) {
                    double r = cands[t] ? rate(&pb, c.x, c.y, t, INT8_PORTABLE) : 0;
                    if (r > choice.bf16_rate[t]) choice.bf16_rate[t] = r;
                }
                double r = rate(&pf, c.x, c.y, BF16_PORTABLE, INT8_PORTABLE);
                if (r > choice.fp32_rate) choice.fp32_rate = r;
            }
            chosen_bf16 = fastest(choice.bf16_rate, BF16_TIERS);
            choice.bf16_how = "measured";
            /* bf16 compute exists to be faster: where the fp32 kernels beat every bf16 tier clearly (by 25%: Intel
             * cores without AMX, whose vdpbf16ps runs at half the FMA rate, or AVX-512 CPUs whose only bf16 tier is
             * AVX2), it runs as fp32 (exact products, no rounding of the inputs). Closer calls stay on bf16: a margin
             * wider than the measurement's noise keeps the choice, and so the results, the same from one process to
             * the next. */
            fallback = choice.fp32_rate > 1.25 * choice.bf16_rate[chosen_bf16];
            linear_free(&pf);
        }
        linear_free(&pb);
    }
    cal_free(&c);
}

/* int8: every tier gives the same bits, so only speed decides; timed where there are several candidates. */
static void choose_int8(void) {
    choice.int8_how = "only";
    if (amx_emulate()) {
        chosen_int8 = INT8_AMX_EMULATED;
        choice.int8_how = "forced";
        return;
    }
    int fi = forced("BERTC_INT8_TIER", int8_names, INT8_TIERS, int8_tier_available);
    if (fi >= 0) {
        chosen_int8 = fi;
        choice.int8_how = "forced";
        return;
    }
    bool cands[INT8_TIERS] = {false};
    int n = 0;
    chosen_int8 = INT8_PORTABLE;
    for (int t = INT8_AVX2; t <= INT8_AMX; t++)
        if ((cands[t] = int8_tier_available(t))) chosen_int8 = t, n++;
    if (n < 2) return;
    cal_data c;
    packed_linear pi;
    if (cal_init(&c) && linear_pack_int8(&pi, c.W, NULL, CAL_N, CAL_K)) {
        for (int round = 0; round < 2; round++)
            for (int t = 0; t < INT8_TIERS; t++) {
                double r = cands[t] ? rate(&pi, c.x, c.y, BF16_PORTABLE, t) : 0;
                if (r > choice.int8_rate[t]) choice.int8_rate[t] = r;
            }
        chosen_int8 = fastest(choice.int8_rate, INT8_TIERS);
        choice.int8_how = "measured";
        linear_free(&pi);
    }
    cal_free(&c);
}

static pthread_once_t once_bf16 = PTHREAD_ONCE_INIT, once_int8 = PTHREAD_ONCE_INIT;

int kernels_bf16_tier(void) {
    pthread_once(&once_bf16, choose_bf16);
    return chosen_bf16;
}

int kernels_int8_tier(void) {
    pthread_once(&once_int8, choose_int8);
    return chosen_int8;
}

const tier_choice *kernels_tier_choice(void) {
    pthread_once(&once_bf16, choose_bf16);
    pthread_once(&once_int8, choose_int8);
    return &choice;
}

bool bf16_compute_fallback(void) {
    pthread_once(&once_bf16, choose_bf16);
    return fallback;
}

const char *bf16_tier(void) {
    if (bf16_compute_fallback()) {
        const char *simd = kernel_ops()->simd;
        return !strcmp(simd, "avx512") ? "fp32-avx512" : !strcmp(simd, "avx2") ? "fp32-avx2" : "fp32-portable";
    }
    return bf16_tier_name(kernels_bf16_tier());
}
const char *int8_tier(void) { return int8_tier_name(kernels_int8_tier()); }

void kernels_force_tiers(int bf16, int int8) {
    kernels_tier_choice();
    if (bf16 >= 0 && bf16 < BF16_TIERS && bf16_tier_available(bf16)) {
        chosen_bf16 = bf16;
        fallback = false;
    }
    if (int8 >= 0 && int8 < INT8_TIERS && int8_tier_available(int8)) chosen_int8 = int8;
}
