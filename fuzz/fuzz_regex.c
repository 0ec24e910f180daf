/* fuzz_regex.c — the Split / Replace pattern compiler (tokenizer.json's "Regex" strings) and its matcher: the
 * input's first line is the pattern, the rest the text it runs over (a String pattern when the size is a multiple
 * of 3). Matches must be in order, not overlapping, inside the text; a failed search must say why. */
#include "tokenizer/tokenizer.h"
#include <stdlib.h>
#include <string.h>
typedef struct hits {
    size_t n, last, count;
} hits;
static bool emit(void *ctx, size_t s, size_t e) {
    hits *h = ctx;
    if (s > e || e > h->n || s < h->last) abort();
    h->last = e;
    h->count++;
    return true;
}
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *nl = memchr(data, '\n', size);
    size_t pl = nl ? (size_t)(nl - data) : size;
    if (utf8_validate((const char *)data, pl) != pl) return 0;
    const char *why = NULL;
    tregex *re = tregex_compile((const char *)data, pl, size % 3 == 0, &why);
    if (!re) {
        if (!why) abort();
        return 0;
    }
    const uint8_t *txt = nl ? nl + 1 : data + size;
    size_t tl = (size_t)(data + size - txt);
    int32_t *cp = malloc((tl + 1) * sizeof *cp);
    size_t n = 0;
    for (size_t i = 0; i < tl;) {
        if (utf8_validate((const char *)txt + i, tl - i < 4 ? tl - i : 4) == 0) { i++; continue; }
        int32_t c;
        i += (size_t)utf8_decode(txt + i, &c);
        cp[n++] = c;
    }
    hits h = {n, 0, 0};
    why = NULL;
    /* a smaller step budget than the library's: the same paths (the budget's end included), more runs a second */
    if (!tregex_find_all_budget(re, cp, n, emit, &h, &why, 100000 + 16 * (long)n) && !why) abort();
    free(cp);
    tregex_free(re);
    return 0;
}
