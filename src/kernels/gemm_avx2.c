/*
 * gemm_avx2.c — AVX2/FMA versions of the GEMM panel routine and of one attention head. Compiled with
 * -mavx2 -mfma and only called when the CPU has both (cpu_has_avx2_fma). The micro-kernel keeps a 6x16
 * tile of y in 12 ymm accumulators: per k, two loads of the packed weight panel and six broadcasts of x.
 * K is blocked (KC) so a panel slice stays in L1 and a block of x rows in L2.
 */
#include "kernels.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#define KC 256
#define MC 96

static inline __attribute__((always_inline)) void kernel_6x16(int mr, const float *x, int ldx, const float *wp, int kc,
                                                              float *y, int ldy, int nc, const float *init) {
    __m256 acc[6][2];
    float tmp[6][16];
    for (int i = 0; i < 6; i++) {
        if (i < mr) {
            const float *src = init ? init : (nc == 16 ? y + (size_t)i * ldy : NULL);
            if (!src) {
                memset(tmp[i], 0, sizeof tmp[i]);
                memcpy(tmp[i], y + (size_t)i * ldy, (size_t)nc * sizeof(float));
                src = tmp[i];
            }
            acc[i][0] = _mm256_loadu_ps(src);
            acc[i][1] = _mm256_loadu_ps(src + 8);
        } else {
            acc[i][0] = acc[i][1] = _mm256_setzero_ps();
        }
    }
    for (int k = 0; k < kc; k++) {
        __m256 b0 = _mm256_load_ps(wp + (size_t)k * 16), b1 = _mm256_load_ps(wp + (size_t)k * 16 + 8);
        for (int i = 0; i < 6; i++) {
            if (i < mr) {
                __m256 a = _mm256_broadcast_ss(x + (size_t)i * ldx + k);
                acc[i][0] = _mm256_fmadd_ps(a, b0, acc[i][0]);
                acc[i][1] = _mm256_fmadd_ps(a, b1, acc[i][1]);
            }
        }
    }
    for (int i = 0; i < mr; i++) {
        if (nc == 16) {
            _mm256_storeu_ps(y + (size_t)i * ldy, acc[i][0]);
            _mm256_storeu_ps(y + (size_t)i * ldy + 8, acc[i][1]);
        } else {
            _mm256_storeu_ps(tmp[i], acc[i][0]);
            _mm256_storeu_ps(tmp[i] + 8, acc[i][1]);
            memcpy(y + (size_t)i * ldy, tmp[i], (size_t)nc * sizeof(float));
        }
    }
}

/* Specialized per row count so the accumulators stay in registers. */
static void kernel_dispatch(int mr, const float *x, int ldx, const float *wp, int kc, float *y, int ldy, int nc,
                            const float *init) {
    switch (mr) {
    case 6: kernel_6x16(6, x, ldx, wp, kc, y, ldy, nc, init); break;
    case 5: kernel_6x16(5, x, ldx, wp, kc, y, ldy, nc, init); break;
    case 4: kernel_6x16(4, x, ldx, wp, kc, y, ldy, nc, init); break;
    case 3: kernel_6x16(3, x, ldx, wp, kc, y, ldy, nc, init); break;
    case 2: kernel_6x16(2, x, ldx, wp, kc, y, ldy, nc, init); break;
    default: kernel_6x16(1, x, ldx, wp, kc, y, ldy, nc, init); break;
    }
}

void gemm_panel_avx2(float *y, const float *x, const packed_linear *pl, int M, int p0, int p1) {
    int N = pl->N, K = pl->K;
    for (int kb = 0; kb < K; kb += KC) {
        int kc = K - kb < KC ? K - kb : KC;
        for (int mb = 0; mb < M; mb += MC) {
            int mc = M - mb < MC ? M - mb : MC;
            for (int p = p0; p < p1; p++) {
                const float *wp = pl->w + ((size_t)p * K + kb) * GEMM_NR;
                int nc = N - p * GEMM_NR < GEMM_NR ? N - p * GEMM_NR : GEMM_NR;
                const float *init = kb == 0 ? pl->bias + p * GEMM_NR : NULL;
                for (int m = mb; m < mb + mc; m += 6) {
                    int mr = mb + mc - m < 6 ? mb + mc - m : 6;
                    kernel_dispatch(mr, x + (size_t)m * K + kb, K, wp, kc, y + (size_t)m * N + p * GEMM_NR, N, nc,
                                    init);
                }
            }
        }
    }
}

static inline float hsum(__m256 v) {
    __m128 lo = _mm256_castps256_ps128(v), hi = _mm256_extractf128_ps(v, 1);
    lo = _mm_add_ps(lo, hi);
    lo = _mm_add_ps(lo, _mm_movehl_ps(lo, lo));
    lo = _mm_add_ss(lo, _mm_movehdup_ps(lo));
    return _mm_cvtss_f32(lo);
}

static inline float dot(const float *a, const float *b, int n) {
    __m256 acc = _mm256_setzero_ps();
    int i = 0;
    for (; i + 8 <= n; i += 8) acc = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(b + i), acc);
    float s = hsum(acc);
    for (; i < n; i++) s += a[i] * b[i];
    return s;
}

void attention_head_avx2(float *out, const float *qkv, int T, int H, int head, int dh, float *scratch) {
    const int ld = 3 * H;
    const float scale = 1.0f / sqrtf((float)dh);
    const float *q = qkv + head * dh, *k = qkv + H + head * dh, *v = qkv + 2 * H + head * dh;
    for (int i = 0; i < T; i++) {
        float mx = -INFINITY;
        for (int j = 0; j < T; j++) {
            float s = dot(q + (size_t)i * ld, k + (size_t)j * ld, dh) * scale;
            scratch[j] = s;
            if (s > mx) mx = s;
        }
        float sum = 0.0f;
        for (int j = 0; j < T; j++) {
            scratch[j] = expf(scratch[j] - mx);
            sum += scratch[j];
        }
        float inv = 1.0f / sum;
        float *o = out + (size_t)i * H + head * dh;
        int d = 0;
        for (; d + 8 <= dh; d += 8) {
            __m256 acc = _mm256_setzero_ps();
            for (int j = 0; j < T; j++)
                acc = _mm256_fmadd_ps(_mm256_set1_ps(scratch[j]), _mm256_loadu_ps(v + (size_t)j * ld + d), acc);
            _mm256_storeu_ps(o + d, _mm256_mul_ps(acc, _mm256_set1_ps(inv)));
        }
        for (; d < dh; d++) {
            float acc = 0.0f;
            for (int j = 0; j < T; j++) acc += scratch[j] * v[(size_t)j * ld + d];
            o[d] = acc * inv;
        }
    }
}
