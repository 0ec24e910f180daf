/*
 * attention_local_avx2.c — attention_local.c's window attention and row softmax on AVX2 + FMA (the same function,
 * its sums in another order; exp through the fused epilogue's vector exp). Compiled with -mavx2 -mfma; called by
 * attention_local.c where the CPU's SIMD tier is AVX2 or AVX-512.
 */
#include "kernels.h"
#include "simd_avx2.h"

#include <math.h>

void attention_window_avx2(float *out, int ldo, const float *q, const float *k, const float *v, int ld, int T, int dh,
                           int w, int q0, int q1, float *scratch);
void softmax_rows_avx2(float *S, int rows, int T, float scale);

/* exp(s[j] - mx) in place over n values (the tail scalar); returns their sum */
static float exp_sub_sum(float *s, int n, float mx) {
    __m256 vm = _mm256_set1_ps(mx), vs = _mm256_setzero_ps();
    int j = 0;
    for (; j + 8 <= n; j += 8) {
        __m256 e = exp_neg_avx2(_mm256_sub_ps(_mm256_loadu_ps(s + j), vm));
        _mm256_storeu_ps(s + j, e);
        vs = _mm256_add_ps(vs, e);
    }
    float sum = hsum(vs);
    for (; j < n; j++) {
        s[j] = expf(s[j] - mx);
        sum += s[j];
    }
    return sum;
}

void attention_window_avx2(float *out, int ldo, const float *q, const float *k, const float *v, int ld, int T, int dh,
                           int w, int q0, int q1, float *scratch) {
    const float scale = 1.0f / sqrtf((float)dh);
    for (int i = q0; i < q1; i++) {
        const int lo = i - w > 0 ? i - w : 0, hi = w < T - 1 - i ? i + w : T - 1, n = hi - lo + 1;
        const float *qi = q + (size_t)i * ld;
        float mx = -INFINITY;
        for (int j = 0; j < n; j++) {
            float s = dot(qi, k + (size_t)(lo + j) * ld, dh) * scale;
            scratch[j] = s;
            mx = s > mx ? s : mx;
        }
        const float inv = 1.0f / exp_sub_sum(scratch, n, mx);
        pv_row(out + (size_t)i * ldo, scratch, v + (size_t)lo * ld, n, (size_t)ld, dh, inv);
    }
}

void softmax_rows_avx2(float *S, int rows, int T, float scale) {
    const __m256 vsc = _mm256_set1_ps(scale);
    for (int r = 0; r < rows; r++) {
        float *s = S + (size_t)r * T;
        __m256 vm = _mm256_set1_ps(-INFINITY);
        int j = 0;
        for (; j + 8 <= T; j += 8) {
            __m256 x = _mm256_mul_ps(_mm256_loadu_ps(s + j), vsc);
            _mm256_storeu_ps(s + j, x);
            vm = _mm256_max_ps(vm, x);
        }
        float buf[8], mx = -INFINITY;
        _mm256_storeu_ps(buf, vm);
        for (int u = 0; u < 8; u++) mx = buf[u] > mx ? buf[u] : mx;
        for (; j < T; j++) {
            s[j] *= scale;
            mx = s[j] > mx ? s[j] : mx;
        }
        const float inv = 1.0f / exp_sub_sum(s, T, mx);
        const __m256 vi = _mm256_set1_ps(inv);
        for (j = 0; j + 8 <= T; j += 8) _mm256_storeu_ps(s + j, _mm256_mul_ps(_mm256_loadu_ps(s + j), vi));
        for (; j < T; j++) s[j] *= inv;
    }
}
