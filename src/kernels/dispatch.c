/*
 * dispatch.c — what this CPU has (cpuid, the OS's saved state, BERTC_NO_* overrides), and the kernel table filled
 * from it once per process: for each op the widest tier the CPU runs, the portable `*_ref` where it has none. The
 * only file that asks the CPU's features; every op reads the table (tiers.h).
 */
#include "tiers.h"

#include <pthread.h>
#include <stdlib.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__x86_64__)
#include <sys/syscall.h>
#include <unistd.h>
#endif

/* ---- CPU features ---- */

bool cpu_has_avx2_fma(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && !getenv("BERTC_NO_AVX2");
    }
    return cached;
#else
    return false;
#endif
}

bool cpu_has_avx512(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;
    if (cached < 0) {
        __builtin_cpu_init();
        cached = cpu_has_avx2_fma() && __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
                 __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512vnni") && !getenv("BERTC_NO_AVX512");
    }
    return cached;
#else
    return false;
#endif
}

bool cpu_has_avx512bf16(void) {
#if defined(__x86_64__) || defined(__i386__)
    static int cached = -1;
    if (cached < 0) {
        unsigned a = 0, b = 0, c = 0, d = 0;
        /* cpuid leaf 7 subleaf 1, EAX bit 5: AVX512_BF16 (vcvtne2ps2bf16, vcvtneps2bf16, vdpbf16ps); zmm state
         * saving by the OS is part of cpu_has_avx512() */
        bool bf16 = __get_cpuid_count(7, 1, &a, &b, &c, &d) && ((a >> 5) & 1);
        cached = bf16 && cpu_has_avx512() && !getenv("BERTC_NO_AVX512BF16");
    }
    return cached;
#else
    return false;
#endif
}

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

/* The tiers bf16 compute and int8 may run on here (tiers.c measures among them). AMX is asked only here, when a
 * choice is made: the tile permission is requested by the first bf16 or int8 model, not by every process. */
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

static kernel_table table;
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

/* ---- the GEMM tiers, adapted to one signature per kind (one call per task) ---- */

static void f32_ref(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *e) {
    gemm_panel_ref(y, x, pl, M, p0, p1);
}
static void f32_avx2(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *e) {
    gemm_panel_avx2(y, x, pl, M, p0, p1);
}
static void bf16_ref(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *e) {
    gemm_panel_bf16_ref(y, xb, pl, M, p0, p1);
}
static void bf16_avx2(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *e) {
    gemm_panel_bf16_avx2(y, xb, pl, M, p0, p1);
}
static void bf16_avx512(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1,
                        const gemm_epilogue *e) {
    gemm_panel_bf16_avx512(y, xb, pl, M, p0, p1, e);
}
static void bf16_amx(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1, const gemm_epilogue *e) {
    gemm_panel_bf16_amx(y, xb, pl, M, p0, p1);
}
static void bf16_amxemu(float *y, const void *xb, const packed_linear *pl, int M, int p0, int p1,
                        const gemm_epilogue *e) {
    gemm_panel_bf16_amxemu(y, xb, pl, M, p0, p1);
}
static void int8_ref(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1,
                     const gemm_epilogue *e) {
    gemm_panel_int8_ref(y, xq, sx, pl, M, p0, p1);
}
static void int8_avx2(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1,
                      const gemm_epilogue *e) {
    gemm_panel_int8_avx2(y, xq, sx, pl, M, p0, p1);
}
static void int8_amx(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1,
                     const gemm_epilogue *e) {
    gemm_panel_int8_amx(y, xq, sx, pl, M, p0, p1);
}
static void int8_amxemu(float *y, const uint8_t *xq, const float *sx, const packed_linear *pl, int M, int p0, int p1,
                        const gemm_epilogue *e) {
    gemm_panel_int8_amxemu(y, xq, sx, pl, M, p0, p1);
}

/* x rounded to bf16 in each tier's layout: AVX512-BF16, blocks of 12 rows (pack_rows_bf16_avx512); AVX2, rows of
 * 2 K2 floats holding bf16 values; portable and AMX, rows of 2 K2 bf16. Padding pairs are zero. */
static void pack_bf16_blocks(void *xb, const float *x, int M, int K, int K2, int u0, int u1) {
    pack_rows_bf16_avx512(xb, x, M, K, K2, u0, u1);
}
static void pack_bf16_floats(void *xb, const float *x, int M, int K, int K2, int u0, int u1) {
    const int Kp = 2 * K2;
    for (int m = u0; m < u1; m++) bf16_round_rows_avx2((float *)xb + (size_t)m * Kp, m < M ? x + (size_t)m * K : NULL, K, Kp);
}
static void pack_bf16_halves(void *xb, const float *x, int M, int K, int K2, int u0, int u1) {
    const int Kp = 2 * K2;
    for (int m = u0; m < u1; m++) {
        uint16_t *d = (uint16_t *)xb + (size_t)m * Kp;
        int k = 0;
        if (m < M) {
            table.bf16_row(d, x + (size_t)m * K, K);
            k = K;
        }
        for (; k < Kp; k++) d[k] = 0;
    }
}

/* ---- the table ---- */

static void fill_table(void) {
    const bool avx2 = cpu_has_avx2_fma(), avx512 = cpu_has_avx512(), avx512bf16 = cpu_has_avx512bf16();
    kernel_table *k = &table;
    k->simd = avx512 ? "avx512" : avx2 ? "avx2" : "portable";

    /* fp32 GEMM: AVX-512 reads x packed in row blocks and fuses GELU and the residual; AVX2 and portable read x as
     * given (AVX2 is also the AVX-512 CPU's fallback when the packing buffer cannot be had) */
    k->f32_unpacked = (gemm_tier){.panel_f32 = avx2 ? f32_avx2 : f32_ref};
    k->f32 = avx512 ? (gemm_tier){.panel_f32 = gemm_panel_avx512, .pack_f32 = pack_rows_avx512, .pairs = true, .fuses = true}
                    : k->f32_unpacked;

    /* bf16 compute, every tier (tiers.c picks one among the available ones) */
    k->bf16[BF16_PORTABLE] = (gemm_tier){.panel_bf16 = bf16_ref, .bf16_x = BF16_X_HALVES, .pack_bf16 = pack_bf16_halves};
    k->bf16[BF16_AVX2] = (gemm_tier){.panel_bf16 = bf16_avx2, .bf16_x = BF16_X_FLOATS, .pack_bf16 = pack_bf16_floats};
    k->bf16[BF16_AVX512BF16] = (gemm_tier){.panel_bf16 = bf16_avx512, .bf16_x = BF16_X_BLOCKS, .pack_bf16 = pack_bf16_blocks, .pairs = true, .fuses = true};
    k->bf16[BF16_AMX] = (gemm_tier){.panel_bf16 = bf16_amx, .bf16_x = BF16_X_HALVES, .pack_bf16 = pack_bf16_halves, .attention_bf16 = attention_head_bf16_amx,
                                    .pairs = true, .tiles = true};
    k->bf16[BF16_AMX_EMULATED] = (gemm_tier){.panel_bf16 = bf16_amxemu, .bf16_x = BF16_X_HALVES, .pack_bf16 = pack_bf16_halves,
                                             .attention_bf16 = attention_head_bf16_amxemu, .pairs = true, .tiles = true};
    /* int8, every tier (all give the same bits) */
    k->int8[INT8_PORTABLE] = (gemm_tier){.panel_int8 = int8_ref};
    k->int8[INT8_AVX2] = (gemm_tier){.panel_int8 = int8_avx2};
    k->int8[INT8_AVX512] = (gemm_tier){.panel_int8 = gemm_panel_int8_avx512, .pairs = true, .fuses = true};
    k->int8[INT8_AMX] = (gemm_tier){.panel_int8 = int8_amx, .pairs = true, .tiles = true};
    k->int8[INT8_AMX_EMULATED] = (gemm_tier){.panel_int8 = int8_amxemu, .pairs = true, .tiles = true};

    k->gelu = avx512 ? gelu_avx512 : avx2 ? gelu_avx2 : gelu_ref;
    k->gelu_grad = avx2 ? gelu_grad_avx2 : gelu_grad_ref;
    k->add = avx2 ? add_avx2 : add_ref;
    k->attention = avx2 ? attention_head_avx2 : attention_head_ref;
    k->attention_dh16 = avx512 ? attention_head_avx512 : k->attention;
    k->attention_rel = avx2 ? attention_head_rel_avx2 : attention_head_rel_ref;
    k->layernorm = avx2 ? layernorm_avx2 : layernorm_ref;
    k->quantize_rows = avx2 ? quantize_rows_avx2 : quantize_rows_ref;
    k->widen_half = avx2 ? widen_half_avx2 : widen_half_ref;
    k->bf16_row = avx512bf16 ? bf16_row_avx512 : bf16_row_ref;
    k->bf16_pair_rows = avx512bf16 ? bf16_pair_rows_avx512 : bf16_pair_rows_ref;
}

const kernel_table *kernel_ops(void) {
    pthread_once(&table_once, fill_table);
    return &table;
}

const char *simd_isa(void) { return kernel_ops()->simd; }
