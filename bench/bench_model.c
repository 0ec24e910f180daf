/*
 * bench_model.c — end-to-end classification figures for one model: bertc_classify over the SST-2 dev sentences
 * (tokenization included) in batches of B, T threads. Prints one JSON line like the peers' scripts: seconds
 * (the loop only), load_s, sentences/s, tokens/s, p50/p95 per batch, GFLOP/s and peak RSS.
 *   build/bench_model MODEL_DIR DEV.tsv BATCH THREADS [fp32|fp16|bf16|int8|bf16c]   (bf16c: --compute bf16)
 */
#include "bertc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

int main(int argc, char **argv) {
    if (argc < 5) {
        fprintf(stderr, "usage: bench_model MODEL_DIR DEV.tsv BATCH THREADS\n");
        return 2;
    }
    int bs = atoi(argv[3]), th = atoi(argv[4]);
    FILE *f = fopen(argv[2], "r");
    if (!f) return perror(argv[2]), 1;
    char *line = NULL;
    size_t cap = 0, n = 0, ncap = 1024;
    bertc_text *in = malloc(ncap * sizeof *in);
    ssize_t len;
    int first = 1;
    while ((len = getline(&line, &cap, f)) > 0) {
        if (first) { /* header */
            first = 0;
            continue;
        }
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = 0;
        if (n == ncap) in = realloc(in, (ncap *= 2) * sizeof *in);
        in[n].text = strdup(line);
        in[n].len = strlen(line);
        in[n].pair = NULL;
        in[n].pair_len = 0;
        n++;
    }
    fclose(f);
    free(line);
    bertc_model_params mp = bertc_model_default_params();
    mp.n_threads = th;
    static const char *const dtypes[] = {"fp32", "int8", "fp16", "bf16"};
    for (int k = 0; argc > 5 && k < 4; k++)
        if (!strcmp(argv[5], dtypes[k])) mp.dtype = (bertc_dtype)k;
    if (argc > 5 && !strcmp(argv[5], "bf16c")) mp.compute = BERTC_COMPUTE_BF16;
    bertc_model *m;
    bertc_error err;
    double t0 = now();
    if (bertc_model_load(argv[1], &mp, &m, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 1;
    }
    double load = now() - t0;
    bertc_model_info info;
    bertc_model_get_info(m, &info);
    bertc_classify_params cp = bertc_classify_default_params();
    cp.batch_size = bs;
    bertc_classification *out = calloc((size_t)bs, sizeof *out);
    size_t nb = (n + (size_t)bs - 1) / (size_t)bs;
    double *lat = malloc(nb * sizeof *lat);
    long tokens = 0;
    t0 = now();
    for (size_t i = 0, b = 0; i < n; i += (size_t)bs, b++) {
        size_t k = n - i < (size_t)bs ? n - i : (size_t)bs;
        double s = now();
        if (bertc_classify(m, in + i, k, &cp, out, &err)) {
            fprintf(stderr, "%s\n", err.message);
            return 1;
        }
        lat[b] = (now() - s) * 1e3;
        for (size_t j = 0; j < k; j++) tokens += out[j].n_tokens;
        bertc_classification_free(out, k);
    }
    double dt = now() - t0;
    qsort(lat, nb, sizeof *lat, cmp);
    /* FLOP of the encoder's matmuls actually computed: 2 (4 H^2 + 2 H I) per token and layer (QKV, output, FFN),
     * except that the last layer runs output and FFN on the first token of each sentence only (attention and
     * the rest excluded) */
    double H = info.hidden, I = info.intermediate, T = (double)tokens;
    double flop = 2.0 * (4 * H * H + 2 * H * I) * (info.layers - 1) * T + 2.0 * 3 * H * H * T + 2.0 * (H * H + 2 * H * I) * (double)n;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("{\"tool\": \"bertc%s%s\", \"isa\": \"%s\", \"model\": \"%s\", \"batch\": %d, \"threads\": %d, \"sentences\": %zu, \"tokens\": %ld, "
           "\"seconds\": %.3f, \"load_s\": %.3f, \"sentences_per_s\": %.2f, \"tokens_per_s\": %.0f, "
           "\"p50_batch_ms\": %.2f, \"p95_batch_ms\": %.2f, \"gflops\": %.1f, \"peak_rss_mb\": %.0f, \"file_mb\": %.0f}\n",
           mp.dtype || mp.compute ? " " : "", mp.compute ? "bf16 compute" : mp.dtype ? dtypes[mp.dtype] : "",
           mp.compute || mp.dtype == BERTC_DTYPE_INT8 ? info.compute_isa : info.isa, strrchr(argv[1], '/') ? strrchr(argv[1], '/') + 1 : argv[1], bs, th, n, tokens, dt, load, n / dt, tokens / dt,
           lat[nb / 2], lat[(size_t)(0.95 * (double)(nb - 1) + 0.5)], flop / dt / 1e9, ru.ru_maxrss / 1024.0,
           info.weight_bytes / 1e6);
    bertc_model_free(m);
    return 0;
}
