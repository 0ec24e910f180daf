/*
 * bench_tokenize.c — single-thread tokenizer throughput on SST-2 train (or any TSV whose first column is text):
 * prints MB/s and texts/s for a tokenizer folder. Figures only; nothing is asserted.
 *   build/bench_tokenize TOKENIZER_DIR [TRAIN_TSV] [REPEATS]
 */
#include "bertc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: %s TOKENIZER_DIR [TRAIN_TSV] [REPEATS]\n", argv[0]);
        return 2;
    }
    const char *tsv = argc > 2 ? argv[2] : "../shared/data/sst2/train.tsv";
    int reps = argc > 3 ? atoi(argv[3]) : 3;
    bertc_tokenizer *t;
    bertc_error err;
    if (bertc_tokenizer_load(argv[1], &t, &err)) {
        fprintf(stderr, "%s\n", err.message);
        return 3;
    }
    FILE *f = fopen(tsv, "r");
    if (!f) {
        perror(tsv);
        return 4;
    }
    char **texts = NULL;
    size_t n = 0, cap = 0, bytes = 0;
    char *line = NULL;
    size_t lcap = 0;
    ssize_t len;
    int first = 1;
    while ((len = getline(&line, &lcap, f)) > 0) {
        if (first) { first = 0; continue; } /* header */
        char *tab = strchr(line, '\t');
        if (tab) *tab = 0;
        if (n == cap) texts = realloc(texts, (cap = cap ? cap * 2 : 1024) * sizeof *texts);
        texts[n++] = strdup(line);
        bytes += strlen(line);
    }
    fclose(f);
    free(line);
    double best = 1e30;
    size_t tokens = 0;
    for (int r = 0; r < reps; r++) {
        tokens = 0;
        double t0 = now_s();
        for (size_t i = 0; i < n; i++) {
            bertc_encoding e;
            if (bertc_tokenize(t, texts[i], strlen(texts[i]), NULL, 0, NULL, &e, NULL) == BERTC_OK) {
                tokens += e.n;
                bertc_encoding_free(&e);
            }
        }
        double dt = now_s() - t0;
        if (dt < best) best = dt;
    }
    printf("{\"tokenizer\": \"%s\", \"texts\": %zu, \"bytes\": %zu, \"tokens\": %zu, \"seconds\": %.3f, "
           "\"MB_per_s\": %.1f, \"texts_per_s\": %.0f, \"threads\": 1}\n",
           argv[1], n, bytes, tokens, best, bytes / best / 1e6, n / best);
    for (size_t i = 0; i < n; i++) free(texts[i]);
    free(texts);
    bertc_tokenizer_free(t);
    return 0;
}
