/* fuzz_safetensors.c — safetensors header and bounds validation on arbitrary bytes. */
#include "formats/tensors.h"
#include <stdlib.h>
#include <string.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    tensor_set ts = {0};
    bertc_error err;
    uint8_t *copy = malloc(size ? size : 1); /* exact-size heap copy so ASan sees any over-read */
    memcpy(copy, data, size);
    if (safetensors_parse(&ts, copy, size, "fuzz", &err) == BERTC_OK)
        for (int i = 0; i < ts.n; i++) {
            volatile uint8_t sink = 0;
            for (size_t k = 0; k < ts.t[i].nbytes; k++) sink ^= ts.t[i].data[k];
            (void)sink;
        }
    tensor_set_free(&ts);
    free(copy);
    return 0;
}
