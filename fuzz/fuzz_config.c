/* fuzz_config.c — config.json parsing and range checks on arbitrary text. */
#include "model/model.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *txt = malloc(size + 1);
    memcpy(txt, data, size);
    txt[size] = 0;
    model_config c;
    memset(&c, 0, sizeof c);
    bertc_error err;
    model_config_parse(&c, txt, "fuzz", &err);
    model_config_free(&c);
    free(txt);
    return 0;
}
