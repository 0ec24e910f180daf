/*
 * tokdiff.c — the C side of the differential tokenizer fuzzer (tests/tokfuzz/tokfuzz.py). Loads a tokenizer
 * folder, then reads records from stdin and answers one line each, in order:
 *   record: u32 flags (1: pair present, 2: truncate left, 4: also decode), u32 max_length (0: no truncation),
 *           u32 text length, text bytes, u32 pair length, pair bytes (little-endian)
 *   answer: "ids;type_ids;offsets;word_ids" as space-separated integers (offsets start end start end ..., word ids
 *           -1 for the post-processor's special tokens), then with
 *           flag 4 ";" and the hex of bertc_decode(ids, skip_special) (or "ERR"), or "ERR <message>".
 */
#include "bertc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int rd32(uint32_t *v) {
    unsigned char b[4];
    if (fread(b, 1, 4, stdin) != 4) return 0;
    *v = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
    return 1;
}

static char *rdbytes(uint32_t n) {
    char *s = malloc(n + 1u);
    if (!s || fread(s, 1, n, stdin) != n) {
        free(s);
        return NULL;
    }
    s[n] = 0;
    return s;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: tokdiff TOKENIZER_DIR < records\n");
        return 2;
    }
    bertc_tokenizer *t;
    bertc_error err;
    if (bertc_tokenizer_load(argv[1], &t, &err)) {
        fprintf(stderr, "tokdiff: %s\n", err.message);
        return 3;
    }
    uint32_t flags, maxlen, la, lb;
    while (rd32(&flags) && rd32(&maxlen) && rd32(&la)) {
        char *a = rdbytes(la);
        if (!a || !rd32(&lb)) return 4;
        char *b = rdbytes(lb);
        if (!b) return 4;
        bertc_encode_params p = bertc_encode_default_params();
        p.truncation = 1;
        p.max_length = maxlen ? (int)maxlen : 1 << 30;
        p.truncate_left = (flags & 2) != 0;
        bertc_encoding e;
        if (bertc_tokenize(t, a, la, (flags & 1) ? b : NULL, lb, &p, &e, &err)) {
            printf("ERR %s\n", err.message);
        } else {
            for (size_t k = 0; k < e.n; k++) printf(k ? " %d" : "%d", e.ids[k]);
            putchar(';');
            for (size_t k = 0; k < e.n; k++) printf(k ? " %d" : "%d", e.type_ids[k]);
            putchar(';');
            for (size_t k = 0; k < e.n; k++) printf(k ? " %d %d" : "%d %d", e.offsets[2 * k], e.offsets[2 * k + 1]);
            putchar(';');
            for (size_t k = 0; k < e.n; k++) printf(k ? " %d" : "%d", e.word_ids[k]);
            if (flags & 4) {
                char *d = NULL;
                size_t dl = 0;
                putchar(';');
                if (bertc_decode(t, e.ids, e.n, 1, &d, &dl, &err)) fputs("ERR", stdout);
                else
                    for (size_t k = 0; k < dl; k++) printf("%02x", (unsigned char)d[k]);
                free(d);
            }
            putchar('\n');
            bertc_encoding_free(&e);
        }
        fflush(stdout);
        free(a);
        free(b);
    }
    bertc_tokenizer_free(t);
    return 0;
}
