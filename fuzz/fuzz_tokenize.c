/* fuzz_tokenize.c — arbitrary bytes (and a pair split at the first 0xFF) through the BERT, RoBERTa and XLM-R
 * tokenizers of tests/data, with small max lengths so truncation paths run. */
#include "bertc.h"
#include <stdlib.h>
#include <string.h>
static bertc_tokenizer *bt, *rt, *xt;
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!bt) {
        if (bertc_tokenizer_load("tests/data/tok-bert", &bt, NULL) || bertc_tokenizer_load("tests/data/tok-roberta", &rt, NULL) ||
            bertc_tokenizer_load("tests/data/tok-xlmr", &xt, NULL))
            abort();
    }
    const uint8_t *sep = memchr(data, 0xFF, size);
    size_t la = sep ? (size_t)(sep - data) : size;
    char *a = malloc(la + 1), *b = NULL;
    memcpy(a, data, la);
    size_t lb = 0;
    if (sep) {
        lb = size - la - 1;
        b = malloc(lb + 1);
        memcpy(b, sep + 1, lb);
    }
    bertc_encode_params p = bertc_encode_default_params();
    p.max_length = size % 2 ? 5 : 0;
    bertc_encoding e;
    if (bertc_tokenize(bt, a, la, b, lb, &p, &e, NULL) == BERTC_OK) bertc_encoding_free(&e);
    if (bertc_tokenize(rt, a, la, b, lb, &p, &e, NULL) == BERTC_OK) bertc_encoding_free(&e);
    if (bertc_tokenize(xt, a, la, b, lb, &p, &e, NULL) == BERTC_OK) bertc_encoding_free(&e);
    free(a);
    free(b);
    return 0;
}
