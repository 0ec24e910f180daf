/* fuzz_teacher_cache.c — a bertc distill teacher cache (safetensors: keys I64 [N], logits F32 [N, L], info U8 JSON)
 * from arbitrary bytes: parsed, its info checked, its rows indexed and looked up, or refused with a message. */
#include "train/tmodel.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* an aligned copy, as a mapped file is */
    uint8_t *buf = malloc(size ? size : 1);
    if (!buf) return 0;
    memcpy(buf, data, size);
    size_t rows = 0;
    int labels = 0;
    bertc_error err;
    if (distill_cache_probe(buf, size, &rows, &labels, &err) == BERTC_OK && (labels < 1 || rows * 8 > size)) abort();
    free(buf);
    return 0;
}
