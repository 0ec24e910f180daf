/* fuzz_tokenizer_json.c — tokenizer.json loading on arbitrary text, then an encode if it loads. */
#include "tokenizer/tokenizer.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *txt = malloc(size + 1);
    memcpy(txt, data, size);
    txt[size] = 0;
    bertc_tokenizer *t = NULL;
    bertc_error err;
    if (tokenizer_load_mem(txt, NULL, NULL, NULL, NULL, &t, &err) == BERTC_OK) {
        bertc_encoding e;
        if (bertc_tokenize(t, "Hello [MASK] <mask> world's 123!", 32, "pair", 4, NULL, &e, &err) == BERTC_OK)
            bertc_encoding_free(&e);
    }
    bertc_tokenizer_free(t);
    free(txt);
    return 0;
}
