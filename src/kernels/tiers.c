/*
 * tiers.c — which kernels bf16 compute and int8 run on: the candidates this CPU has, each timed once per process on
 * one thread over a GEMM of an encoder's shape, the fastest kept. Flag presence alone misleads: vdpbf16ps runs at
 * half the fp32 FMA rate on Intel cores (bf16 compute there would be slower than fp32) and at full rate on AMD Zen
 * 4/5; the tile unit, where the kernel lets a process use it, beats both by an order of magnitude.
 *
 * The choice changes which kernels run, never the layouts: every bf16 tier reads the same packed weights (the pair
 * layout of linear_pack_bf16), every int8 tier the same quads, so a model packed before the choice runs on any of
 * them. The int8 tiers all give the same bits; the bf16 tiers each hold the fp32-summation bound (tests/test_bf16.c),
 * the AVX2 one bit for bit with the portable reference.
 */
#include "kernels.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <sys/syscall.h>
#include <unistd.h>
#endif

bool cpu_has_amx(void) {
#if defined(__x86_64__)
    static int cached = -1;
    if (cached < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        bool ok = !getenv("BERTC_NO_AMX") && __get_cpuid_count(7, 0, &a, &b, &c, &d) &&
                  ((d >> 22) & 1) /* AMX-BF16 */ && ((d >> 24) & 1) /* AMX-TILE */ && ((d >> 25) & 1) /* AMX-INT8 */ &&
                  ((c >> 27) & 1) /* OSXSAVE */;
        if (ok) {
            unsigned lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            ok = ((lo >> 17) & 3) == 3; /* XTILECFG and XTILEDATA enabled by the OS */
        }
        /* Linux keeps the 8 KiB tile state off until a process asks (ARCH_REQ_XCOMP_PERM = 0x1023, XTILEDATA = 18);
         * kernels without the call refuse it, and then the tile unit is not used. */
        if (ok) ok = syscall(SYS_arch_prctl, 0x1023, 18) == 0;
        cached = ok;
    }
    return cached;
#else
    return false;
#endif
}

static bool amx_emulate(void) {
    const char *e = getenv("BERTC_AMX");
    return e && !strcmp(e, "emulate");
}

static const char *const bf16_names[BF16_TIERS] = {"portable", "avx2", "avx512bf16", "amx", "amx-emulated"};
static const char *const int8_names[INT8_TIERS] = {"portable", "avx2", "avx512", "amx", "amx-emulated"};

const char *bf16_tier_name(int t) { return t >= 0 && t < BF16_TIERS ? bf16_names[t] : "?"; }
const char *int8_tier_name(int t) { return t >= 0 && t < INT8_TIERS ? int8_names[t] : "?"; }

bool bf16_tier_available(int t) {
    switch (t) {
    case BF16_PORTABLE: return true;
    case BF16_AVX2: return cpu_has_avx2_fma();
    case BF16_AVX512BF16: return cpu_has_avx512bf16();
    case BF16_AMX: return cpu_has_amx();
    case BF16_AMX_EMULATED: return true;
    }
    return false;
}

bool int8_tier_available(int t) {
    switch (t) {
    case INT8_PORTABLE: return true;
    case INT8_AVX2: return cpu_has_avx2_fma();
    case INT8_AVX512: return cpu_has_avx512();
    case INT8_AMX: return cpu_has_amx();
    case INT8_AMX_EMULATED: return true;
    }
    return false;
}

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

static void choose(void) {
    choice.bf16_how = choice.int8_how = "only";
    if (amx_emulate()) {
        chosen_bf16 = BF16_AMX_EMULATED;
        chosen_int8 = INT8_AMX_EMULATED;
        choice.bf16_how = choice.int8_how = "forced";
        return;
    }
    int fb = forced("BERTC_BF16_TIER", bf16_names, BF16_TIERS, bf16_tier_available);
    int fi = forced("BERTC_INT8_TIER", int8_names, INT8_TIERS, int8_tier_available);
    bool bf16_cands[BF16_TIERS] = {false}, int8_cands[INT8_TIERS] = {false};
    int nb = 0, ni = 0;
    for (int t = BF16_AVX2; t <= BF16_AMX; t++) nb += bf16_cands[t] = bf16_tier_available(t);
    for (int t = INT8_AVX2; t <= INT8_AMX; t++) ni += int8_cands[t] = int8_tier_available(t);
    /* Measure the candidates (and the fp32 kernels, which bf16 compute must beat) when bf16 is not forced, or int8
     * has several candidates. */
    if (fb < 0 || (fi < 0 && ni > 1)) {
        float *W = malloc(sizeof(float) * CAL_N * CAL_K), *x = malloc(sizeof(float) * CAL_M * CAL_K),
              *y = malloc(sizeof(float) * CAL_M * CAL_N);
        packed_linear pb, pi, pf;
        bool okb = false, oki = false, okf = false;
        if (W && x && y) {
            uint32_t s = 12345;
            for (int i = 0; i < CAL_N * CAL_K; i++) W[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) * 0x1p-27f - 0.0625f;
            for (int i = 0; i < CAL_M * CAL_K; i++) x[i] = (float)((s = s * 1664525u + 1013904223u) >> 8) * 0x1p-22f - 2.0f;
            okb = fb < 0 && linear_pack_bf16(&pb, W, NULL, CAL_N, CAL_K);
            oki = fi < 0 && ni > 1 && linear_pack_int8(&pi, W, NULL, CAL_N, CAL_K);
            if (okb && !nb) bf16_cands[BF16_PORTABLE] = true; /* no vector tier: the portable one against fp32 */
            if (okb && !(okf = linear_pack(&pf, W, NULL, CAL_N, CAL_K))) {
                linear_free(&pb);
                okb = false;
            }
        }
        for (int round = 0; round < 2; round++) { /* two rounds, the candidates interleaved; the better figure kept */
            for (int t = 0; okb && t < BF16_TIERS; t++) {
                double r = bf16_cands[t] ? rate(&pb, x, y, t, INT8_PORTABLE) : 0;
                if (r > choice.bf16_rate[t]) choice.bf16_rate[t] = r;
            }
            if (okb) {
                double r = rate(&pf, x, y, BF16_PORTABLE, INT8_PORTABLE);
                if (r > choice.fp32_rate) choice.fp32_rate = r;
            }
            for (int t = 0; oki && t < INT8_TIERS; t++) {
                double r = int8_cands[t] ? rate(&pi, x, y, BF16_PORTABLE, t) : 0;
                if (r > choice.int8_rate[t]) choice.int8_rate[t] = r;
            }
        }
        if (okb) linear_free(&pb);
        if (okf) linear_free(&pf);
        if (oki) linear_free(&pi);
        free(W);
        free(x);
        free(y);
        if (okb) choice.bf16_how = "measured";
        if (oki) choice.int8_how = "measured";
    }
    if (fb == BF16_TIERS) { /* BERTC_BF16_TIER=fp32 */
        fallback = true;
        chosen_bf16 = BF16_PORTABLE;
        choice.bf16_how = "forced";
    } else if (fb >= 0) {
        chosen_bf16 = fb;
        choice.bf16_how = "forced";
    } else if (!strcmp(choice.bf16_how, "measured")) {
        chosen_bf16 = fastest(choice.bf16_rate, BF16_TIERS);
        /* bf16 compute exists to be faster: where the fp32 kernels beat every bf16 tier clearly (by 25%: Intel cores
         * without AMX, whose vdpbf16ps runs at half the FMA rate, or AVX-512 CPUs whose only bf16 tier is AVX2), it
         * runs as fp32 (exact products, no rounding of the inputs). Closer calls stay on bf16: a margin wider than
         * the measurement's noise keeps the choice, and so the results, the same from one process to the next. */
        fallback = choice.fp32_rate > 1.25 * choice.bf16_rate[chosen_bf16];
    } else { /* one candidate (or the measurement could not run): the widest this CPU has */
        chosen_bf16 = BF16_PORTABLE;
        for (int t = BF16_AVX2; t <= BF16_AMX; t++)
            if (bf16_cands[t]) chosen_bf16 = t;
    }
    if (fi >= 0) {
        chosen_int8 = fi;
        choice.int8_how = "forced";
    } else if (!strcmp(choice.int8_how, "measured")) {
        chosen_int8 = fastest(choice.int8_rate, INT8_TIERS);
    } else {
        chosen_int8 = INT8_PORTABLE;
        for (int t = INT8_AVX2; t <= INT8_AMX; t++)
            if (int8_cands[t]) chosen_int8 = t;
    }
}

static pthread_once_t once = PTHREAD_ONCE_INIT;

int kernels_bf16_tier(void) {
    pthread_once(&once, choose);
    return chosen_bf16;
}

int kernels_int8_tier(void) {
    pthread_once(&once, choose);
    return chosen_int8;
}

const tier_choice *kernels_tier_choice(void) {
    pthread_once(&once, choose);
    return &choice;
}

bool bf16_compute_fallback(void) {
    pthread_once(&once, choose);
    return fallback;
}

const char *bf16_tier(void) {
    if (bf16_compute_fallback())
        return cpu_has_avx512() ? "fp32-avx512" : cpu_has_avx2_fma() ? "fp32-avx2" : "fp32-portable";
    return bf16_tier_name(kernels_bf16_tier());
}
const char *int8_tier(void) { return int8_tier_name(kernels_int8_tier()); }

void kernels_force_tiers(int bf16, int int8) {
    pthread_once(&once, choose);
    if (bf16 >= 0 && bf16 < BF16_TIERS && bf16_tier_available(bf16)) {
        chosen_bf16 = bf16;
        fallback = false;
    }
    if (int8 >= 0 && int8 < INT8_TIERS && int8_tier_available(int8)) chosen_int8 = int8;
}
